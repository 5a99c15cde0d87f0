"""Sweep points: module-level functions that :func:`infolens.sweeps.run_sweep` runs once per
configuration, in this process, in worker processes or on Ray workers.

Each returns a small JSON-serialisable dictionary; the heavy outputs (reports, stores) stay in
the point's own directory.
"""

from __future__ import annotations

from typing import Any


def vib_point(dataset: str, seed: int, betas: list[float], epochs: int) -> dict[str, Any]:
    """One VIB beta sweep (all betas trained together) with one seed: per-beta bounds in bits."""
    from infolens.experiments.vib_sweep import run_vib_sweep

    result = run_vib_sweep(dataset=dataset, seed=seed, betas=tuple(betas), epochs=epochs)
    return {"points": result.table(), "checks": result.checks(),
            "seconds": float(sum(result.timings.values()))}
