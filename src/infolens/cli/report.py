"""``infolens report RUN_DIR``: rebuild report.html and the figures of a run from its stored results."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command(name="report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
def command(run_dir: str) -> None:
    """Rebuild the report of RUN_DIR (an `infolens run`, `infolens probe` or `infolens ib` directory)
    from its stored results: no training, no estimation (`infolens analyze RUN_DIR` measures a run
    again)."""
    from infolens._atomic import directory_lock
    from infolens.experiments.presets.analysis import is_experiment_dir
    from infolens.report.experiment import build_experiment_report
    from infolens.report.ib import build_ib_report
    from infolens.report.plane import build_report, format_summary
    from infolens.report.probe import build_probe_report

    with directory_lock(run_dir, fn="infolens report", name="RUN_DIR"):
        if (Path(run_dir) / "maps.json").is_file():  # an `infolens probe` directory
            click.echo(f"report: {build_probe_report(run_dir)}")
            return
        if is_experiment_dir(run_dir):  # an `infolens run --experiment` directory
            click.echo(f"report: {build_experiment_report(run_dir)}")
            return
        if not (Path(run_dir) / "config.json").is_file() and (Path(run_dir) / "summary.json").is_file():
            click.echo(f"report: {build_ib_report(run_dir)}")  # an `infolens ib` directory
            return
        build_report(run_dir, log=lambda m: click.echo(m, err=True))
    click.echo(format_summary(json.loads((Path(run_dir) / "summary.json").read_text())))
