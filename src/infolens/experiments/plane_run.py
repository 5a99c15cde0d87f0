"""The main job: the information plane of the reference network, tanh against ReLU, over seeds.

:func:`run_plane` trains the reference MLP of Shwartz-Ziv & Tishby (2017) (12-10-7-5-4-3-2 on
their 12-bit task by default) with every requested activation and seed *together*, as one
:class:`~infolens.models.StackedMLP` (one batched matrix product per layer runs all members, which
removes the per-step overhead that dominates such tiny networks), records I(X;T) and I(T;Y) of
every layer on a log-spaced schedule, and writes to its output directory:

``store.sqlite``
    The run store: one transaction per recorded epoch (measurements and metrics).
``checkpoint.pt``, ``snapshots/``
    The resumable training state, every ``checkpoint_every`` epochs, and the (tiny) weights of
    every recorded epoch, from which the estimator-sensitivity table is computed. Both are
    written by atomic rename.
``information_plane.png``, ``mi_vs_epoch.png``, ``accuracy.png``, ``compression.png``
    The figures (also embedded in the report).
``report.html``
    One self-contained file: no network is needed to view it.
``summary.json``
    Per activation: ``test_accuracy`` and ``layers`` (layer name -> ``width``, ``peak_I_XT``,
    ``final_I_XT``, ``final_I_TY`` in bits, means over seeds); ``estimator`` (its settings);
    ``checks`` (the expected outcome of the issue, evaluated); ``timings``.

A killed run continues with ``run_plane(out=..., resume=True)`` from its last checkpoint: the
epochs after it are trained again and re-recorded, and the store replaces rather than duplicates
their rows (its rows are keyed by run, seed, activation, epoch, layer, quantity and estimator).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infolens._json import read_json
from infolens._validation import check_choice, check_float, check_int, fail
from infolens.report.html import Report, atomic_write_bytes

__all__ = [
    "DEFAULT_BIN_WIDTH",
    "PlaneRunConfig",
    "RunData",
    "SECTIONS",
    "build_outputs",
    "load_run",
    "run_plane",
    "summarize",
]

#: Bin width of the default binning estimator: 30 equal bins over tanh's range [-1, 1]
#: (Shwartz-Ziv & Tishby 2017), kept the same for unbounded activations (see the module notes).
DEFAULT_BIN_WIDTH = 2.0 / 30.0
RUN_ID = "plane"
_FN = "run_plane"
_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
_DATASETS = ("szt12", "mnist1d", "digits")
_ESTIMATORS = ("binning", "adaptive_binning", "kde", "ksg", "plugin")
Log = Callable[[str], None]


@dataclass(frozen=True)
class PlaneRunConfig:
    """Settings of the main job (what is trained and measured).

    Parameters
    ----------
    dataset : {"szt12", "mnist1d", "digits"}
        Data set; the network is ``infolens.models.reference_widths(dataset)``.
    activations : tuple of str
        Hidden activations to compare; each is trained with every seed.
    n_seeds : int
        Seeds ``0 .. n_seeds - 1`` (initial weights and minibatch order).
    epochs : int
        Training epochs (Adam, learning rate ``lr``, minibatches of ``batch_size``).
    estimator : str
        Information-plane estimator (:data:`infolens.plane.ESTIMATORS`).
    estimator_params : mapping
        Its settings. For ``"binning"`` with neither ``bins`` nor ``bin_width`` given, the
        bin width is :data:`DEFAULT_BIN_WIDTH`.
    schedule : "log", "every" or int
        Recorded epochs: ``"log"`` records about ``points_per_decade`` epochs per decade.
    data_seed : int
        Seed of the train/test split.
    checkpoint_every : int
        Epochs between checkpoints (the last epoch is always checkpointed).
    sensitivity : bool
        Re-estimate the recorded activations under other estimators (the sensitivity table).
    costly_epochs : int
        Recorded epochs (spread evenly) that the O(n^2) estimators of the sensitivity table
        (KDE) re-estimate, for the first seed of each activation only; 0 leaves them out.

    Notes
    -----
    The defaults were chosen by experiment on szt12 (3 seeds, bin width 2/30): with Adam at
    lr=4e-4 and batches of 256 (the trainer's defaults), 3000 epochs leave tanh's 3-unit layer at
    0.83 of its peak I(X;T) and ReLU at 0.93 test accuracy; lr=4e-3 compresses tanh faster but
    ReLU's hidden layers then drift to 0.90 of their peaks; lr=2e-3 with batches of 128 gives,
    after 3000 epochs, tanh 0.33 of peak, every ReLU hidden layer >= 0.98 of its peak, I(T;Y) of
    0.97-0.98 bits in the 3-unit layer and test accuracy 0.963 (tanh) and 0.956 (ReLU).
    """

    dataset: str = "szt12"
    activations: tuple[str, ...] = ("tanh", "relu")
    n_seeds: int = 3
    epochs: int = 3000
    lr: float = 2e-3
    batch_size: int = 128
    estimator: str = "binning"
    estimator_params: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | int = "log"
    points_per_decade: int = 10
    data_seed: int = 0
    checkpoint_every: int = 100
    sensitivity: bool = True
    costly_epochs: int = 8

    def __post_init__(self) -> None:
        fn = "PlaneRunConfig"
        check_choice("dataset", self.dataset, _DATASETS, fn)
        acts = (self.activations,) if isinstance(self.activations, str) else tuple(self.activations)
        if not acts or len(set(acts)) != len(acts):
            raise fail("activations", fn, "a non-empty sequence of distinct activation names",
                       self.activations)
        for act in acts:
            check_choice("activations", act, _ACTIVATIONS, fn)
        object.__setattr__(self, "activations", acts)
        check_int("n_seeds", self.n_seeds, fn, minimum=1)
        check_int("epochs", self.epochs, fn, minimum=1)
        check_float("lr", self.lr, fn, minimum=0.0, strict_minimum=True)
        check_int("batch_size", self.batch_size, fn, minimum=1)
        check_choice("estimator", self.estimator, _ESTIMATORS, fn)
        if not isinstance(self.estimator_params, Mapping):
            raise fail("estimator_params", fn, "a mapping of estimator settings", self.estimator_params)
        params = {str(k): v for k, v in self.estimator_params.items() if v is not None}
        if self.estimator == "binning" and "bins" not in params and "bin_width" not in params:
            params["bin_width"] = DEFAULT_BIN_WIDTH
        object.__setattr__(self, "estimator_params", params)
        if not (self.schedule in ("log", "every") or (isinstance(self.schedule, int)
                                                      and not isinstance(self.schedule, bool)
                                                      and self.schedule >= 1)):
            raise fail("schedule", fn, "'log', 'every' or an int >= 1", self.schedule)
        check_int("points_per_decade", self.points_per_decade, fn, minimum=1)
        check_int("data_seed", self.data_seed, fn, minimum=0)
        check_int("checkpoint_every", self.checkpoint_every, fn, minimum=1)
        if not isinstance(self.sensitivity, bool):
            raise fail("sensitivity", fn, "a bool", self.sensitivity)
        check_int("costly_epochs", self.costly_epochs, fn, minimum=0)

    @classmethod
    def quick(cls, **overrides: Any) -> PlaneRunConfig:
        """A smoke-test configuration (about 20 s): 150 epochs, 2 seeds, coarse schedule, no KDE."""
        settings: dict[str, Any] = {"epochs": 150, "n_seeds": 2, "points_per_decade": 6,
                                    "checkpoint_every": 25, "costly_epochs": 0}
        settings.update(overrides)
        return cls(**settings)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.n_seeds))

    @property
    def members(self) -> list[tuple[str, int]]:
        """(activation, seed) of each member of the stacked model, in order."""
        return [(act, seed) for act in self.activations for seed in self.seeds]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (the identity of the run in the store)."""
        out = dataclasses.asdict(self)
        out["activations"] = list(self.activations)
        out["estimator_params"] = dict(self.estimator_params)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlaneRunConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise fail("config", "PlaneRunConfig.from_dict", f"keys among {sorted(names)}",
                       got=f"unknown keys {unknown}")
        values = dict(data)
        if "activations" in values:
            values["activations"] = tuple(values["activations"])
        return cls(**values)


@dataclass(frozen=True)
class _Paths:
    root: Path

    @property
    def store(self) -> Path:
        return self.root / "store.sqlite"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.pt"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    def snapshot(self, epoch: int) -> Path:
        return self.snapshots / f"epoch_{epoch:06d}.pt"

    @property
    def sensitivity(self) -> Path:
        return self.root / "sensitivity.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"


def default_out_dir(dataset: str) -> Path:
    """``runs/<dataset>-<YYYYmmdd-HHMMSS>`` under the working directory."""
    return Path("runs") / f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def _write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n").encode())


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# ---------------------------------------------------------------------------------------- training
def run_plane(config: PlaneRunConfig | None = None, out: str | os.PathLike[str] | None = None, *,
              resume: bool = False, progress: bool | None = None, log: Log | None = None,
              threads: int = 1, device: str = "cpu") -> dict[str, Any]:
    """Train, record the information plane, and write the report, figures, store and summary.

    Parameters
    ----------
    config : PlaneRunConfig, optional
        What to run (default ``PlaneRunConfig()``). With ``resume=True`` it may be omitted (the
        stored one is used); if given it must equal the stored one.
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
        Torch device of the training.

    Returns
    -------
    dict
        The contents of ``summary.json``.
    """
    import torch

    threads = check_int("threads", threads, _FN, minimum=1)
    if out is None:
        if resume:
            raise fail("out", _FN, "the directory of the run to resume", None)
        out = default_out_dir((config or PlaneRunConfig()).dataset)
    paths = _Paths(Path(out))
    config = _resolve_config(config, paths, resume)
    paths.root.mkdir(parents=True, exist_ok=True)
    _write_json(paths.config, config.to_dict())
    say = log or (lambda message: None)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        timings = _train_and_record(config, paths, resume=resume, progress=progress, say=say, device=device)
        return build_outputs(paths.root, timings=timings, log=say)
    finally:
        torch.set_num_threads(previous)


def _resolve_config(config: PlaneRunConfig | None, paths: _Paths, resume: bool) -> PlaneRunConfig:
    if config is not None and not isinstance(config, PlaneRunConfig):
        raise fail("config", _FN, "a PlaneRunConfig", config)
    if resume:
        if not paths.config.is_file():
            raise fail("out", _FN, "a run directory (with config.json) to resume", str(paths.root))
        stored = PlaneRunConfig.from_dict(read_json(paths.config, _FN))
        if config is not None and config != stored:
            changed = {k: v for k, v in config.to_dict().items() if stored.to_dict().get(k) != v}
            raise fail("config", _FN, "the configuration the run was started with (resume continues "
                       "the same run; start a new --out to change settings)", got=f"changes {changed}")
        return stored
    if paths.store.exists() or paths.config.exists():
        raise fail("out", _FN, "a directory without a run in it (pass --resume to continue that run)",
                   str(paths.root))
    return config if config is not None else PlaneRunConfig()


def _train_and_record(config: PlaneRunConfig, paths: _Paths, *, resume: bool, progress: bool | None,
                      say: Log, device: str) -> dict[str, float]:
    import torch
    from tqdm.auto import tqdm

    from infolens.data import load
    from infolens.models import StackedMLP, reference_widths
    from infolens.plane import InformationPlane
    from infolens.store import RunStore, load_checkpoint, save_checkpoint
    from infolens.training import evaluate, train_members

    start = time.perf_counter()
    split = load(config.dataset, config.data_seed)
    widths = reference_widths(config.dataset)
    members = config.members
    acts = [a for a, _ in members]
    seeds = [s for _, s in members]
    model = StackedMLP(len(members), widths, acts, seeds).to(device)
    plane = InformationPlane(split.x, split.y, estimator=config.estimator, schedule=config.schedule,
                             last_epoch=config.epochs, n_points=config.points_per_decade,
                             **config.estimator_params)
    dev = model.weights[0].device
    x_all = torch.as_tensor(split.x, dtype=torch.float32, device=dev)
    eval_sets = {name: (torch.as_tensor(x, dtype=torch.float32, device=dev), torch.as_tensor(y, device=dev))
                 for name, x, y in (("train", split.x_train, split.y_train),
                                    ("test", split.x_test, split.y_test))}
    checkpoint = None
    if resume and paths.checkpoint.is_file():
        checkpoint = load_checkpoint(paths.checkpoint)
    first = 0 if checkpoint is None else int(checkpoint["epoch"])
    if first >= config.epochs and checkpoint is not None:
        say(f"Run in {paths.root} already trained to epoch {first}: rebuilding outputs only.")
        return {}
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
            with torch.no_grad():
                _, layer_acts = net.forward_with_activations(x_all)
            arrays = [a.detach().cpu().numpy() for a in layer_acts]
            records = plane.record_members(arrays, epoch, seeds=seeds, activation=acts, run=RUN_ID)
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


# ---------------------------------------------------------------------------------------- analysis
@dataclass
class RunData:
    """Everything the figures, the report and the summary are made from (read from a run directory)."""

    root: Path
    config: PlaneRunConfig
    result: Any                 # PlaneResult
    metrics: Any                # DataFrame: activation, seed, epoch, metric, value
    widths: tuple[int, ...]
    layers: list[str]
    estimator_label: str
    units: str
    sensitivity: Any = None     # DataFrame: estimator, activation, layer, compression_score, compresses
    sensitivity_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def layer_labels(self) -> dict[str, str]:
        """``layers.i`` -> ``"L{i+1} (width)"``; the output layer is ``"out (C, softmax)"``."""
        labels = {}
        for i, name in enumerate(self.layers):
            width = self.widths[i + 1]
            labels[name] = f"out ({width}, softmax)" if i == len(self.layers) - 1 else f"L{i + 1} ({width})"
        return labels

    @property
    def hidden_layers(self) -> list[str]:
        return self.layers[:-1]

    @property
    def split(self) -> Any:
        """The run's data split (loaded once)."""
        if "split" not in self.extras:
            from infolens.data import load

            self.extras["split"] = load(self.config.dataset, self.config.data_seed)
        return self.extras["split"]


def load_run(out: str | os.PathLike[str]) -> RunData:
    """Read a run directory written by :func:`run_plane` (store, config, sensitivity, timings)."""
    import pandas as pd

    from infolens.models import reference_widths
    from infolens.plane import PlaneResult
    from infolens.plane.estimate import make_layer_estimator
    from infolens.store import RunStore

    paths = _Paths(Path(out))
    if not paths.config.is_file() or not paths.store.is_file():
        raise fail("out", "load_run", "a run directory with config.json and store.sqlite", str(out))
    config = PlaneRunConfig.from_dict(read_json(paths.config, _FN))
    widths = reference_widths(config.dataset)
    layers = [f"layers.{i}" for i in range(len(widths) - 1)]
    with RunStore(paths.store) as store:
        if RUN_ID not in {r["run_id"] for r in store.runs()}:
            raise fail("out", "load_run", "a run directory whose store holds the main job", str(out))
        result = PlaneResult(store.measurements(RUN_ID), layers=layers)
        metrics = pd.DataFrame(store.metrics(RUN_ID), columns=["run", "seed", "activation", "epoch",
                                                               "name", "value"])
    if len(result) == 0:
        raise fail("out", "load_run", "a run with at least one recorded epoch", str(out))
    metrics = metrics.rename(columns={"name": "metric"})
    label = make_layer_estimator(config.estimator, config.estimator_params, "load_run").label
    data = RunData(root=paths.root, config=config, result=result, metrics=metrics, widths=widths,
                   layers=layers, estimator_label=label, units=result.units)
    if paths.sensitivity.is_file():
        saved = json.loads(paths.sensitivity.read_text())
        data.sensitivity = pd.DataFrame(saved["rows"])
        data.sensitivity_settings = saved["settings"]
    if paths.summary.is_file():
        data.timings = dict(json.loads(paths.summary.read_text()).get("timings", {}))
    return data


def sensitivity_estimators(config: PlaneRunConfig) -> dict[str, dict[str, Any]]:
    """The estimator settings of the sensitivity table: the run's own first, then alternatives.

    Binning with half and double the bin width, 30 equal bins over each layer's own range at each
    epoch (Shwartz-Ziv & Tishby's rule; for ReLU the bins widen as activations grow), 30
    equal-mass bins per unit (Chelombiev et al. 2019), and the Kolchinsky-Tracey KDE upper bound
    with noise variance 0.1 (Saxe et al. 2018) on a subset of epochs.
    """
    from infolens.plane.estimate import make_layer_estimator

    own = {"estimator": config.estimator, **config.estimator_params}
    own_label = make_layer_estimator(config.estimator, config.estimator_params, "sensitivity").label
    width = DEFAULT_BIN_WIDTH
    candidates = {
        f"{own_label} (this run)": own,
        f"binning(bin_width={width / 2:.4g})": {"estimator": "binning", "bin_width": width / 2},
        f"binning(bin_width={2 * width:.4g})": {"estimator": "binning", "bin_width": 2 * width},
        "binning(bins=30, per-layer range)": {"estimator": "binning", "bins": 30},
        "adaptive_binning(bins=30)": {"estimator": "adaptive_binning", "bins": 30},
        "kde(noise_var=0.1)": {"estimator": "kde", "noise_var": 0.1},
    }
    out: dict[str, dict[str, Any]] = {}
    seen = [own]
    out[f"{own_label} (this run)"] = own
    for label, spec in candidates.items():
        if spec not in seen:
            out[label] = spec
            seen.append(spec)
    return out


#: Estimators whose cost grows as n^2 per layer: the sensitivity table runs them on fewer epochs.
_COSTLY = ("kde", "ksg")


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones (for JSON)."""
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return value


def compute_sensitivity(out: str | os.PathLike[str], *, log: Log | None = None) -> dict[str, Any]:
    """Re-estimate the recorded activations (rebuilt from the weight snapshots) under
    :func:`sensitivity_estimators` and save ``sensitivity.json``; returns its contents."""
    import torch

    from infolens.data import load
    from infolens.models import StackedMLP, reference_widths
    from infolens.plane import sensitivity
    from infolens.store import load_checkpoint

    paths = _Paths(Path(out))
    config = PlaneRunConfig.from_dict(read_json(paths.config, _FN))
    files = sorted(paths.snapshots.glob("epoch_*.pt"))
    if not files:
        raise fail("out", "compute_sensitivity", "a run directory with weight snapshots", str(out))
    split = load(config.dataset, config.data_seed)
    members = config.members
    model = StackedMLP(len(members), reference_widths(config.dataset), [a for a, _ in members],
                       [s for _, s in members])
    x_all = torch.as_tensor(split.x, dtype=torch.float32)
    by_member: dict[tuple[str, int], dict[int, dict[str, np.ndarray]]] = {m: {} for m in members}
    for path in files:
        state = load_checkpoint(path)
        model.load_state_dict(state["model"])
        with torch.no_grad():
            _, layer_acts = model.forward_with_activations(x_all)
        for m, member in enumerate(members):
            by_member[member][int(state["epoch"])] = {f"layers.{i}": a[m].numpy() for i, a in
                                                      enumerate(layer_acts)}
    epochs = sorted(by_member[members[0]])
    n_pick = min(config.costly_epochs, len(epochs))
    pick = sorted({epochs[int(round(i))] for i in np.linspace(0, len(epochs) - 1, n_pick)})
    # the costly estimators (O(n^2) per layer) see the first seed of each activation at a few epochs
    costly = {m: {e: acts for e, acts in per.items() if e in pick}
              for m, per in by_member.items() if m[1] == config.seeds[0]}
    settings = sensitivity_estimators(config)
    if n_pick == 0:
        settings = {k: v for k, v in settings.items() if v["estimator"] not in _COSTLY}
    frames = []
    seconds: dict[str, float] = {}
    for label, spec in settings.items():
        t0 = time.perf_counter()
        subset = costly if spec["estimator"] in _COSTLY else by_member
        result = sensitivity(subset, split.y, {label: spec}, x=split.x, run=RUN_ID)
        frames.append(result.to_frame())
        seconds[label] = time.perf_counter() - t0
        if log is not None:
            log(f"  sensitivity: {label} in {seconds[label]:.1f} s")
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True)
    rows = [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]
    saved = {"settings": settings, "rows": rows, "seconds": seconds,
             "costly_epochs": pick, "costly_seed": config.seeds[0], "epochs": epochs}
    _write_json(paths.sensitivity, saved)
    return saved


def _final_metric(data: RunData, activation: str, metric: str) -> tuple[float, float, list[float]]:
    frame = data.metrics
    part = frame[(frame["activation"] == activation) & (frame["metric"] == metric)]
    if part.empty:
        return math.nan, math.nan, []
    last = part[part["epoch"] == part["epoch"].max()].sort_values("seed")
    values = [float(v) for v in last["value"]]
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, values


def summarize(data: RunData) -> dict[str, Any]:
    """The contents of ``summary.json`` (see the module docstring), computed from ``data``."""
    per_layer = data.result.summary(estimator=data.estimator_label)
    out: dict[str, Any] = {}
    for act in data.config.activations:
        mean, std, values = _final_metric(data, act, "test_accuracy")
        train_mean, _, _ = _final_metric(data, act, "train_accuracy")
        layers = {}
        for i, name in enumerate(data.layers):
            values_l = per_layer.get(act, {}).get(name, {})
            layers[name] = {"width": int(data.widths[i + 1]),
                            "peak_I_XT": _finite(values_l.get("peak_I_XT", math.nan)),
                            "final_I_XT": _finite(values_l.get("final_I_XT", math.nan)),
                            "final_I_TY": _finite(values_l.get("final_I_TY", math.nan))}
        out[act] = {"test_accuracy": _finite(mean), "test_accuracy_std": _finite(std),
                    "test_accuracy_per_seed": [_finite(v) for v in values],
                    "train_accuracy": _finite(train_mean), "layers": layers}
    cfg = data.config
    out["estimator"] = {"name": cfg.estimator, "label": data.estimator_label,
                        "params": dict(cfg.estimator_params), "units": data.units,
                        "schedule": cfg.schedule, "points_per_decade": cfg.points_per_decade,
                        "samples": "all inputs (train and test)", "recorded_epochs": len(data.result.epochs),
                        "smoothing": "peak and final values use a 3-point moving average of each seed's "
                                     "curve, then the mean over seeds"}
    out["config"] = cfg.to_dict()
    out["checks"] = expected_outcome(out, data)
    out["timings"] = {k: round(float(v), 3) for k, v in data.timings.items()}
    return out


def expected_outcome(summary: Mapping[str, Any], data: RunData) -> dict[str, Any]:
    """The expected outcome of the main job, evaluated on a summary.

    tanh compresses its last hidden layer (final I(X;T) <= 0.5 x peak), ReLU hidden layers do not
    (every one ends at >= 0.9 x its peak), both reach I(T;Y) >= 0.95 bits in the last hidden layer
    and test accuracy >= 0.95. Checks whose activation is not in the run are left out.
    """
    checks: dict[str, Any] = {}
    hidden = data.hidden_layers
    last = hidden[-1]
    scale = 1.0 if data.units == "bits" else 1.0 / math.log(2.0)

    def ratio(act: str, layer: str) -> float | None:
        entry = summary[act]["layers"][layer]
        if entry["peak_I_XT"] in (None, 0) or entry["final_I_XT"] is None:
            return None
        return entry["final_I_XT"] / entry["peak_I_XT"]

    if "tanh" in summary:
        value = ratio("tanh", last)
        checks["tanh_last_hidden_compresses"] = {
            "rule": f"tanh {last}: final I(X;T) <= 0.5 x peak", "value": value,
            "passed": value is not None and value <= 0.5}
    if "relu" in summary:
        ratios = {layer: ratio("relu", layer) for layer in hidden}
        worst = min((r for r in ratios.values() if r is not None), default=None)
        checks["relu_hidden_do_not_compress"] = {
            "rule": "relu hidden layers: final I(X;T) >= 0.9 x peak", "value": worst, "per_layer": ratios,
            "passed": worst is not None and worst >= 0.9}
    for act in ("tanh", "relu"):
        if act not in summary:
            continue
        ity = summary[act]["layers"][last]["final_I_TY"]
        ity_bits = None if ity is None else ity * scale
        checks[f"{act}_last_hidden_I_TY"] = {
            "rule": f"{act} {last}: final I(T;Y) >= 0.95 bits", "value": ity_bits,
            "passed": ity_bits is not None and ity_bits >= 0.95}
        acc = summary[act]["test_accuracy"]
        checks[f"{act}_test_accuracy"] = {"rule": f"{act}: test accuracy >= 0.95", "value": acc,
                                          "passed": acc is not None and acc >= 0.95}
    if data.config.dataset != "szt12":
        for entry in checks.values():
            entry["note"] = "stated for the szt12 task; informative only on this data set"
    return checks


# ---------------------------------------------------------------------------------------- outputs
def make_figures(data: RunData) -> dict[str, Any]:
    """The run's figures: ``{file name: matplotlib Figure}``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from infolens import viz

    frame = data.result.select(estimator=data.estimator_label).to_frame()
    acts = list(data.config.activations)
    labels = data.layer_labels
    figures: dict[str, Any] = {}

    fig, axes = plt.subplots(1, len(acts), figsize=(6.4 * len(acts), 5.0), squeeze=False)
    for ax, act in zip(axes[0], acts, strict=True):
        viz.plot_information_plane(frame, activation=act, ax=ax, layer_labels=labels)
    fig.suptitle(f"Information plane, {data.estimator_label}", fontsize="medium")
    figures["information_plane.png"] = fig

    fig, axes = plt.subplots(2, len(acts), figsize=(6.0 * len(acts), 7.6), squeeze=False)
    for j, act in enumerate(acts):
        viz.plot_mi_vs_epoch(frame, "I_XT", activation=act, ax=axes[0, j], layer_labels=labels)
        viz.plot_mi_vs_epoch(frame, "I_TY", activation=act, ax=axes[1, j], layer_labels=labels,
                             legend=False)
    fig.tight_layout()
    figures["mi_vs_epoch.png"] = fig

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    viz.plot_metrics(data.metrics, ("train_accuracy", "test_accuracy"), activations=acts, ax=ax)
    figures["accuracy.png"] = fig

    scores = data.result.select(estimator=data.estimator_label).compression_scores()
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    viz.plot_compression_scores(scores, layer_labels=labels, ax=ax)
    figures["compression.png"] = fig
    return figures


def build_outputs(out: str | os.PathLike[str], *, timings: Mapping[str, float] | None = None,
                  log: Log | None = None, sections: Sequence[Callable[[Report, RunData], None]] | None = None,
                  recompute_sensitivity: bool = False) -> dict[str, Any]:
    """(Re)build figures, ``report.html`` and ``summary.json`` of a run directory from its store.

    The sensitivity table is computed once from the weight snapshots and cached in
    ``sensitivity.json`` (``recompute_sensitivity=True`` redoes it). ``timings`` of a fresh run
    replace the stored ones. Returns the summary.
    """
    say = log or (lambda message: None)
    paths = _Paths(Path(out))
    if not paths.config.is_file():
        raise fail("out", "build_outputs", "a run directory with config.json", str(out))
    config = PlaneRunConfig.from_dict(read_json(paths.config, _FN))
    if config.sensitivity and (recompute_sensitivity or not paths.sensitivity.is_file()):
        say("Estimator sensitivity: re-estimating the recorded epochs under other estimators ...")
        t0 = time.perf_counter()
        compute_sensitivity(paths.root, log=say)
        timings = {**(timings or {}), "sensitivity": time.perf_counter() - t0}
    data = load_run(paths.root)
    if timings:
        data.timings.update(timings)
    t0 = time.perf_counter()
    figures = make_figures(data)
    report = Report(f"infolens: information plane of the reference network on {data.config.dataset}")
    pngs: dict[str, bytes] = {}
    for name, fig in figures.items():
        pngs[name] = _save_png(fig, paths.root / name)
    data.extras["pngs"] = pngs
    for section in (SECTIONS if sections is None else sections):
        section(report, data)
    data.timings["figures_and_report"] = time.perf_counter() - t0
    summary = summarize(data)
    summary["files"] = {name: str(paths.root / name) for name in
                        ("report.html", "summary.json", "store.sqlite", *sorted(pngs))}
    _timings_section(report, data)
    report.write(paths.report)
    _write_json(paths.summary, summary)
    say(f"Wrote {paths.report} and {paths.summary}.")
    return summary


def format_summary(summary: Mapping[str, Any]) -> str:
    """A few plain lines for the terminal: accuracy, last-hidden-layer numbers, checks, files."""
    lines = []
    acts = [k for k, v in summary.items() if isinstance(v, dict) and "layers" in v]
    for act in acts:
        entry = summary[act]
        layers = list(entry["layers"].items())
        name, last = layers[-2] if len(layers) > 1 else layers[-1]
        acc = entry["test_accuracy"]
        lines.append(f"{act}: test accuracy {acc:.3f}; {name} ({last['width']} units): I(X;T) peak "
                     f"{last['peak_I_XT']:.2f} -> final {last['final_I_XT']:.2f}, final I(T;Y) "
                     f"{last['final_I_TY']:.3f} {summary['estimator']['units']}")
    for check in summary.get("checks", {}).values():
        value = "n/a" if check["value"] is None else f"{check['value']:.3f}"
        lines.append(f"  [{'pass' if check['passed'] else 'FAIL'}] {check['rule']} (measured {value})")
    timings = summary.get("timings", {})
    if timings:
        shown = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()
                          if k not in ("epochs_trained", "recorded_epochs"))
        lines.append(f"timings: {shown}")
    if "files" in summary:
        lines.append(f"report: {summary['files']['report.html']}")
    return "\n".join(lines)


