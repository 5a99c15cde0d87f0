"""Run an experiment preset: train every variant's seeds together, record the planes, analyse, report.

Each variant's seeds form one stacked model (:class:`~infolens.models.StackedMLP`, one batched
matrix product per layer for all seeds; CNNs a :class:`~infolens.models.MemberStack`) trained by
:func:`infolens.training.train_members`. At every scheduled epoch each member's layers are read on
the training-set inputs (the first ``plane_train_samples``) and on the held-out test inputs, and
every estimator of the preset records them through
:meth:`infolens.InformationPlane.record_activations`; one store transaction per split and epoch
(runs ``"train"`` and ``"test"``; the store's ``activation`` column holds the variant's name),
a weight snapshot per variant and recorded epoch, and a checkpoint per variant
(``checkpoint_<variant>.pt``) every ``checkpoint_every`` epochs, so a killed run resumes with the
same command and ``--resume``.
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
    RunPaths,
    default_out_dir,
    read_config,
    resume_config,
    write_config,
)
from infolens.experiments.presets.config import ExperimentConfig
from infolens.experiments.presets.spec import Preset, Variant

__all__ = ["SPLITS", "build_model", "layer_names", "load_data", "member_activations", "run_experiment"]

_FN = "run_experiment"
Log = Callable[[str], None]
#: The data each plane is measured on: the training inputs and the held-out test inputs.
SPLITS = ("train", "test")
#: Checkpoints per variant over a run (at least every 50 epochs, and at the last epoch).
_CHECKPOINTS = 8


def load_data(preset: Preset, seed: int = 0) -> Any:
    """The preset's train/test :class:`~infolens.data.Split` (split with ``seed``)."""
    from infolens.data import load, marker_count, mnist_digits

    if preset.dataset == "mnist":
        return mnist_digits(seed=seed, n_samples=preset.n_samples)
    if preset.dataset == "tokens":
        return marker_count(preset.n_samples or 4000, seed=seed)
    return load(preset.dataset, seed)


def build_model(preset: Preset, variant: Variant, seeds: tuple[int, ...]) -> Any:
    """The untrained stacked model of ``variant`` with one member per seed.

    MLPs: a :class:`~infolens.models.StackedMLP` whose hidden taps ``layers.i`` become
    ``nn.Sequential(nn.Identity(), GaussianNoise(noise_std))`` (the clean output is read at
    ``layers.i.0``) or ``Quantize(bits)`` (read quantized). CNNs: a
    :class:`~infolens.models.MemberStack` of :class:`~infolens.models.DigitsCNN`; transformers
    one of :class:`~infolens.models.TokenTransformer` (``widths`` = (tokens, classes)).
    """
    from torch import nn

    from infolens.models import DigitsCNN, MemberStack, StackedMLP, TokenTransformer

    if preset.architecture == "cnn":
        return MemberStack(DigitsCNN, seeds, preset.widths, variant.activation)
    if preset.architecture == "transformer":
        length, n_classes = preset.widths
        return MemberStack(lambda: TokenTransformer(length=length, n_classes=n_classes), seeds, preset.widths,
                           variant.activation)
    model = StackedMLP(len(seeds), preset.widths, [variant.activation] * len(seeds), seeds)
    for i in range(len(model.layers) - 1):
        if variant.noise_std > 0:
            from infolens import GaussianNoise

            model.layers[i] = nn.Sequential(nn.Identity(), GaussianNoise(variant.noise_std))
        elif variant.quantize_bits > 0:
            from infolens import Quantize

            model.layers[i] = Quantize(variant.quantize_bits, *variant.quantize_range)
    return model


def layer_names(preset: Preset) -> list[str]:
    """The recorded layers in input-to-output order (the last one is the softmax output)."""
    if preset.architecture == "cnn":
        from infolens.models import DigitsCNN

        return list(DigitsCNN().layer_names)
    if preset.architecture == "transformer":
        from infolens.models import TokenTransformer

        return list(TokenTransformer().layer_names)
    return [f"layers.{i}" for i in range(len(preset.widths) - 1)]


