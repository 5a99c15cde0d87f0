"""Jobs: run an experiment, then build its report from what it stored.

The experiments (:mod:`infolens.experiments`) write to a run directory and never import the report
package; the reports (:mod:`infolens.report`) only read a run directory. A job joins the two for
the CLI and for scripts, and holds the lifecycle of a run directory once (:func:`run_job`):
check the threads, resume the stored run or refuse a directory that already holds one, train and
record under a torch thread count, analyse, and build the report.

* :func:`run_plane`: the main job (``infolens run``);
* :func:`run_experiment`: an experiment preset (``infolens run --experiment NAME``);
* :func:`run_probe`: probes, pruning and maps (``infolens probe``);
* :func:`run_ib_experiment`: the VIB beta sweep and the exact IB curve (``infolens ib``);
* :func:`plane_point`: one information-plane run as a point of ``infolens sweep``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infolens._threads import torch_threads
from infolens._validation import check_int, fail
from infolens.experiments import probe_run
from infolens.experiments.plane import PlaneRunConfig
from infolens.experiments.plane import analysis as plane_analysis
from infolens.experiments.plane import run as plane_run
from infolens.experiments.plane.config import RunPaths, default_out_dir, read_config, resume_config
from infolens.experiments.presets import analysis as preset_analysis
from infolens.experiments.presets import run as preset_run
from infolens.experiments.presets.config import ExperimentConfig
from infolens.experiments.probe_run import ProbeRunConfig, ProbeRunResult
from infolens.experiments.vib_sweep import VIBSweepConfig, run_ib_sweep
from infolens.report.experiment import build_experiment_report
from infolens.report.ib import build_ib_report
from infolens.report.plane import build_report
from infolens.report.probe import build_probe_report

__all__ = ["Job", "plane_point", "run_experiment", "run_ib_experiment", "run_job", "run_plane", "run_probe"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """One kind of resumable run directory: how its settings are read and written, and its stages.

    Attributes
    ----------
    fn : str
        The public function named in errors (``"run_plane"``).
    config_type : type
        The settings class stored in ``config.json`` (with ``from_dict`` and ``to_dict``).
    as_config : callable
        Settings as given (a mapping, an instance, ...) -> ``config_type``; raises on bad ones.
    out_name : callable
        Settings -> the stem of the default directory (:func:`default_out_dir`).
    train : callable
        ``train(config, paths, resume=, progress=, say=, **options)`` -> timings: trains and records
        into the store.
    analyse : callable
        ``analyse(root, timings=, log=)`` -> the summary (also stored).
    report : callable
        ``report(root, log=)``: builds the report from the stored files.
    """

    fn: str
    config_type: type
    as_config: Callable[[Any], Any]
    out_name: Callable[[Any], str]
    train: Callable[..., dict[str, Any]]
    analyse: Callable[..., dict[str, Any]]
    report: Callable[..., Any]


PLANE = Job("run_plane", PlaneRunConfig, plane_run.as_config, lambda config: config.dataset,
            plane_run.train_and_record, plane_analysis.analyze, build_report)
EXPERIMENT = Job("run_experiment", ExperimentConfig, preset_run.as_config, lambda config: config.experiment,
                 preset_run.train_and_record, preset_analysis.analyze_experiment, build_experiment_report)


def run_job(job: Job, config: Any, out: str | os.PathLike[str] | None, *, resume: bool, progress: bool | None,
            log: Log | None, threads: int, check: Callable[[], None] | None = None,
            **options: Any) -> dict[str, Any]:
    """The lifecycle of a resumable run: settings, directory, train, analyse, report; the summary.

    ``threads`` is checked first, then ``check()`` (e.g. the device), then the directory: with
    ``resume`` the settings stored in ``out`` are read and ``config`` must agree with them;
    without, ``config`` is validated and ``out`` (default :func:`default_out_dir`) must not hold a
    run yet. ``options`` go to ``job.train``.
    """
    threads = check_int("threads", threads, job.fn, minimum=1)
    if check is not None:
        check()
    if resume:
        if out is None:
            raise fail("out", job.fn, "the directory of the run to resume", None)
        paths = RunPaths(Path(out))
        config = resume_config(read_config(paths, job.fn, job.config_type), config, job.fn)
    else:
        config = job.as_config(config)
        paths = RunPaths(Path(out) if out is not None else default_out_dir(job.out_name(config)))
        if paths.store.exists() or paths.config.exists():
            raise fail("out", job.fn, "a directory without a run in it (pass --resume to continue that run)",
                       str(paths.root))
    say = log or (lambda message: None)
    with torch_threads(threads, job.fn):
        timings = job.train(config, paths, resume=resume, progress=progress, say=say, **options)
        summary = job.analyse(paths.root, timings=timings, log=say)
        job.report(paths.root, log=say)
    return summary


def run_plane(config: PlaneRunConfig | Mapping[str, Any] | None = None,
              out: str | os.PathLike[str] | None = None, *, resume: bool = False,
              progress: bool | None = None, log: Log | None = None, threads: int = 1,
              device: str = "cpu") -> dict[str, Any]:
    """Train, record the information plane, analyse, and write the report, figures and summary.

    Parameters
    ----------
    config : PlaneRunConfig or mapping, optional
        What to run (default ``PlaneRunConfig()``). With ``resume=True``: omitted, the stored
        settings; a ``PlaneRunConfig``, which must equal them; or a mapping of the settings the
        user passed, each of which must agree with the stored one (a re-run of the same
        command). Without ``resume``, a mapping is passed to ``PlaneRunConfig(**config)``.
    out : path, optional
        Output directory (default :func:`default_out_dir`). Without ``resume`` it must not
        already hold a run.
    resume : bool
        Continue the run in ``out`` from its last checkpoint.
    progress : bool, optional
        Show a progress bar on stderr; ``None`` shows it only when stderr is a terminal.
    log : callable, optional
        Receives one line per stage (e.g. ``click.echo``).
    threads : int
        ``torch.set_num_threads`` during the run (restored afterwards). One thread is fastest for
        these tiny networks.
    device : str
        Torch device of the training (checked before anything is written).

    Returns
    -------
    dict
        The contents of ``summary.json``.
    """
    return run_job(PLANE, config, out, resume=resume, progress=progress, log=log, threads=threads,
                   check=lambda: plane_run.check_device(device), device=device)


def run_experiment(config: ExperimentConfig | Mapping[str, Any] | str,
                   out: str | os.PathLike[str] | None = None, *, resume: bool = False,
                   progress: bool | None = None, log: Log | None = None, threads: int = 1) -> dict[str, Any]:
    """Run an experiment preset end to end and return its ``summary.json``.

    Parameters
    ----------
    config : ExperimentConfig, mapping or str
        The preset's name, or its settings (``experiment``, ``quick``, ``n_seeds``, ``epochs``).
        With ``resume=True`` a mapping holds only the settings given again; each must agree with
        the stored one (a difference raises, naming it).
    out : path, optional
        Run directory (default ``runs/<experiment>-<timestamp>``); without ``resume`` it must not
        hold a run yet.
    resume : bool
        Continue the run in ``out`` from each variant's last checkpoint.
    progress : bool, optional
        Progress bar on stderr (``None``: when stderr is a terminal).
    log : callable, optional
        Receives one line per stage.
    threads : int
        torch threads during the run.

    Returns
    -------
    dict
        The summary (see :mod:`infolens.experiments.presets.analysis`).
    """
    if isinstance(config, str):
        config = {"experiment": config}
    return run_job(EXPERIMENT, config, out, resume=resume, progress=progress, log=log, threads=threads)


def run_probe(config: ProbeRunConfig | None = None, out: str | os.PathLike[str] | None = None, *,
              log: Log | None = None) -> ProbeRunResult:
    """Run the probe experiment (:func:`infolens.experiments.probe_run.run_probe`); with ``out``,
    store its outputs there and build ``report.html`` and the figures from them."""
    result = probe_run.run_probe(config, out, log=log)
    if out is not None:
        build_probe_report(out)
        (log or (lambda message: None))(f"wrote {Path(out) / 'report.html'}")
    return result


def run_ib_experiment(config: VIBSweepConfig, out: str | Path, *, run_dir: str | Path | None = None,
                      progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the sweep, then write ``summary.json``, the figures and ``report.html`` to ``out``.

    Parameters
    ----------
    config : VIBSweepConfig
    out : path
        Output directory (created).
    run_dir : path, optional
        An information-plane run directory (``infolens run``); only with ``dataset="szt12"``.
    progress : callable, optional
        Called as ``progress(epoch, epochs)`` after every epoch.

    Returns
    -------
    dict
        The contents of ``summary.json``.
    """
    summary = run_ib_sweep(config, out, run_dir=run_dir, progress=progress)
    build_ib_report(out)
    return summary


def plane_point(dataset: str, activation: str, data_seed: int, epochs: int, estimator: str,
                out_root: str) -> dict[str, Any]:
    """One information-plane run (one activation, one data seed) written to ``out_root/<name>``.

    ``data_seed`` seeds the train/test split; the network's initial weights are those of seed 0
    (seeds of the weights are batched within one run: ``infolens run --seeds``). An interrupted
    point resumes from its own checkpoint.
    """
    out = Path(out_root) / f"{dataset}-{activation}-{estimator}-seed{data_seed}"
    config = PlaneRunConfig(dataset=dataset, activations=(activation,), n_seeds=1, epochs=epochs,
                            estimator=estimator, data_seed=data_seed, sensitivity=False)
    resume = (out / "config.json").exists()
    summary = run_plane(None if resume else config, out, resume=resume, progress=False)
    layers = summary[activation]["layers"]
    return {"test_accuracy": summary[activation]["test_accuracy"], "run_dir": str(out),
            **{f"{name}/{key}": value for name, entry in layers.items()
               for key, value in entry.items() if key != "width"}}
