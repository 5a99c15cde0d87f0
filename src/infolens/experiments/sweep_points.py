"""Sweep points: module-level functions that :func:`infolens.sweeps.run_sweep` runs once per
configuration, in this process, in worker processes or on Ray workers.

Each returns a small JSON-serialisable dictionary; the heavy outputs (reports, stores) stay in
the point's own directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def vib_point(dataset: str, seed: int, betas: list[float], epochs: int) -> dict[str, Any]:
    """One VIB beta sweep (all betas trained together) with one seed: per-beta bounds in bits."""
    from infolens.experiments.vib_sweep import run_vib_sweep

    result = run_vib_sweep(dataset=dataset, seed=seed, betas=tuple(betas), epochs=epochs)
    return {"points": result.table(), "checks": result.checks(),
            "seconds": float(sum(result.timings.values()))}


def plane_point(dataset: str, activation: str, data_seed: int, epochs: int, estimator: str,
                out_root: str) -> dict[str, Any]:
    """One information-plane run (one activation, one data seed) written to ``out_root/<name>``.

    ``data_seed`` seeds the train/test split; the network's initial weights are those of seed 0
    (seeds of the weights are batched within one run: ``infolens run --seeds``). An interrupted
    point resumes from its own checkpoint.
    """
    from infolens.experiments.plane import PlaneRunConfig, run_plane

    out = Path(out_root) / f"{dataset}-{activation}-{estimator}-seed{data_seed}"
    config = PlaneRunConfig(dataset=dataset, activations=(activation,), n_seeds=1, epochs=epochs,
                            estimator=estimator, data_seed=data_seed, sensitivity=False)
    resume = (out / "config.json").exists()
    summary = run_plane(None if resume else config, out, resume=resume, progress=False)
    layers = summary[activation]["layers"]
    return {"test_accuracy": summary[activation]["test_accuracy"], "run_dir": str(out),
            **{f"{name}/{key}": value for name, entry in layers.items()
               for key, value in entry.items() if key != "width"}}
