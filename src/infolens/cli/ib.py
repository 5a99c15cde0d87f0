"""``infolens ib``: a VIB beta sweep and, on the SZT task, its exact IB curve (see
:mod:`infolens.experiments.vib_sweep`)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from infolens.cli._options import DATASETS, device_option, floats


@click.command(name="ib")
@click.option("--dataset", type=click.Choice(DATASETS), default="mnist1d", show_default=True)
@click.option("--betas", default="0,1e-4,1e-3,1e-2,1e-1,1", show_default=True, callback=floats,
              help="Comma-separated VIB betas (weight of the rate).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: runs/ib-<dataset>-<timestamp>].")
@click.option("--run-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="szt12 only: an information-plane run (infolens run) whose layers are placed on "
                   "the exact IB curve.")
@click.option("--epochs", type=int, default=60, show_default=True)
@click.option("--batch-size", type=int, default=100, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--k", type=int, default=32, show_default=True, help="Bottleneck dimension.")
@click.option("--eval-samples", type=int, default=12, show_default=True,
              help="Posterior samples per input at evaluation.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=1, show_default=True,
              help="torch threads (1 is fastest when other processes share the cores: the default "
                   "sweep took 57 s with 1 thread and 275 s with 2 on a loaded 2-core machine).")
@device_option()
@click.option("--progress/--no-progress", default=None,
              help="Progress bar [default: when stderr is a terminal].")
def command(**options: Any) -> None:
    """Train one VIB classifier per beta (all together), write summary.json, figures and
    report.html; with --dataset szt12 also draw the task's exact IB curve."""
    from infolens._atomic import directory_lock
    from infolens.experiments.vib_sweep import VIBSweepConfig
    from infolens.jobs import run_ib_experiment

    out = options["out"] or f"runs/ib-{options['dataset']}-{time.strftime('%Y%m%d-%H%M%S')}"
    show = sys.stderr.isatty() if options["progress"] is None else options["progress"]
    config = VIBSweepConfig(
        dataset=options["dataset"], betas=tuple(options["betas"]), epochs=options["epochs"],
        batch_size=options["batch_size"], lr=options["lr"], k=options["k"],
        n_eval_samples=options["eval_samples"], seed=options["seed"], device=options["device"],
        threads=options["threads"])
    with directory_lock(out, fn="infolens ib", name="--out"):
        from tqdm import tqdm

        with tqdm(total=config.epochs, desc="VIB sweep", unit="epoch", file=sys.stderr,
                  disable=not show) as bar:
            summary = run_ib_experiment(config, out, run_dir=options["run_dir"],
                                        progress=(lambda e, n: bar.update(1)) if show else None)
    click.echo(f"{'beta':>8} {'test_acc':>9} {'rate_bits':>10} {'I_ZY_bits':>10}")
    for p in summary["points"]:
        click.echo(f"{p['beta']:>8g} {p['test_accuracy']:>9.4f} {p['rate_bits']:>10.3f} "
                   f"{p['I_ZY_bits']:>10.3f}")
    checks = ", ".join(f"{k}={v}" for k, v in summary["checks"].items())
    click.echo(f"checks: {checks}")
    click.echo(f"time: {summary['timings']['total_s']:.1f} s; wrote {out}/report.html and summary.json")