def _save_png(fig: Any, path: Path) -> bytes:
    import matplotlib.pyplot as plt

    from infolens.report.html import figure_png

    png = figure_png(fig, dpi=110)
    atomic_write_bytes(path, png)
    plt.close(fig)
    return png


# ---------------------------------------------------------------------------------------- sections
CAVEAT = (
    "What I(X;T) means here. The network is deterministic, so T = f(X). For the {n} distinct inputs, "
    "the true I(X;T) equals H(T), and with real-valued activations that is log2({n}) = {log_n:.2f} bits "
    "for almost every weight setting: nothing ever 'compresses'. The numbers plotted as I(X;T) are the "
    "entropy of the layer after quantization by the estimator ({label}): they count how many "
    "distinguishable cells the inputs occupy at that resolution. A falling I(X;T) therefore means "
    "the activations crowd into fewer cells (for tanh: units saturating near -1 and +1), a statement "
    "about the geometry of the representation relative to the bin size, not about information lost "
    "in the strict sense. Change the bin size or the estimator and the picture can change; the "
    "estimator-sensitivity table below shows by how much."
)


def _overview_section(report: Report, data: RunData) -> None:
    cfg = data.config
    n = int(len(data.split.y))
    report.add_heading("Run and estimator")
    report.add_table([
        {"setting": "data set", "value": f"{cfg.dataset} ({n} samples; plane estimated on all of them)"},
        {"setting": "network", "value": "-".join(str(w) for w in data.widths)},
        {"setting": "activations", "value": ", ".join(cfg.activations)},
        {"setting": "seeds", "value": ", ".join(str(s) for s in cfg.seeds)},
        {"setting": "training", "value": f"{cfg.epochs} epochs, Adam lr={cfg.lr:g}, batch {cfg.batch_size}, "
                                         "all members trained together as one stacked model"},
        {"setting": "estimator", "value": data.estimator_label},
        {"setting": "estimator settings", "value": json.dumps(dict(cfg.estimator_params))},
        {"setting": "recorded epochs", "value": f"{len(data.result.epochs)} ({cfg.schedule} schedule, "
                                                f"{cfg.points_per_decade} per decade)"},
        {"setting": "units", "value": data.units},
    ], "Settings of this run.")
    report.add_text(CAVEAT.format(n=n, log_n=math.log2(n), label=data.estimator_label), css_class="note")
    if cfg.estimator == "binning" and "bin_width" in cfg.estimator_params:
        report.add_text(
            f"The bins are {cfg.estimator_params['bin_width']:.4g} wide, the width of 30 equal bins over "
            "tanh's range [-1, 1] as in Shwartz-Ziv & Tishby (2017), and the same width is used for ReLU, "
            "whose activations are unbounded. Thirty bins spread over each layer's own range instead "
            "widen as ReLU activations grow, which reads as compression (see the sensitivity table).")


