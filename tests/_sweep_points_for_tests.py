"""Sweep points for the sweep tests, in a module of their own so that Ray workers and pool workers
import them without the test modules (and their conftest) behind them.

Each point leaves one file per execution in ``record_dir``: ``start-<x>-<pid>`` when it begins and
``done-<x>-<pid>`` when it has its result (each name ends in a random token: a worker process
runs several points, or the same point again), written by atomic rename, so a test counts how
often every point started and finished, and in which process.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path


def _mark(record_dir: str, name: str) -> None:
    name = f"{name}-{uuid.uuid4().hex}"
    tmp = Path(record_dir) / f".tmp-{name}"
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, Path(record_dir) / name)


def counted_point(x: int, record_dir: str, victim: int = -1, fail: int = -1, seconds: float = 0.0) -> dict:
    """``{"value": x * x, "pid": ...}``; the ``victim`` point waits 60 s on its first execution (a
    test kills it meanwhile), the ``fail`` point raises while a file ``fail`` is in ``record_dir``,
    every point sleeps ``seconds``."""
    first_attempt = not list(Path(record_dir).glob(f"start-{x}-*"))
    _mark(record_dir, f"start-{x}-{os.getpid()}")
    if x == victim and first_attempt:
        time.sleep(60)
    if x == fail and (Path(record_dir) / "fail").exists():
        raise ValueError(f"point {x} failed on purpose")
    time.sleep(seconds)
    _mark(record_dir, f"done-{x}-{os.getpid()}")
    return {"value": x * x, "pid": os.getpid()}


def executions(record_dir: str | os.PathLike[str], stage: str) -> dict[int, list[int]]:
    """``{x: [pid, ...]}`` of the executions of each point that reached ``stage`` ("start", "done")."""
    found: dict[int, list[int]] = {}
    for path in Path(record_dir).glob(f"{stage}-*"):
        _, x, pid, _ = path.name.split("-")
        found.setdefault(int(x), []).append(int(pid))
    return found