def member_activations(model: Any, x: Any, preset: Preset, variant: Variant) -> list[dict[str, Any]]:
    """Each member's layers on inputs ``x``: ``[{layer: tensor (n, ...)}, ...]`` in member order.

    The output layer holds class probabilities. Noisy layers are read before their noise (the
    centres of the Gaussian mixture that T = f(X) + Z is); conv layers keep their channels apart,
    as (n, C, H x W), and a transformer's sequence layers their features apart, as
    (n, features, tokens) (see :func:`views`).
    """
    from infolens.plane import run_layers

    names = layer_names(preset)
    if preset.architecture in ("cnn", "transformer"):
        out = []
        for net in model.nets:
            acts = run_layers(net, x, names)
            out.append({name: value if name == names[-1] else _feature_major(value, len(x), net)
                        for name, value in acts.items()})
        return out
    read = [f"{name}.0" if variant.noise_std > 0 and i < len(names) - 1 else name
            for i, name in enumerate(names)]
    acts = run_layers(model, x, read, members=model.members)
    if variant.quantize_bits > 0:  # the softmax output on the hidden layers' grid
        from infolens import Quantize

        acts[read[-1]] = Quantize(variant.quantize_bits, *variant.quantize_range)(acts[read[-1]])
    return [{name: acts[where][m] for name, where in zip(names, read, strict=True)}
            for m in range(model.n_members)]


def _feature_major(value: Any, n: int, net: Any) -> Any:
    """A flattened conv map as (n, C, H x W); a flattened sequence (n, L x d) as (n, d, L)."""
    if hasattr(net, "channels"):
        return value.reshape(n, net.channels, -1)
    return value.reshape(n, -1, net.head.in_features).transpose(1, 2)


def views(acts: Mapping[str, Any], view: str) -> dict[str, Any]:
    """Conv maps and sequences as vectors: ``"pooled"`` (the mean of each channel over H x W, or of
    each feature over the tokens) or ``"flattened"`` (every value)."""
    if not view:
        return dict(acts)
    return {name: (value.mean(dim=-1) if view == "pooled" else value.flatten(1)) if value.ndim == 3 else value
            for name, value in acts.items()}


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
    from infolens.experiments.presets.analysis import analyze_experiment
    from infolens.report.experiment import build_experiment_report

    threads = check_int("threads", threads, _FN, minimum=1)
    if isinstance(config, str):
        config = {"experiment": config}
    paths = RunPaths(Path(out)) if out is not None else None
    if resume:
        if paths is None:
            raise fail("out", _FN, "the directory of the run to resume", None)
        config = resume_config(read_config(paths, _FN, ExperimentConfig), config, _FN)
    else:
        config = config if isinstance(config, ExperimentConfig) else _as_config(config)
        paths = paths or RunPaths(default_out_dir(config.experiment))
        if paths.store.exists() or paths.config.exists():
            raise fail("out", _FN, "a directory without a run in it (pass --resume to continue that run)",
                       str(paths.root))
    say = log or (lambda message: None)
    with torch_threads(threads, _FN):
        timings = _train_and_record(config, paths, resume=resume, progress=progress, say=say)
        summary = analyze_experiment(paths.root, timings=timings, log=say)
        build_experiment_report(paths.root, log=say)
    return summary


def _as_config(config: Any) -> ExperimentConfig:
    if isinstance(config, Mapping):
        try:
            return ExperimentConfig(**config)
        except TypeError as err:
            raise fail("config", _FN, "settings among experiment, quick, n_seeds, epochs",
                       dict(config)) from err
    raise fail("config", _FN, "an experiment name, an ExperimentConfig or a mapping of its settings", config)


def _checkpoint_path(paths: RunPaths, variant: Variant) -> Path:
    return paths / f"checkpoint_{_slug(variant.name)}.pt"


def snapshot_path(paths: RunPaths, variant: Variant, epoch: int) -> Path:
    """The weights of ``variant``'s stacked model after ``epoch``."""
    return paths.snapshots / _slug(variant.name) / f"epoch_{epoch:06d}.pt"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _load_checkpoint(path: Path) -> dict[str, Any] | None:
    from infolens.store import load_checkpoint

    if not path.is_file():
        return None
    state = load_checkpoint(path)
    if not isinstance(state, dict) or not {"epoch", "model", "optimizer"} <= state.keys():
        raise fail("out", _FN, "a run directory whose checkpoints are training checkpoints", got=str(path))
    return state


