"""``infolens compare RUN_DIR...``: several finished runs' compression verdicts side by side."""

from __future__ import annotations

import time

import click


@click.command(name="compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory of the comparison [default: runs/compare-<timestamp>].")
def command(run_dirs: tuple[str, ...], out: str | None) -> None:
    """Put the runs in RUN_DIRS side by side: experiment x variant x estimator x split -> compresses
    or not, with intervals over seeds, next to the paper's claim. Reads each run's summary.json only
    (no training, no estimation); writes compare.json, compare.png and report.html into --out."""
    from infolens.experiments.compare import compare_runs
    from infolens.report.compare import build_compare_report, format_comparison

    comparison = compare_runs(list(run_dirs))
    out = out or f"runs/compare-{time.strftime('%Y%m%d-%H%M%S')}"
    path = build_compare_report(comparison, out, log=lambda m: click.echo(m, err=True))
    click.echo(format_comparison(comparison))
    click.echo(f"report: {path}")
