"""Sweeps over seeds and configurations, run locally in processes or on a Ray cluster.

A sweep is a function ``fn(**config) -> dict`` (JSON-serialisable) applied to every point of a grid
(the Cartesian product of parameter lists, seeds included). Each finished point is written to its own
JSON file in ``out_dir`` by atomic rename, so an interrupted sweep resumes by skipping the points
whose file exists; nothing finished is lost and nothing runs twice.

:meth:`SweepResult.to_frame` lays the records out as a table and :func:`aggregate` gives the mean
and standard deviation of each metric over seeds, e.g. the test accuracy of each beta::

    result = run_sweep(vib_point, grid(dataset=["mnist1d"], seed=[0, 1, 2], ...), "sweep/points")
    table = aggregate(result.to_frame(expand="points"), by=["dataset", "beta"],
                      metrics=["test_accuracy", "rate_bits"])
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib
import itertools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infolens._atomic import directory_lock
from infolens._json import read_json, write_json
from infolens._optional import require
from infolens._validation import check_choice, check_int, fail

__all__ = ["SweepResult", "aggregate", "grid", "point_key", "run_sweep"]


@dataclass(frozen=True)
class SweepResult:
    """The results of a sweep: one record per grid point, in grid order.

    Attributes
    ----------
    records : list of dict
        Each has the point's parameters under ``"config"`` and ``fn``'s output under ``"result"``.
    out_dir : Path
        Where each point's JSON file lives.
    n_skipped : int
        Points found already finished (resumed) and not run again.
    """

    records: list[dict[str, Any]]
    out_dir: Path
    n_skipped: int

    def to_frame(self, expand: str | None = None) -> Any:
        """A pandas DataFrame: config columns, then result columns.

        Parameters
        ----------
        expand : str, optional
            A result key holding a list of dicts (e.g. ``"points"``, one per beta): the frame then
            has one row per item of that list, its keys as columns and the point's config and
            other results repeated. Without it, one row per point.
        """
        import pandas as pd

        if expand is None:
            return pd.DataFrame([{**r["config"], **r["result"]} for r in self.records])
        rows = []
        for i, record in enumerate(self.records):
            items = record["result"].get(expand)
            if not isinstance(items, list):
                raise fail("expand", "SweepResult.to_frame", "a result key that holds a list of dicts",
                           got=f"{expand!r}, which record {i} does not hold as a list")
            rest = {k: v for k, v in record["result"].items() if k != expand}
            rows += [{**record["config"], **rest, **item} for item in items]
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """A notebook display: where the points live and the first 20 rows of :meth:`to_frame`
        (columns holding lists or dicts are named in the caption, not shown)."""
        from infolens import _html

        frame = self.to_frame()
        nested = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, list | dict)).any()]
        caption = f"first {min(20, len(frame))} of {len(frame)} points" + (
            f"; not shown: {', '.join(map(str, nested))}" if nested else "")
        return _html.box(f"SweepResult: {len(self.records)} points, {self.n_skipped} resumed",
                         _html.facts([("out_dir", self.out_dir)]),
                         _html.table(frame.drop(columns=nested).head(20), caption))


def aggregate(frame: Any, by: Sequence[str], metrics: Sequence[str]) -> Any:
    """Mean and standard deviation of ``metrics`` over the rows of each group of ``by``.

    Parameters
    ----------
    frame : pandas.DataFrame
        For example :meth:`SweepResult.to_frame`, one row per seed and setting.
    by : list of str
        The columns that identify a setting (e.g. ``["dataset", "beta"]``); the other rows of a
        group are repeats (seeds).
    metrics : list of str
        Numeric columns to summarise, in their own units.

    Returns
    -------
    pandas.DataFrame
        One row per group, sorted by ``by``: the ``by`` columns, then ``<metric>_mean`` and
        ``<metric>_std`` (sample standard deviation, ``ddof=1``; NaN for a single repeat).
    """
    fn = "aggregate"
    missing = [c for c in [*by, *metrics] if c not in frame.columns]
    if missing:
        raise fail("by", fn, f"columns of the frame ({', '.join(map(str, frame.columns))})",
                   got=f"unknown columns {missing}")
    stats = frame.groupby(list(by))[list(metrics)].agg(["mean", "std"]).reset_index()
    stats.columns = [f"{name}_{stat}" if stat else name for name, stat in stats.columns]
    return stats


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """The Cartesian product of named parameter lists, e.g. ``grid(seed=[0, 1], beta=[0, 1e-3])``."""
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise fail(name, "grid", "a non-empty list of values", values)
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]


def point_key(config: Mapping[str, Any]) -> str:
    """A stable file-name key for a configuration.

    Its own canonical JSON (sorted keys, ``str`` for other objects), not :mod:`infolens._json`:
    the key names the point files of sweeps already on disk, so it must never change.
    """
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _call(fn_path: str, config: dict[str, Any]) -> dict[str, Any]:
    module, name = fn_path.split(":")
    return dict(getattr(importlib.import_module(module), name)(**config))


def run_sweep(fn: Callable[..., Mapping[str, Any]] | str, configs: Sequence[Mapping[str, Any]],
              out_dir: str | os.PathLike[str], *, backend: str = "local", n_jobs: int = 1,
              address: str | None = None, progress: bool | None = None) -> SweepResult:
    """Run ``fn(**config)`` for every configuration and persist each result atomically.

    Parameters
    ----------
    fn : callable or "module:function"
        Must be importable by worker processes (a module-level function) for ``n_jobs > 1`` or Ray.
    configs : list of dict
        For example from :func:`grid`.
    out_dir : path
        One ``<key>.json`` per finished point; points already there are skipped (resume).
    backend : {"local", "ray"}
        ``"local"`` runs in this process (``n_jobs=1``) or in a process pool; ``"ray"`` submits
        one task per point to a Ray cluster (install ``infolens[ray]``).
    n_jobs : int
        Worker processes for the local backend.
    address : str, optional
        Ray only, when this process is not connected to Ray yet: the cluster to connect to
        (``"HOST:PORT"`` printed by ``ray start --head``). Without it ``ray.init()`` chooses:
        ``RAY_ADDRESS``, else a cluster that ``ray start`` runs on this machine, else a new
        local instance. A connection or instance that this call made is closed at its end; an
        existing connection (``ray.init`` called before) is used as it is.
    progress : bool, optional
        A progress bar across points (finished / total, resumed points counted as finished) on
        stderr. Default: shown when stderr is a terminal.

    Notes
    -----
    Each point's file is written by this process (the driver) by atomic rename as soon as its
    result arrives, so Ray workers need no shared file system. A point that raises stops the
    sweep: the points not started are cancelled (on Ray the running ones too; in the local pool
    those running finish and are saved), every finished point is kept, then the point's error is
    raised; a rerun runs only the points without a file. On Ray a point whose worker process dies
    (killed, out of memory) is run again by Ray, at most three times; the local backend does not
    retry (a dead pool worker stops the sweep like an error).

    Notes
    -----
    One process at a time may run a sweep in ``out_dir`` (a second one is refused with
    :class:`InfoLensError`; see :func:`infolens._atomic.directory_lock`).
    """
    fname = "run_sweep"
    backend = check_choice("backend", backend, ("local", "ray"), fname)
    n_jobs = check_int("n_jobs", n_jobs, fname, minimum=1)
    if address is not None and backend != "ray":
        raise fail("address", fname, 'None unless backend="ray"', address)
    fn_path = fn if isinstance(fn, str) else f"{fn.__module__}:{fn.__qualname__}"
    if "<" in fn_path:
        raise fail("fn", fname, "a module-level function (importable by workers)", fn_path)
    out = Path(out_dir)
    with directory_lock(out, fn=fname, name="out_dir"):
        return _run_locked(fn_path, configs, out, backend, n_jobs, address, progress)


def _run_locked(fn_path: str, configs: Sequence[Mapping[str, Any]], out: Path, backend: str, n_jobs: int,
                address: str | None, progress: bool | None) -> SweepResult:
    todo = [dict(c) for c in configs if not (out / f"{point_key(c)}.json").exists()]
    n_skipped = len(configs) - len(todo)
    bar = _progress(len(configs), n_skipped, progress)

    def save(config: dict[str, Any], result: Mapping[str, Any]) -> None:
        write_json(out / f"{point_key(config)}.json", {"config": config, "result": result})
        bar.update(1)

    try:
        if backend == "ray":
            _run_on_ray(fn_path, todo, save, address)
        elif n_jobs == 1:
            for config in todo:
                save(config, _call(fn_path, config))
        else:
            _run_in_pool(fn_path, todo, save, n_jobs)
    finally:
        bar.close()
    records = [read_json(out / f"{point_key(c)}.json", "run_sweep") for c in configs]
    return SweepResult(records=records, out_dir=out, n_skipped=n_skipped)


_Save = Callable[[dict[str, Any], Mapping[str, Any]], None]


def _run_in_pool(fn_path: str, todo: list[dict[str, Any]], save: _Save, n_jobs: int) -> None:
    with concurrent.futures.ProcessPoolExecutor(max_workers=n_jobs) as pool:
        pending = {pool.submit(_call, fn_path, c): c for c in todo}
        error: BaseException | None = None
        while pending:
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                config = pending.pop(future)
                if future.cancelled():
                    continue
                if future.exception() is None:
                    save(config, future.result())
                elif error is None:
                    error = future.exception()
                    for other in pending:
                        other.cancel()  # not started: dropped; running: finish and are saved
        if error is not None:
            raise error


def _run_on_ray(fn_path: str, todo: list[dict[str, Any]], save: _Save, address: str | None) -> None:
    ray = require("ray", "ray")
    connected_here = not ray.is_initialized()
    if connected_here:
        ray.init(address=address)
    try:
        remote_call = ray.remote(max_retries=3, retry_exceptions=False)(_call)
        pending = {remote_call.remote(fn_path, c): c for c in todo}
        error: BaseException | None = None
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            config = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.TaskCancelledError:
                continue
            except ray.exceptions.RayError as err:
                if error is None:
                    error = err
                    for other in pending:
                        ray.cancel(other)  # not started: dropped; running: interrupted
                continue
            save(config, result)
        if error is not None:
            raise error
    finally:
        if connected_here:
            ray.shutdown()


def _progress(total: int, done: int, enabled: bool | None) -> Any:
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, initial=done, disable=not show, desc="sweep", unit="point", file=sys.stderr)