def _planes(preset: Preset, data: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[tuple[str, ...], Any]:
    """One :class:`~infolens.InformationPlane` per (split, estimator key, variant)."""
    from infolens.plane import InformationPlane

    planes = {}
    for split, (x, y) in data.items():
        for variant in preset.variants:
            for key, spec in preset.estimators_of(variant).items():
                params = {k: v for k, v in spec.items() if k != "estimator"}
                planes[(split, key, variant.name)] = InformationPlane(
                    x, y, estimator=spec["estimator"], schedule="log", last_epoch=preset.epochs,
                    n_points=preset.points_per_decade, **params)
    return planes


def _train_and_record(config: ExperimentConfig, paths: RunPaths, *, resume: bool, progress: bool | None,
                      say: Log) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from infolens.store import RunStore

    start = time.perf_counter()
    preset = config.preset
    split = load_data(preset)
    n_plane = len(split.y_train) if preset.plane_train_samples is None else min(preset.plane_train_samples,
                                                                                  len(split.y_train))
    data = {"train": (split.x_train[:n_plane], split.y_train[:n_plane]), "test": (split.x_test, split.y_test)}
    planes = _planes(preset, data)
    if not resume:
        write_config(paths, config)  # only now: everything above has been validated
    checkpoints = {v.name: _load_checkpoint(_checkpoint_path(paths, v)) if resume else None
                   for v in preset.variants}
    done = sum(min(int(c["epoch"]), preset.epochs) for c in checkpoints.values() if c is not None)
    timings: dict[str, Any] = {"setup": 0.0, "training": 0.0, "recording": 0.0, "estimation": 0.0,
                               "clustering": 0.0, "epochs_trained": 0, "recorded_epochs": 0}
    total = preset.epochs * len(preset.variants)
    say(f"Experiment {preset.name}: {len(preset.variants)} variants x {preset.n_seeds} seeds, "
        f"{preset.epochs} "
        f"epochs, planes on {n_plane} train and {len(split.y_test)} test samples under "
        f"{', '.join(sorted({p.estimator.label for p in planes.values()}))}.")
    bar = tqdm(total=total, initial=done, file=sys.stderr, disable=None if progress is None else not progress,
               unit="epoch", desc=preset.name, dynamic_ncols=True, mininterval=0.5)
    timings["setup"] = time.perf_counter() - start
    try:
        with RunStore(paths.store) as store:
            for split_name in SPLITS:
                store.begin_run(split_name, config.to_dict())
            for variant in preset.variants:
                _train_variant(preset, variant, split, data, planes, paths, store, checkpoints[variant.name],
                               None if bar.disable else bar, timings)
            for split_name in SPLITS:
                store.finish_run(split_name)
    finally:
        bar.close()
    timings["estimation"] = sum(p.estimation_seconds for p in planes.values())
    timings["recording"] -= timings["estimation"] + timings["clustering"]
    if not resume and preset.n_seeds > 1:
        timings["stacking"] = _stacking_gain(preset, split)
    return timings


def _train_variant(preset: Preset, variant: Variant, split: Any, data: dict[str, Any],
                   planes: dict[tuple[str, ...], Any], paths: RunPaths, store: Any,
                   checkpoint: dict[str, Any] | None, bar: Any, timings: dict[str, Any]) -> None:
    import torch

    from infolens.store import save_checkpoint
    from infolens.training import evaluate, input_tensor, train_members

    seeds = tuple(range(preset.n_seeds))
    if checkpoint is not None and int(checkpoint["epoch"]) >= preset.epochs:
        return
    model = build_model(preset, variant, seeds)
    inputs = {name: input_tensor(x) for name, (x, _) in data.items()}
    full = {"train": (torch.as_tensor(split.x_train), torch.as_tensor(split.y_train)),
            "test": (torch.as_tensor(split.x_test), torch.as_tensor(split.y_test))}
    schedule = next(iter(planes.values())).schedule
    first = 0 if checkpoint is None else int(checkpoint["epoch"])

    def on_epoch(epoch: int, net: Any) -> None:
        if not schedule.should_record(epoch):
            return
        t0 = time.perf_counter()
        for split_name in SPLITS:
            records, metrics = _record_split(preset, variant, net, epoch, split_name, inputs[split_name],
                                             data[split_name][1], planes, timings)
            loss, accuracy = evaluate(net, *full[split_name])
            for m, seed in enumerate(seeds):
                metrics.append({"seed": seed, "activation": variant.name, "name": f"{split_name}_accuracy",
                                "value": float(accuracy[m])})
                metrics.append({"seed": seed, "activation": variant.name, "name": f"{split_name}_loss",
                                "value": float(loss[m])})
            store.record_epoch(split_name, epoch, records, metrics)
        save_checkpoint(snapshot_path(paths, variant, epoch), {"epoch": epoch, "model": net.state_dict()})
        timings["recording"] += time.perf_counter() - t0
        timings["recorded_epochs"] += 1

    every = max(1, min(50, preset.epochs // _CHECKPOINTS))

    def on_checkpoint(state: dict[str, Any]) -> None:
        epoch = int(state["epoch"])
        if epoch % every == 0 or epoch == preset.epochs:
            t0 = time.perf_counter()
            save_checkpoint(_checkpoint_path(paths, variant), state)
            timings["recording"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    recording_before = timings["recording"]
    if bar is not None:
        bar.set_postfix(variant=variant.name, refresh=False)
    train_members(model, split, preset.epochs, lr=preset.lr, batch_size=preset.batch_size,
                  weight_decay=variant.weight_decay, on_epoch=on_epoch, on_checkpoint=on_checkpoint,
                  progress=bar, checkpoint=checkpoint, eval_every=preset.epochs)
    elapsed = time.perf_counter() - t0
    timings["training"] += elapsed - (timings["recording"] - recording_before)
    timings["epochs_trained"] += preset.epochs - first
    timings.setdefault("training_per_variant", {})[variant.name] = {
        "seconds": elapsed - (timings["recording"] - recording_before), "epochs": preset.epochs - first}


def _record_split(preset: Preset, variant: Variant, net: Any, epoch: int, split_name: str, x: Any,
                  y: np.ndarray, planes: dict[tuple[str, ...], Any],
                  timings: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    per_member = member_activations(net, x, preset, variant)
    hidden = layer_names(preset)[:-1]
    for view, name in zip(preset.views, preset.recorded_names(variant), strict=True):
        for seed, acts in zip(net.seeds, per_member, strict=True):
            shown = views(acts, view)
            for key in preset.estimators:
                records += planes[(split_name, key, variant.name)].record_activations(
                    shown, epoch, run=split_name, seed=seed, activation=name)
            if preset.clustering:
                from infolens import class_clustering

                t0 = time.perf_counter()
                for layer in hidden:
                    metrics.append({"seed": seed, "activation": name, "name": f"clustering {layer}",
                                    "value": float(class_clustering(shown[layer], y))})
                timings["clustering"] += time.perf_counter() - t0
    return records, metrics


def _stacking_gain(preset: Preset, split: Any) -> dict[str, Any]:
    """Seconds per epoch of the first variant's seeds trained together against one seed alone.

    Both are trained afresh, back to back, for the same few epochs with the same code (a
    one-member stack is the one-by-one baseline); the gain is ``n_members x (one member's s/epoch) /
    (the stack's s/epoch)``. On a shared machine the two measurements see the same load only
    approximately.
    """
    from infolens.training import train_members

    variant = preset.variants[0]
    epochs = max(1, min(3, preset.epochs))
    seconds = {}
    for seeds in ((0,), tuple(range(preset.n_seeds))):
        model = build_model(preset, variant, seeds)
        t0 = time.perf_counter()
        train_members(model, split, epochs, lr=preset.lr, batch_size=preset.batch_size,
                      weight_decay=variant.weight_decay, eval_every=epochs)
        seconds[len(seeds)] = (time.perf_counter() - t0) / epochs
    one, stacked = seconds[1], seconds[preset.n_seeds]
    return {"members": preset.n_seeds, "variant": variant.name, "single_s_per_epoch": one,
            "stacked_s_per_epoch": stacked, "speedup": preset.n_seeds * one / stacked,
            "measured_epochs": epochs}