def _checks_section(report: Report, data: RunData) -> None:
    summary = summarize(data)
    rows = []
    for check in summary["checks"].values():
        value = check["value"]
        rows.append({"check": check["rule"], "measured": value if value is not None else math.nan,
                     "result": "pass" if check["passed"] else "FAIL"})
    report.add_heading("Expected outcome")
    report.add_text("From the issue: tanh compresses its deep layers (the last hidden layer ends at no more "
                    "than half of its peak I(X;T)); ReLU hidden layers do not (they end at 0.9 of their "
                    "peak or more); both reach I(T;Y) >= 0.95 bits in the last hidden layer and test "
                    "accuracy >= 0.95. Ratios are final / peak I(X;T), means over seeds.")
    report.add_table(rows, "Checks evaluated on this run (summary.json, key 'checks').")
    table = []
    for act in data.config.activations:
        entry = summary[act]
        for name, layer in entry["layers"].items():
            table.append({"activation": act, "layer": data.layer_labels[name], "name": name,
                          "width": layer["width"], f"peak I(X;T) [{data.units}]": layer["peak_I_XT"],
                          f"final I(X;T) [{data.units}]": layer["final_I_XT"],
                          "final / peak": (layer["final_I_XT"] / layer["peak_I_XT"]
                                           if layer["peak_I_XT"] else math.nan),
                          f"final I(T;Y) [{data.units}]": layer["final_I_TY"]})
        table.append({"activation": act, "layer": "test accuracy", "name": "",
                      "width": None, f"peak I(X;T) [{data.units}]": None,
                      f"final I(X;T) [{data.units}]": None, "final / peak": None,
                      f"final I(T;Y) [{data.units}]": entry["test_accuracy"]})
    report.add_table(table, "Per layer, means over seeds (summary.json). The last row of each activation "
                     "gives its mean test accuracy in the last column.")


