"""Train the members of the main job together and record their information plane and metrics.

The reference network of every requested activation and seed is trained *together*, as one
:class:`~infolens.models.StackedMLP` (one batched matrix product per layer runs all members, which
removes the per-step overhead that dominates such tiny networks), and recorded on a log-spaced
schedule through the path any user takes: ``InformationPlane.record(model, epoch,
members=model.members)`` (:func:`infolens.capture` on the stack's ``layers.i``, each member
recorded as a network of its own). Each recorded epoch writes one store transaction
(measurements and metrics) and a weight snapshot; a checkpoint is written every
``checkpoint_every`` epochs, both by atomic rename.

A killed run continues with ``run_plane(config, out=..., resume=True)`` from its last checkpoint:
the epochs after it are trained again and re-recorded, and the store replaces rather than
duplicates their rows (its rows are keyed by run, seed, activation, epoch, layer, quantity and
estimator).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from infolens._threads import torch_threads
from infolens._validation import check_int, fail
from infolens.experiments.plane.config import (
    RUN_ID,
    PlaneRunConfig,
    RunPaths,
    default_out_dir,
    read_config,
    resume_config,
    write_config,
)

__all__ = ["run_plane"]

_FN = "run_plane"
Log = Callable[[str], None]


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

    from infolens.experiments.plane.analysis import analyze
    from infolens.report.plane import build_report

    threads = check_int("threads", threads, _FN, minimum=1)
    _check_device(device)
    if out is None:
        if resume:
            raise fail("out", _FN, "the directory of the run to resume", None)
        out = default_out_dir(_as_config(config).dataset)
    paths = RunPaths(Path(out))
    if resume:
        config = resume_config(read_config(paths, _FN), config, _FN)
    else:
        config = _as_config(config)
        if paths.store.exists() or paths.config.exists():
            raise fail("out", _FN, "a directory without a run in it (pass --resume to continue that run)",
                       str(paths.root))
    say = log or (lambda message: None)
    with torch_threads(threads, _FN):
        timings = _train_and_record(config, paths, resume=resume, progress=progress, say=say, device=device)
        summary = analyze(paths.root, timings=timings, log=say)
        build_report(paths.root, log=say)
        return summary


def _as_config(config: Any) -> PlaneRunConfig:
    if config is None:
        return PlaneRunConfig()
    if isinstance(config, PlaneRunConfig):
        return config
    if isinstance(config, Mapping):
        return PlaneRunConfig(**config)
    raise fail("config", _FN, "a PlaneRunConfig or a mapping of its settings", config)


def _check_device(device: Any) -> None:
    import torch

    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError, TypeError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise fail("device", _FN, "a torch device available here ('cpu', or 'cuda' with a GPU build)",
                   got=f"{device!r} ({reason})") from err


def _load_checkpoint(paths: RunPaths) -> dict[str, Any] | None:
    from infolens.store import load_checkpoint

    if not paths.checkpoint.is_file():
        return None
    try:
        state = load_checkpoint(paths.checkpoint)  # most damage: InfoLensError naming the file
    except OSError as err:  # some truncations reach torch's zip reader as EINVAL
        raise fail("out", _FN, f"a run directory whose checkpoint can be read; {paths.checkpoint} is "
                   "truncated or corrupt. It was left untouched: restore it, or start again in a new "
                   "directory",
                   got=f"{type(err).__name__}: {err}") from err
    if not isinstance(state, dict) or not {"epoch", "model", "optimizer"} <= state.keys():
        raise fail("out", _FN, "a run directory whose checkpoint.pt is a training checkpoint",
                   got=str(paths.checkpoint))
    return state


def _train_and_record(config: PlaneRunConfig, paths: RunPaths, *, resume: bool, progress: bool | None,
                      say: Log, device: str) -> dict[str, float]:
    import torch
    from tqdm.auto import tqdm

    from infolens.data import load
    from infolens.plane import InformationPlane
    from infolens.store import RunStore, save_checkpoint
    from infolens.training import evaluate, train_members

    start = time.perf_counter()
    split = load(config.dataset, config.data_seed)
    model = config.model().to(device)
    members = model.members
    plane = InformationPlane(split.x, split.y, estimator=config.layer_estimator, schedule=config.schedule,
                             last_epoch=config.epochs, n_points=config.points_per_decade)
    dev = model.weights[0].device
    eval_sets = {name: (torch.as_tensor(x, dtype=torch.float32, device=dev), torch.as_tensor(y, device=dev))
                 for name, x, y in (("train", split.x_train, split.y_train),
                                    ("test", split.x_test, split.y_test))}
    checkpoint = _load_checkpoint(paths) if resume else None
    first = 0 if checkpoint is None else int(checkpoint["epoch"])
    if checkpoint is not None and first >= config.epochs:
        say(f"Run in {paths.root} already trained to epoch {first}: rebuilding outputs only.")
        return {}
    if not resume:
        write_config(paths, config)  # only now: everything above has been validated
    timings = {"recording": 0.0, "checkpoints": 0.0}
    n_recorded = 0
    with RunStore(paths.store) as store:
        store.begin_run(RUN_ID, config.to_dict())
        if resume:
            say(f"Resuming {paths.root} from epoch {first} (store: last recorded epoch "
                f"{store.last_epoch(RUN_ID)}; later epochs are re-recorded, not duplicated).")

        def on_epoch(epoch: int, net: Any) -> None:
            nonlocal n_recorded
            if not plane.should_record(epoch):
                return
            t0 = time.perf_counter()
            records = plane.record(net, epoch, members=members, run=RUN_ID)
            metrics = []
            for name, (x, y) in eval_sets.items():
                loss, accuracy = evaluate(net, x, y)
                for m, (act, seed) in enumerate(members):
                    metrics.append({"seed": seed, "activation": act, "name": f"{name}_accuracy",
                                    "value": float(accuracy[m])})
                    if name == "train":
                        metrics.append({"seed": seed, "activation": act, "name": "train_loss",
                                        "value": float(loss[m])})
            save_checkpoint(paths.snapshot(epoch), {"epoch": epoch, "model": net.state_dict()})
            store.record_epoch(RUN_ID, epoch, records, metrics)
            timings["recording"] += time.perf_counter() - t0
            n_recorded += 1
            if bar is not None:
                test = np.mean([r["value"] for r in metrics if r["name"] == "test_accuracy"])
                bar.set_postfix(recorded=n_recorded, test_acc=f"{test:.3f}", refresh=False)

        def on_checkpoint(state: dict[str, Any]) -> None:
            epoch = int(state["epoch"])
            if epoch % config.checkpoint_every == 0 or epoch == config.epochs:
                t0 = time.perf_counter()
                save_checkpoint(paths.checkpoint, state)
                timings["checkpoints"] += time.perf_counter() - t0

        label = "+".join(config.activations)
        say(f"Training {len(members)} networks together ({label}, seeds {list(config.seeds)}) for "
            f"{config.epochs} epochs on {config.dataset}; estimator {plane.estimator.label}.")
        disable = None if progress is None else not progress
        bar = tqdm(total=config.epochs, initial=first, file=sys.stderr, disable=disable, unit="epoch",
                   desc=f"train {label} x {config.n_seeds} seeds", dynamic_ncols=True, mininterval=0.5)
        if bar.disable:
            bar = None
        t_train = time.perf_counter()
        try:
            train_members(model, split, config.epochs, lr=config.lr, batch_size=config.batch_size,
                          on_epoch=on_epoch, on_checkpoint=on_checkpoint, progress=bar,
                          checkpoint=checkpoint)
        finally:
            if bar is not None:
                bar.close()
        loop = time.perf_counter() - t_train
        store.finish_run(RUN_ID)
    timings["estimation"] = plane.estimation_seconds
    timings["training"] = loop - timings["recording"] - timings["checkpoints"]
    timings["setup"] = t_train - start
    timings["epochs_trained"] = float(config.epochs - first)
    timings["recorded_epochs"] = float(n_recorded)
    return timings
