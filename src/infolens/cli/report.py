"""``infolens report RUN_DIR``: rebuild report.html, the figures and summary.json of a run."""

from __future__ import annotations

import click


@click.command(name="report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--recompute-sensitivity", is_flag=True, help="Redo the estimator-sensitivity table.")
def command(run_dir: str, recompute_sensitivity: bool) -> None:
    """Rebuild the report of RUN_DIR from its store (no training)."""
    from infolens._atomic import directory_lock
    from infolens.experiments.plane_run import build_outputs, format_summary

    with directory_lock(run_dir, fn="infolens report", name="RUN_DIR"):
        summary = build_outputs(run_dir, log=lambda m: click.echo(m, err=True),
                                recompute_sensitivity=recompute_sensitivity)
    click.echo(format_summary(summary))
