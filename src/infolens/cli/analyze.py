"""``infolens analyze RUN_DIR``: measure again what the report of a finished run shows, then rebuild it."""

from __future__ import annotations

import click


@click.command(name="analyze")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
def command(run_dir: str) -> None:
    """Recompute the summary, compression tables, estimator sensitivity and probes of RUN_DIR from
    its store and weight snapshots (no training), store them, and rebuild the report."""
    from infolens._atomic import directory_lock
    from infolens.experiments.plane import analyze
    from infolens.experiments.presets.analysis import analyze_experiment, is_experiment_dir
    from infolens.report.experiment import build_experiment_report, format_experiment_summary
    from infolens.report.plane import build_report, format_summary

    def echo(message: str) -> None:
        click.echo(message, err=True)

    with directory_lock(run_dir, fn="infolens analyze", name="RUN_DIR"):
        if is_experiment_dir(run_dir):  # an `infolens run --experiment` directory
            summary = analyze_experiment(run_dir, log=echo)
            build_experiment_report(run_dir, log=echo)
            click.echo(format_experiment_summary(summary))
            return
        summary = analyze(run_dir, log=echo)
        build_report(run_dir, log=echo)
    click.echo(format_summary(summary))