def _plane_section(report: Report, data: RunData) -> None:
    pngs = data.extras["pngs"]
    report.add_heading("Information plane")
    report.add_png(pngs["information_plane.png"],
                   "Each layer's trajectory, mean over seeds; points coloured by epoch (log scale), the ring "
                   "marks epoch 0, the grey band is plus or minus one standard deviation over seeds, dotted "
                   "lines join the layers at a few common epochs.")
    report.add_heading("I(X;T) and I(T;Y) against epoch")
    report.add_png(pngs["mi_vs_epoch.png"], "Mean over seeds with a plus or minus one standard deviation "
                   "band; epoch axis symmetric-log.")
    report.add_heading("Accuracy")
    report.add_png(pngs["accuracy.png"], "Train (solid) and test (dashed) accuracy at the recorded epochs, "
                   "mean over seeds with a plus or minus one standard deviation band.")


def _compression_section(report: Report, data: RunData) -> None:
    result = data.result.select(estimator=data.estimator_label)
    report.add_heading("Compression scores and phases")
    report.add_text("Compression score = 1 - final I(X;T) / peak I(X;T) per seed (3-point moving average), "
                    "mean over seeds with a Student-t 95% interval; a layer 'compresses' when the score "
                    "exceeds 0.05. The phase table reads the seed-mean curve: fitting ends at the peak of "
                    "I(X;T); compression runs from there to the end when I(X;T) falls by more than 5%.")
    report.add_png(data.extras["pngs"]["compression.png"], "Compression score per layer with 95% intervals "
                   "over seeds (none with one seed).")
    scores = result.compression_scores()
    scores = scores.assign(layer=scores["layer"].map(data.layer_labels))
    report.add_table(scores.drop(columns=["estimator"]), "Compression scores.")
    phases = result.phases()
    phases = phases.assign(layer=phases["layer"].map(data.layer_labels))
    keep = ["activation", "layer", "fitting_end_epoch", "compresses", "compression_start_epoch",
            "final_epoch", "peak_I_XT", "final_I_XT", "relative_drop", "I_TY_at_peak", "final_I_TY",
            "I_TY_gain"]
    report.add_table(phases[keep], f"Phases of the seed-mean curves ({data.units}).")
    dpi = result.dpi_violations(tol=0.05)
    report.add_text(f"Data-processing check: {len(dpi)} of {len(result)} (seed, epoch, layer, quantity) "
                    "points have a deeper layer estimated above the layer before it by more than 0.05 "
                    f"{data.units}. The true quantities cannot do that; such excesses measure estimator "
                    "error.")


