"""``infolens sweep``: seeds x betas of the VIB, or data seeds x activations x estimators of the
information plane, run locally (processes) or on Ray, each point persisted and resumable."""

from __future__ import annotations

from pathlib import Path

import click

from infolens.cli._options import ACTIVATIONS, DATASETS, ESTIMATORS, floats, ints

#: Per-beta metrics of a VIB point averaged over seeds.
_VIB_METRICS = ["test_accuracy", "rate_bits", "I_ZY_bits"]


@click.command(name="sweep")
@click.argument("kind", type=click.Choice(["ib", "plane"]))
@click.option("--seeds", default="0,1,2", show_default=True, callback=ints,
              help="Comma-separated seeds (ib: weights and data; plane: data seeds).")
@click.option("--betas", default="0,1e-4,1e-3,1e-2,1e-1,1", show_default=True, callback=floats,
              help="ib: comma-separated betas (trained together within each seed).")
@click.option("--dataset", "datasets", multiple=True, default=None, type=click.Choice(DATASETS),
              help="Repeatable [default: mnist1d for ib, szt12 for plane].")
@click.option("--activation", "activations", multiple=True, default=("tanh", "relu"), show_default=True,
              type=click.Choice(list(ACTIVATIONS)), help="plane: repeatable.")
@click.option("--estimator", "estimators", multiple=True, default=("binning",), show_default=True,
              type=click.Choice(ESTIMATORS), help="plane: repeatable.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs per point [default: 60 ib, 3000 plane].")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--n-jobs", type=int, default=1, show_default=True, help="Local worker processes.")
@click.option("--address", default=None,
              help="ray: the cluster's HOST:PORT (from `ray start --head`) [default: a private local Ray].")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar across points on stderr [default: when stderr is a terminal].")
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="Sweep directory; rerunning with the same --out resumes it.")
def command(kind: str, seeds: list[int], betas: list[float], datasets: tuple[str, ...],
            activations: tuple[str, ...], estimators: tuple[str, ...], epochs: int | None, backend: str,
            n_jobs: int, address: str | None, progress: bool | None, out: str) -> None:
    """Run a sweep and write sweep.json (one record per point) and a summary table."""
    import pandas as pd

    from infolens import jobs
    from infolens._atomic import directory_lock
    from infolens._json import write_json
    from infolens.experiments import sweep_points
    from infolens.sweeps import aggregate, grid, run_sweep

    root = Path(out)
    if kind == "ib":
        configs = grid(dataset=list(datasets or ("mnist1d",)), seed=seeds, betas=[betas],
                       epochs=[epochs or 60])
        point, points = sweep_points.vib_point, root / "points"
    else:
        configs = grid(dataset=list(datasets or ("szt12",)), activation=list(activations),
                       data_seed=seeds, epochs=[epochs or 3000], estimator=list(estimators),
                       out_root=[str(root / "runs")])
        point, points = jobs.plane_point, root / "points"
    with directory_lock(root, fn="infolens sweep", name="--out"):
        result = run_sweep(point, configs, points, backend=backend, n_jobs=n_jobs,
                           address=address, progress=progress)
        if kind == "ib":
            table = aggregate(result.to_frame(expand="points"), ["dataset", "beta"], _VIB_METRICS)
        else:
            table = result.to_frame().drop(columns=["out_root", "run_dir"])
        payload = {"kind": kind, "n_points": len(result.records), "resumed_points": result.n_skipped,
                   "table": table.to_dict("records"), "records": result.records}
        write_json(root / "sweep.json", payload)
    click.echo(pd.DataFrame(table).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"wrote {root / 'sweep.json'} ({result.n_skipped} of {len(result.records)} points resumed)")
