"""``infolens sweep``: seeds x betas of the VIB, or data seeds x activations x estimators of the
information plane, run locally (processes) or on Ray, each point persisted and resumable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


@click.command(name="sweep")
@click.argument("kind", type=click.Choice(["ib", "plane"]))
@click.option("--seeds", default="0,1,2", show_default=True, help="Comma-separated seeds.")
@click.option("--betas", default="0,1e-4,1e-3,1e-2,1e-1,1", show_default=True,
              help="ib: comma-separated betas (trained together within each seed).")
@click.option("--dataset", "datasets", multiple=True, default=None,
              type=click.Choice(["szt12", "mnist1d", "digits"]),
              help="Repeatable [default: mnist1d for ib, szt12 for plane].")
@click.option("--activation", "activations", multiple=True, default=("tanh", "relu"), show_default=True,
              type=click.Choice(["tanh", "relu", "sigmoid", "linear"]), help="plane: repeatable.")
@click.option("--estimator", "estimators", multiple=True, default=("binning",), show_default=True,
              type=click.Choice(["binning", "adaptive_binning", "kde", "ksg", "plugin"]),
              help="plane: repeatable.")
@click.option("--epochs", type=int, default=None, help="Epochs per point [default: 60 ib, 3000 plane].")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--n-jobs", type=int, default=1, show_default=True, help="Local worker processes.")
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="Sweep directory; rerunning with the same --out resumes it.")
def command(kind: str, seeds: str, betas: str, datasets: tuple[str, ...], activations: tuple[str, ...],
            estimators: tuple[str, ...], epochs: int | None, backend: str, n_jobs: int, out: str) -> None:
    """Run a sweep and write sweep.json (one record per point) and a summary table."""
    from infolens._atomic import atomic_write_bytes
    from infolens._validation import InfoLensError
    from infolens.experiments import sweep_points
    from infolens.sweeps import grid, run_sweep

    root = Path(out)
    try:
        if kind == "ib":
            configs = grid(dataset=list(datasets or ("mnist1d",)), seed=_ints(seeds),
                           betas=[_floats(betas)], epochs=[epochs or 60])
            result = run_sweep(sweep_points.vib_point, configs, root / "points", backend=backend,
                               n_jobs=n_jobs, progress=True)
            table = _vib_table(result.records)
        else:
            configs = grid(dataset=list(datasets or ("szt12",)), activation=list(activations),
                           seed=_ints(seeds), epochs=[epochs or 3000], estimator=list(estimators),
                           out_root=[str(root / "runs")])
            result = run_sweep(sweep_points.plane_point, configs, root / "points", backend=backend,
                               n_jobs=n_jobs, progress=True)
            table = result.to_frame().drop(columns=["out_root", "run_dir"]).to_dict("records")
    except InfoLensError as err:
        raise click.ClickException(str(err)) from err
    payload = {"kind": kind, "n_points": len(result.records), "resumed_points": result.n_skipped,
               "table": table, "records": result.records}
    atomic_write_bytes(root / "sweep.json", json.dumps(payload, indent=2, default=float).encode())
    import pandas as pd

    click.echo(pd.DataFrame(table).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"wrote {root / 'sweep.json'} ({result.n_skipped} of {len(result.records)} points resumed)")


def _vib_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of each beta's accuracy and bounds."""
    import pandas as pd

    rows = [{"dataset": r["config"]["dataset"], "seed": r["config"]["seed"], **point}
            for r in records for point in r["result"]["points"]]
    frame = pd.DataFrame(rows)
    metrics = ["test_accuracy", "rate_bits", "I_ZY_bits"]
    stats = frame.groupby(["dataset", "beta"])[metrics].agg(["mean", "std"]).reset_index()
    stats.columns = [f"{a}_{b}" if b else a for a, b in stats.columns]
    return stats.to_dict("records")
