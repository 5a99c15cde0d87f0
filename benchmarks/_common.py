"""Small shared helpers for benchmark scripts: timing, peak memory, tables, JSON results.

Every benchmark script prints a table and writes ``benchmarks/results/<name>.json``. Typical use::

    from _common import measure, environment, format_table, write_results

    m = measure(fn, x, y, repeat=3)          # m.seconds (best of 3), m.peak_mb, m.result
    rows.append({"case": "n=1e5", "seconds": m.seconds, "peak_mb": m.peak_mb})
    print(format_table(rows, title="my benchmark"))
    write_results("my_benchmark", {"environment": environment(), "rows": rows})

Peak memory is the peak resident set size (RSS) of this process during the call minus its RSS
just before, sampled by a background thread every ``interval`` seconds: it counts numpy, torch
(CPU) and native allocations alike, but can miss spikes shorter than the interval and reads 0
when the call reuses memory the process already held. Run memory-critical cases first, or in a
fresh process (:func:`run_isolated`), when that matters.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def set_threads(n: int = 2) -> None:
    """Limit BLAS/OpenMP and torch intra-op threads to ``n`` (call before heavy work)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    try:
        import torch
    except ImportError:  # torch is optional for some benchmarks
        return
    torch.set_num_threads(n)


def class_layer(n: int, width: int, seed: int = 0) -> tuple[Any, Any]:
    """A layer of ``width`` units that carries some of 10 balanced labels: a random linear image of
    a 16-dimensional Gaussian class mixture (class means of scale 0.5) plus unit noise per unit.
    Returns ``(t, y)``, arrays of shape (n, width) and (n,)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    means = rng.normal(size=(10, 16)) * 0.5
    latent = means[y] + rng.normal(size=(n, 16))
    return latent @ rng.normal(size=(16, width)) / 4.0 + rng.normal(size=(n, width)), y


def rss_bytes() -> int:
    """Current resident set size of this process in bytes (0 when it cannot be read)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _PeakSampler:
    """Samples RSS in a daemon thread and keeps the maximum."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


@dataclass(frozen=True)
class Measurement:
    """Result of :func:`measure`: the function's return value, best wall time and peak memory."""

    result: Any
    seconds: float
    peak_mb: float
    all_seconds: tuple[float, ...]


def measure(fn: Callable[..., Any], *args: Any, repeat: int = 1, interval: float = 0.005,
            **kwargs: Any) -> Measurement:
    """Call ``fn(*args, **kwargs)`` ``repeat`` times; best wall time, peak extra RSS in MB.

    The result is that of the last call. Peak memory is the largest RSS increase over the RSS
    before each call, in MiB (see the module docstring for what it can miss).
    """
    times, peak, result = [], 0, None
    for _ in range(max(1, repeat)):
        base = rss_bytes()
        with _PeakSampler(interval) as sampler:
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            times.append(time.perf_counter() - start)
        peak = max(peak, sampler.peak - base)
    return Measurement(result, min(times), peak / 2**20, tuple(times))


def run_isolated(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Measurement:
    """:func:`measure` in a forked child process, so earlier allocations do not hide the peak.

    ``fn`` and its result must be picklable; POSIX only (uses ``fork``).
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def target() -> None:
        try:
            child.send(("ok", measure(fn, *args, **kwargs)))
        except BaseException as err:  # report any failure to the parent
            child.send(("error", repr(err)))
        finally:
            child.close()

    proc = ctx.Process(target=target)
    proc.start()
    status, payload = parent.recv()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"isolated benchmark call failed: {payload}")
    return payload


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages (other processes compete for the CPU)."""
    try:
        return tuple(round(v, 2) for v in os.getloadavg())  # type: ignore[return-value]
    except OSError:
        return None


def environment(**extra: Any) -> dict[str, Any]:
    """Machine, versions, threads and load, to store next to every benchmark result."""
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average": load_average(),
    }
    for module in ("numpy", "scipy", "torch", "sklearn"):
        mod = sys.modules.get(module)
        if mod is not None:
            info[module] = getattr(mod, "__version__", "?")
    if "torch" in sys.modules:
        info["torch_threads"] = sys.modules["torch"].get_num_threads()
    info.update(extra)
    return info


def fit_exponent(sizes: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of ``log(values)`` against ``log(sizes)`` (the growth exponent)."""
    pairs = [(math.log(s), math.log(v)) for s, v in zip(sizes, values, strict=True) if s > 0 and v > 0]
    if len(pairs) < 2:
        return float("nan")
    mx = sum(p[0] for p in pairs) / len(pairs)
    my = sum(p[1] for p in pairs) / len(pairs)
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    if sxx == 0:
        return float("nan")
    return sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.4g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
                 title: str | None = None) -> str:
    """A plain-text table (Markdown-compatible) of ``rows``; columns default to the first row's keys."""
    if not rows:
        return f"{title}\n(no rows)" if title else "(no rows)"
    columns = list(columns) if columns is not None else list(rows[0])
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [] if title is None else [title]
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results(name: str, payload: Mapping[str, Any], directory: Path | None = None) -> Path:
    """Write ``payload`` as ``<directory>/<name>.json`` atomically (temp file + rename); return the path."""
    from infolens._atomic import atomic_write_bytes  # not at import: infolens loads numpy

    directory = RESULTS_DIR if directory is None else Path(directory)
    text = json.dumps(_jsonable(payload), indent=2, sort_keys=False) + "\n"
    return atomic_write_bytes(directory / f"{name}.json", text.encode())
