"""``infolens run``: the main job (train, record the information plane, write the report)."""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from infolens.cli._options import (
    ACTIVATIONS,
    DATASETS,
    ESTIMATORS,
    EXPERIMENTS,
    device_option,
    threads_option,
)

#: Command-line option -> PlaneRunConfig field.
_FIELDS = {"activations": "activations", "epochs": "epochs", "seeds": "n_seeds", "dataset": "dataset",
           "estimator": "estimator", "lr": "lr", "batch_size": "batch_size", "schedule": "schedule",
           "points_per_decade": "points_per_decade", "sensitivity": "sensitivity",
           "checkpoint_every": "checkpoint_every", "costly_epochs": "costly_epochs"}
_PARAMS = {"bins": "bins", "bin_width": "bin_width", "noise_var": "noise_var", "k": "k"}


def _schedule(value: str) -> str | int:
    return int(value) if value.isdigit() else value


@click.command(name="run")
@click.option("--experiment", type=click.Choice(EXPERIMENTS), default=None,
              help="Run an experiment preset instead of the main job (its own networks, data and estimators; "
                   "only --quick, --out, --resume, --seeds, --epochs, --threads, --progress apply).")
@click.option("--activation", "activations", multiple=True, default=("tanh", "relu"), show_default=True,
              type=click.Choice(list(ACTIVATIONS)),
              help="Hidden activation (repeatable).")
@click.option("--epochs", type=int, default=None, help="Training epochs [default: 3000; 150 with --quick].")
@click.option("--seeds", type=int, default=None, help="Number of seeds 0..N-1 [default: 3; 2 with --quick].")
@click.option("--dataset", type=click.Choice(DATASETS), default="szt12", show_default=True)
@click.option("--estimator", type=click.Choice(ESTIMATORS), default="binning", show_default=True,
              help="Information-plane estimator.")
@click.option("--bins", type=int, default=None, help="binning/adaptive_binning: number of bins.")
@click.option("--bin-width", type=float, default=None,
              help="binning: bin width [default when neither --bins nor --bin-width: 2/30].")
@click.option("--noise-var", type=float, default=None, help="kde: variance of the added Gaussian noise.")
@click.option("--k", type=int, default=None, help="ksg: number of neighbours.")
@click.option("--lr", type=float, default=None, help="Adam learning rate [default: 2e-3].")
@click.option("--batch-size", type=int, default=None, help="Minibatch size [default: 128].")
@click.option("--schedule", type=_schedule, default=None,
              help="Recorded epochs: log, every or N [default: log].")
@click.option("--points-per-decade", type=int, default=None, help="Points per decade of the log schedule.")
@click.option("--sensitivity/--no-sensitivity", default=None,
              help="Estimator-sensitivity table [default: on].")
@click.option("--costly-epochs", type=int, default=None,
              help="Epochs re-estimated by KDE in the sensitivity table (0: none) [default: 8].")
@click.option("--checkpoint-every", type=int, default=None, help="Epochs between checkpoints [default: 100].")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: runs/<dataset>-<timestamp>].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--quick", is_flag=True, help="A smoke run of about 20 s (150 epochs, 2 seeds); with "
              "--experiment, the preset's smoke settings (under a minute).")
@threads_option()
@device_option()
@click.option("--progress/--no-progress", default=None,
              help="Progress bar [default: when stderr is a terminal].")
@click.pass_context
def command(ctx: click.Context, **options: Any) -> None:
    """Train the reference network with tanh and ReLU over several seeds, record the information
    plane of every layer, and write report.html, PNG figures, store.sqlite and summary.json."""
    from infolens._atomic import directory_lock
    from infolens.experiments.plane import PlaneRunConfig
    from infolens.experiments.plane.config import default_out_dir
    from infolens.jobs import run_plane

    given = {name for name in options
             if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)}
    if options["experiment"] is not None:
        _run_experiment(options, given)
        return
    settings = {_FIELDS[n]: options[n] for n in _FIELDS if options[n] is not None}
    settings["activations"] = tuple(options["activations"])
    params = {key: options[n] for n, key in _PARAMS.items() if options[n] is not None}
    if params:
        settings["estimator_params"] = params

    def echo(message: str) -> None:
        click.echo(message, err=True)

    if options["resume"]:
        if options["out"] is None:
            raise click.UsageError("--resume needs --out DIR (the run to continue)")
        # the same command again continues the run: only the settings given are compared
        config: Any = {**(PlaneRunConfig.QUICK if options["quick"] else {}),
                       **{_FIELDS[n]: settings[_FIELDS[n]] for n in given & set(_FIELDS)}}
        if params:
            config["estimator_params"] = params
        out = options["out"]
    else:
        config = PlaneRunConfig.quick(**settings) if options["quick"] else PlaneRunConfig(**settings)
        out = options["out"] or default_out_dir(config.dataset)
    with directory_lock(out, fn="infolens run", name="--out"):
        summary = run_plane(config, out, resume=options["resume"], progress=options["progress"],
                            log=echo, threads=options["threads"], device=options["device"])
    _print_summary(summary)


#: Options that apply to ``--experiment`` runs (the preset fixes everything else).
_EXPERIMENT_OPTIONS = {"experiment", "quick", "out", "resume", "seeds", "epochs", "threads", "progress"}


def _run_experiment(options: dict[str, Any], given: set[str]) -> None:
    from infolens._atomic import directory_lock
    from infolens.experiments.plane.config import default_out_dir
    from infolens.jobs import run_experiment
    from infolens.report.experiment import format_experiment_summary

    ignored = sorted(given - _EXPERIMENT_OPTIONS)
    if ignored:
        raise click.UsageError(f"--experiment fixes the network, data and estimators; remove "
                               f"{', '.join('--' + n.replace('_', '-') for n in ignored)}")
    settings: dict[str, Any] = {"experiment": options["experiment"], "quick": options["quick"]}
    for option, key in (("seeds", "n_seeds"), ("epochs", "epochs")):
        if options[option] is not None:
            settings[key] = options[option]
    if options["resume"] and options["out"] is None:
        raise click.UsageError("--resume needs --out DIR (the run to continue)")
    out = options["out"] or default_out_dir(options["experiment"])

    def echo(message: str) -> None:
        click.echo(message, err=True)

    with directory_lock(out, fn="infolens run", name="--out"):
        summary = run_experiment(settings, out, resume=options["resume"], progress=options["progress"],
                                 log=echo, threads=options["threads"])
    click.echo(format_experiment_summary(summary))


def _print_summary(summary: dict[str, Any]) -> None:
    from infolens.report.plane import format_summary

    click.echo(format_summary(summary))