def _sensitivity_section(report: Report, data: RunData) -> None:
    report.add_heading("Estimator sensitivity")
    if data.sensitivity is None or len(data.sensitivity) == 0:
        report.add_text("Not computed for this run (sensitivity disabled).")
        return
    frame = data.sensitivity
    table = frame.pivot_table(index=["activation", "layer"], columns="estimator", values="compression_score",
                              sort=False).reset_index()
    table["layer"] = table["layer"].map(data.layer_labels)
    order = [c for c in data.sensitivity_settings if c in table.columns]
    table = table[["activation", "layer", *order]]
    report.add_text("The same activations (rebuilt from the weights saved at every recorded epoch) "
                    "re-estimated under other estimators. Each cell is the compression score, "
                    "1 - final / peak I(X;T), mean over seeds; above 0.05 the layer would be said to "
                    "compress. Where columns disagree, the conclusion belongs to the estimator, not to the "
                    "network.")
    cfg = data.config
    report.add_table(table, "Compression score by estimator (columns) for each activation and layer (rows). "
                     f"KDE and KSG columns use seed {cfg.seeds[0]} only, at {cfg.costly_epochs} of the "
                     "recorded epochs.", float_format="{:.2f}")
    agree = frame.pivot_table(index=["activation", "layer"], columns="estimator", values="compresses",
                              aggfunc="first", sort=False)
    counts = [{"estimator": label, "layers compressing (tanh)": int(agree.loc["tanh", label].sum())
               if "tanh" in agree.index.get_level_values(0) and label in agree else None,
               "layers compressing (relu)": int(agree.loc["relu", label].sum())
               if "relu" in agree.index.get_level_values(0) and label in agree else None}
              for label in order]
    report.add_table(counts, "Number of layers (output included) that compress, per estimator.")


def _probes_section(report: Report, data: RunData) -> None:
    """Linear-probe accuracy by depth and a 3-D map of the last hidden layer, at the final epoch.

    Probes (:func:`infolens.probes.probe_layers`) are fitted on the held-out test inputs of the
    first seed's network of each activation; the map is the PCA of the last hidden layer on all
    inputs (:func:`infolens.embedding.embed`), drawn as an interactive 3-D scatter.
    """
    import matplotlib.pyplot as plt
    import torch

    from infolens.embedding import embed
    from infolens.models import StackedMLP
    from infolens.probes import probe_layers
    from infolens.store import load_checkpoint

    files = sorted((data.root / "snapshots").glob("epoch_*.pt"))
    if not files:
        return
    cfg, split = data.config, data.split
    members = cfg.members
    model = StackedMLP(len(members), data.widths, [a for a, _ in members], [s for _, s in members])
    state = load_checkpoint(files[-1])
    model.load_state_dict(state["model"])
    with torch.no_grad():
        _, acts = model.forward_with_activations(torch.as_tensor(split.x, dtype=torch.float32))
    seed, epoch = cfg.seeds[0], int(state["epoch"])
    report.add_heading("Probes and embeddings")
    report.add_text(f"Each layer of the seed-{seed} network of each activation at epoch {epoch}, read as an "
                    "encoder: a linear probe (softmax regression) predicts the label from the layer alone, "
                    f"fitted and scored on splits of the {len(split.y_test)} held-out test inputs. A layer "
                    "is flagged redundant when its accuracy gain over the best earlier layer is within "
                    "noise. The probe's cross-entropy gives a lower bound on I(T;Y).")
    rows = []
    n_acts = len(cfg.activations)
    fig, axes = plt.subplots(1, n_acts, figsize=(5.2 * n_acts, 3.6), squeeze=False)
    for ax, act in zip(axes[0], cfg.activations, strict=True):
        net = model.member(members.index((act, seed)))
        probes = probe_layers(net, split.x_test, split.y_test, units=data.units)
        probes.plot(ax=ax)
        ax.set_title(f"{act}: probe accuracy by depth", fontsize="medium")
        for record in probes.to_frame().to_dict(orient="records"):
            rows.append({"activation": act, "layer": data.layer_labels.get(record["layer"], record["layer"]),
                         "width": record["dim"], "accuracy": record["accuracy"],
                         "accuracy_low": record["accuracy_low"], "accuracy_high": record["accuracy_high"],
                         f"I(T;Y) lower bound [{data.units}]": record["mi_lower_bound"],
                         "redundant": record["redundant"]})
    fig.tight_layout()
    report.add_png(_save_png(fig, data.root / "probes.png"), "Probe accuracy by depth with 95% intervals.")
    report.add_table(rows, "Linear probes per layer ('input' is the raw input).")
    last = len(data.hidden_layers) - 1
    name = data.layer_labels[data.hidden_layers[-1]]
    for act in cfg.activations:
        layer = acts[last][members.index((act, seed))].numpy()
        if layer.shape[1] < 3:
            report.add_text(f"{act}: the last hidden layer has {layer.shape[1]} units; no 3-D view.")
            continue
        emb = embed(layer, method="pca", dims=3, labels=split.y)
        report.add_scatter3d(emb.coords, split.y,
                             title=f"{act}: {name} at epoch {epoch}, seed {seed}, PCA of all {len(split.y)} "
                             f"inputs coloured by class (k-NN accuracy {emb.knn_accuracy:.3f})")


def _timings_section(report: Report, data: RunData) -> None:
    t = data.timings
    if not t:
        return
    report.add_heading("Timings")
    rows = [{"stage": k.replace("_", " "), "seconds": float(v)} for k, v in t.items()
            if k not in ("epochs_trained", "recorded_epochs")]
    if t.get("training"):
        rows.append({"stage": "recording / training", "seconds": t.get("recording", 0.0) / t["training"]})
    report.add_table(rows, "Wall-clock seconds of this session (the last row is a ratio). Recording = "
                     "forward pass on all inputs, estimation, metrics, weight snapshot and the store "
                     "transaction; estimation is the part spent in the estimator.")
    report.add_text(f"Files in {data.root.name}/: report.html, summary.json, store.sqlite (SQLite: runs, "
                    "measurements, metrics, epochs), checkpoint.pt, snapshots/, sensitivity.json and the PNG "
                    "figures. Rebuild this report with: infolens report " + str(data.root))


#: The report's sections in order; each is ``section(report, data)``. Append to add a section.
SECTIONS: list[Callable[[Report, RunData], None]] = [
    _overview_section,
    _checks_section,
    _plane_section,
    _compression_section,
    _sensitivity_section,
    _probes_section,
]
