"""The ``infolens probe`` experiment: layers as encoders, redundant layers, and maps of each layer.

:func:`run_probe` trains a deliberately redundant network (:class:`RedundantMLP`, a deep ReLU MLP
whose input also feeds a middle block through a skip connection) on MNIST-1D, then

1. probes every layer and the raw input with linear probes (:func:`infolens.probe_layers`) on a
   held-out *probe* set, giving accuracy by depth, the ``I(T;Y)`` lower bound and the layers whose
   gain is within noise (``redundant``);
2. verifies the flags by pruning (:meth:`infolens.ProbeReport.verify_pruning`): the flagged
   layers are removed together, and each unflagged layer is removed alone as a control; every
   variant, the full network included, gets the same brief fine-tuning, and accuracy is measured
   on a separate *evaluation* set;
3. maps each layer's activations to 2-D and 3-D (PCA, t-SNE, UMAP) with the k-NN class accuracy
   of each map, and the last hidden layer across training epochs as an aligned sequence.

It stores in its output directory ``probes.csv``, ``pruning.csv``, ``embeddings.csv``,
``summary.json``, ``probes.json`` and the maps (``maps.npz``, ``maps.json``); the report
(:mod:`infolens.report.probe`: PNG figures and ``report.html``, self-contained, 3-D maps
interactive) is built from those files alone.

The held-out half of the data is split in two (stratified, seeded): probes are fitted and scored
on one half, pruning accuracy is measured on the other, so the layers chosen by the probes are
not judged on the samples that chose them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from infolens._validation import check_choice, check_int, fail

__all__ = ["MAP_KEY", "ProbeRunConfig", "ProbeRunResult", "RedundantMLP", "run_probe", "write_outputs"]

DATASETS = ("mnist1d", "digits", "szt12")
METHODS = ("pca", "tsne", "umap")
Log = Callable[[str], None]


def MAP_KEY(layer: str, method: str, dims: int) -> str:  # noqa: N802 (a key format, named as a constant)
    """The ``maps.npz`` key of one map's coordinates."""
    return f"map|{layer}|{method}|{dims}"


class RedundantMLP(nn.Module):
    """A deep ReLU MLP with a skip connection from the input into a middle block.

    ``blocks.0`` maps the input to ``width`` units; ``blocks.1 .. blocks.{depth-1}`` are
    ``width -> width`` blocks (``nn.Sequential(nn.Linear, nn.ReLU)``); block ``skip_to`` receives
    its predecessor's output plus a linear map of the raw input (``skip``); ``head`` maps to the
    logits. The skip lets the middle block see the input directly, and the depth after it exceeds
    what MNIST-1D needs, so the network holds layers that add little: the ones the probes should
    flag. Every ``width -> width`` block can be replaced by ``nn.Identity`` for pruning.

    Parameters
    ----------
    n_in, n_classes : int
        Input features and classes.
    width : int
        Width of every block.
    depth : int
        Number of blocks (probed layers).
    skip_to : int
        Index of the block that also receives the input (1 <= skip_to < depth).
    """

    def __init__(self, n_in: int = 40, n_classes: int = 10, width: int = 128, depth: int = 7,
                 skip_to: int = 2) -> None:
        super().__init__()
        fn = "RedundantMLP"
        n_in = check_int("n_in", n_in, fn, minimum=1)
        n_classes = check_int("n_classes", n_classes, fn, minimum=2)
        width = check_int("width", width, fn, minimum=1)
        depth = check_int("depth", depth, fn, minimum=2)
        self.skip_to = check_int("skip_to", skip_to, fn, minimum=1, maximum=depth - 1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(n_in if i == 0 else width, width), nn.ReLU()) for i in range(depth))
        self.skip = nn.Linear(n_in, width)
        self.head = nn.Linear(width, n_classes)

    @property
    def layer_names(self) -> list[str]:
        """``["blocks.0", ..., "blocks.{depth-1}"]``: the probed layers, in depth order."""
        return [f"blocks.{i}" for i in range(len(self.blocks))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, n_classes)."""
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h + self.skip(x) if i == self.skip_to else h)
        return self.head(h)


@dataclass(frozen=True)
class ProbeRunConfig:
    """Settings of :func:`run_probe`.

    Parameters
    ----------
    dataset : {"mnist1d", "digits", "szt12"}
        For ``"mnist1d"``, ``n_samples`` are generated and split 50/50 into training and held-out
        data; the others use :func:`infolens.data.load` (80/20). The held-out part is halved into
        the probe set and the evaluation set.
    n_samples : int
        MNIST-1D samples generated.
    seed : int
        Seed of the data, the initial weights, the batch order and the splits.
    width, depth, skip_to : :class:`RedundantMLP` shape.
    epochs, lr, batch_size : Adam training of the network.
    n_splits : int
        Probe splits (the confidence intervals come from them).
    finetune_epochs, finetune_seeds : pruning check budget (every variant gets the same).
    methods : tuple of str
        Embedding methods; t-SNE and UMAP are skipped with a note when their extra is missing.
    embed_points : int
        Points of the probe set drawn (stratified) for the maps.
    tsne_3d_layers : int
        How many layers also get a 3-D t-SNE map, taken in the order: the last block, the input,
        the skip block (at most 3); 3-D t-SNE uses Barnes-Hut and is the slowest map. The report
        shows 3-D maps (interactive) for these three layers only; every layer's 3-D PCA k-NN
        accuracy is in the table.
    snapshots : int
        Training epochs (log-spaced, 0 and the last included) at which the last block is recorded
        for the aligned sequence of maps.
    """

    dataset: str = "mnist1d"
    n_samples: int = 16000
    seed: int = 0
    width: int = 128
    depth: int = 7
    skip_to: int = 2
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 128
    n_splits: int = 5
    finetune_epochs: int = 5
    finetune_seeds: int = 3
    methods: tuple[str, ...] = METHODS
    embed_points: int = 1000
    tsne_3d_layers: int = 2
    snapshots: int = 6

    @classmethod
    def quick(cls, **overrides: Any) -> ProbeRunConfig:
        """A smoke-test configuration (about a minute on 2 cores)."""
        settings: dict[str, Any] = {"n_samples": 4000, "epochs": 12, "width": 64, "finetune_epochs": 2,
                                    "finetune_seeds": 1, "methods": ("pca", "tsne"), "embed_points": 400,
                                    "tsne_3d_layers": 1, "snapshots": 3}
        settings.update(overrides)
        return cls(**settings)

    def validate(self) -> ProbeRunConfig:
        """Check every field; return self."""
        fn = "ProbeRunConfig"
        check_choice("dataset", self.dataset, DATASETS, fn)
        for name, minimum in (("n_samples", 100), ("seed", 0), ("width", 1), ("depth", 2), ("epochs", 1),
                              ("batch_size", 1), ("n_splits", 2), ("finetune_epochs", 0),
                              ("finetune_seeds", 1), ("embed_points", 20), ("tsne_3d_layers", 0),
                              ("snapshots", 2)):
            check_int(name, getattr(self, name), fn, minimum=minimum)
        check_int("skip_to", self.skip_to, fn, minimum=1, maximum=self.depth - 1)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise fail("lr", fn, "a float > 0", self.lr)
        if not self.methods or any(m not in METHODS for m in self.methods):
            raise fail("methods", fn, f"a non-empty tuple of {METHODS}", self.methods)
        return self


@dataclass(frozen=True, eq=False)
class ProbeRunResult:
    """Everything :func:`run_probe` computed (:func:`write_outputs` stores it for the report)."""

    config: ProbeRunConfig
    model: nn.Module
    probes: Any
    pruning: Any
    embeddings: Mapping[tuple[str, str, int], Any]
    sequence: Mapping[str, list[Any]]
    sequence_epochs: tuple[int, ...]
    embedding_rows: list[dict[str, Any]]
    test_accuracy: float
    history: list[dict[str, float]]
    checks: dict[str, Any]
    timings: dict[str, float]
    highlight: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def _log_epochs(epochs: int, count: int) -> list[int]:
    """``count`` distinct epochs from 0 to ``epochs``, log-spaced (0 and ``epochs`` included)."""
    values = {0, epochs}
    for v in np.geomspace(1, epochs, num=max(count - 1, 1)):
        values.add(int(round(v)))
    chosen = sorted(values)
    while len(chosen) > count:  # drop interior points closest to a neighbour
        gaps = [chosen[i + 1] - chosen[i - 1] for i in range(1, len(chosen) - 1)]
        chosen.pop(1 + int(np.argmin(gaps)))
    return chosen


def _data(config: ProbeRunConfig) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_probe, y_probe, x_eval, y_eval, n_classes)."""
    from sklearn.model_selection import train_test_split

    from infolens import data

    if config.dataset == "mnist1d":
        split = data.mnist1d(n_samples=config.n_samples, seed=config.seed, test_size=0.5)
    else:
        split = data.load(config.dataset, seed=config.seed)
    x_probe, x_eval, y_probe, y_eval = train_test_split(
        split.x_test, split.y_test, test_size=0.5, random_state=config.seed, stratify=split.y_test)
    return (split.x_train, split.y_train, x_probe, y_probe, x_eval, y_eval, split.n_classes)


def _stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    if size >= labels.shape[0]:
        return np.arange(labels.shape[0])
    from sklearn.model_selection import train_test_split

    index, _ = train_test_split(np.arange(labels.shape[0]), train_size=size, random_state=seed,
                                stratify=labels)
    return np.sort(index)


def run_probe(config: ProbeRunConfig | None = None, out: str | os.PathLike[str] | None = None, *,
              log: Log | None = None) -> ProbeRunResult:
    """Run the experiment (see the module notes); store its outputs in ``out`` when given
    (:func:`write_outputs`; :func:`infolens.jobs.run_probe` also builds the report)."""
    from infolens.embedding import embed, embed_sequence, knn_accuracy
    from infolens.layers import capture
    from infolens.probes import probe_layers
    from infolens.training import finetune

    config = (config or ProbeRunConfig()).validate()
    say = log or (lambda message: None)
    timings: dict[str, float] = {}
    notes: list[str] = []
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    x_train, y_train, x_probe, y_probe, x_eval, y_eval, n_classes = _data(config)
    lap("data")
    say(f"data: {config.dataset}, {len(y_train)} train, {len(y_probe)} probe, {len(y_eval)} evaluation")

    torch.manual_seed(config.seed)
    model = RedundantMLP(x_train.shape[1], int(n_classes), config.width, config.depth, config.skip_to)
    xt, yt = torch.as_tensor(x_train, dtype=torch.float32), torch.as_tensor(y_train, dtype=torch.long)
    subset = _stratified_subset(y_probe, config.embed_points, config.seed)
    x_map = torch.as_tensor(x_probe[subset], dtype=torch.float32)
    y_map = y_probe[subset]
    sequence_epochs = _log_epochs(config.epochs, config.snapshots)
    last_layer = model.layer_names[-1]
    frames: list[np.ndarray] = []

    def snapshot(epoch: int) -> None:
        if epoch in sequence_epochs:
            model.eval()
            with torch.no_grad(), capture(model, last_layer, flatten=True) as acts:
                model(x_map)
            frames.append(acts[last_layer].numpy().copy())

    losses = finetune(model, xt, yt, epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                      seed=config.seed, on_epoch=snapshot)
    history = [{"epoch": i + 1, "loss": loss} for i, loss in enumerate(losses)]
    test_accuracy = _accuracy(model, x_eval, y_eval)
    lap("training")
    say(f"trained {config.epochs} epochs: evaluation accuracy {test_accuracy:.4f}")

    probes = probe_layers(model, x_probe, y_probe, n_splits=config.n_splits, seed=config.seed)
    lap("probes")
    say(f"probes: redundant layers {list(probes.redundant)} ({probes.seconds:.1f} s)")

    pruning = None
    if [name for name in probes.redundant if name != "input"]:
        pruning = probes.verify_pruning(model, x_train, y_train, x_eval, y_eval,
                                        epochs=config.finetune_epochs, n_seeds=config.finetune_seeds,
                                        seed=config.seed, batch_size=config.batch_size)
        say(f"pruning: removing {list(pruning.pruned.removed)} costs {100 * pruning.cost:.2f} points")
    else:
        notes.append("No layer was flagged redundant, so no pruning check was run.")
    lap("pruning")

    model.eval()
    with torch.no_grad(), capture(model, model.layer_names, flatten=True) as acts:
        model(x_map)
    layer_maps: dict[str, np.ndarray] = {"input": x_map.numpy()}
    layer_maps.update({name: acts[name].numpy() for name in model.layer_names})
    embeddings: dict[tuple[str, str, int], Any] = {}
    rows: list[dict[str, Any]] = []
    highlight = _highlight_layers(list(layer_maps), model.layer_names[config.skip_to])
    three_d = set(highlight[:config.tsne_3d_layers])
    available = _available_methods(config.methods, notes)
    for name, values in layer_maps.items():
        raw_knn = knn_accuracy(values, y_map, k=10)
        for method in available:
            for dims in (2, 3):
                if method != "pca" and dims == 3 and not (method == "tsne" and name in three_d):
                    continue
                if method == "umap" and dims == 3:
                    continue
                start = time.perf_counter()
                result = embed(values, method, dims, labels=y_map, seed=config.seed)
                embeddings[(name, method, dims)] = result
                rows.append({"layer": name, "method": method, "dims": dims,
                             "knn_accuracy": result.knn_accuracy, "knn_accuracy_activations": raw_knn,
                             "seconds": round(time.perf_counter() - start, 3)})
    lap("embeddings")
    sequence: dict[str, list[Any]] = {}
    for method in [m for m in ("pca", "tsne") if m in available]:
        sequence[method] = embed_sequence(frames, method, 2, labels=y_map, seed=config.seed)
    lap("sequence")
    say(f"embeddings: {len(rows)} maps, sequence of {len(frames)} epochs")

    checks = _checks(pruning)
    result = ProbeRunResult(config=config, model=model, probes=probes, pruning=pruning, embeddings=embeddings,
                            sequence=sequence, sequence_epochs=tuple(sequence_epochs), embedding_rows=rows,
                            test_accuracy=test_accuracy, history=history, checks=checks, timings=timings,
                            highlight=highlight, notes=notes)
    summary = summarize(result)
    result.summary.update(summary)
    if out is not None:
        write_outputs(result, out)
    return result


def _available_methods(methods: Sequence[str], notes: list[str]) -> list[str]:
    import importlib.util

    kept = []
    for method in methods:
        module = {"tsne": "openTSNE", "umap": "umap"}.get(method)
        if module is not None and importlib.util.find_spec(module) is None:
            notes.append(f"{method} skipped: its optional package is missing "
                         f'(pip install "infolens[{method}]").')
            continue
        kept.append(method)
    return kept


def _highlight_layers(names: list[str], skip_layer: str) -> tuple[str, ...]:
    """The layers shown in 3-D, in order of preference: the last block, the input, the skip block."""
    return tuple(dict.fromkeys([names[-1], "input", skip_layer]))


def _accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(x, dtype=torch.float32))
    return float((logits.argmax(dim=1).numpy() == y).mean())


def _checks(pruning: Any) -> dict[str, Any]:
    """The outcome the issue expects: flagged layers go at < 1 point, any unflagged one costs more."""
    if pruning is None:
        return {"pruning_run": False}
    cost = 100.0 * pruning.cost
    controls = {k: 100.0 * v for k, v in pruning.control_costs().items()}
    return {
        "pruning_run": True,
        "flagged_cost_points": cost,
        "flagged_cost_below_1_point": bool(cost < 1.0),
        "control_cost_points": controls,
        "every_control_costs_more": bool(controls) and all(c > cost for c in controls.values()),
        "min_control_cost_points": min(controls.values()) if controls else None,
    }


def summarize(result: ProbeRunResult) -> dict[str, Any]:
    """The JSON summary: config, accuracy, probes, pruning, embeddings, checks, timings."""
    probes = result.probes
    table = [{"layer": name, "dim": probes.dims[i], "accuracy": probes.accuracy[i],
              "accuracy_ci": list(probes.accuracy_ci[i]), "mi_lower_bound_bits": probes.mi_lower_bound[i],
              "gain": probes.gain[i], "redundant": probes.is_redundant[i]}
             for i, name in enumerate(probes.layers)]
    return {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(result.config).items()},
        "test_accuracy": result.test_accuracy,
        "entropy_y_bits": probes.entropy_y,
        "probes": table,
        "redundant": list(probes.redundant),
        "probe_seconds": probes.seconds,
        "pruning": result.pruning.to_dict() if result.pruning is not None else None,
        "embeddings": result.embedding_rows,
        "sequence_epochs": list(result.sequence_epochs),
        "checks": result.checks,
        "timings": result.timings,
        "notes": result.notes,
    }


def write_outputs(result: ProbeRunResult, out: str | os.PathLike[str]) -> Path:
    """Store the results in ``out`` (CSV tables, ``summary.json``, ``probes.json``, the maps'
    coordinates in ``maps.npz`` and their k-NN scores in ``maps.json``), which the report
    (:func:`infolens.report.probe.build_probe_report`) reads; return ``out``."""
    import pandas as pd

    from infolens._atomic import atomic_write
    from infolens._json import write_json

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    result.probes.to_frame().to_csv(root / "probes.csv", index=False)
    if result.pruning is not None:
        result.pruning.to_frame().to_csv(root / "pruning.csv", index=False)
    pd.DataFrame(result.embedding_rows).to_csv(root / "embeddings.csv", index=False)
    arrays = {MAP_KEY(*key): item.coords for key, item in result.embeddings.items()}
    arrays.update({f"sequence|{method}|{i}": item.coords for method, maps in result.sequence.items()
                   for i, item in enumerate(maps)})
    labels = next(iter(result.embeddings.values())).labels if result.embeddings else np.zeros(0)
    atomic_write(root / "maps.npz", lambda handle: np.savez(handle, labels=labels, **arrays))
    write_json(root / "maps.json", {"highlight": list(result.highlight),
                                    "sequence_knn": {method: [item.knn_accuracy for item in maps]
                                                     for method, maps in result.sequence.items()}})
    write_json(root / "probes.json", result.probes.to_dict())
    write_json(root / "summary.json", result.summary or summarize(result))
    return root


def format_summary(summary: Mapping[str, Any]) -> str:
    """A plain-text accuracy-by-depth table and the pruning verdict, for the terminal."""
    lines = [f"evaluation accuracy {summary['test_accuracy']:.4f}",
             f"{'layer':<10} {'dim':>4} {'accuracy':>9} {'95% CI':>17} {'I(T;Y)>=':>9} {'gain':>7}"
             "  redundant"]
    for row in summary["probes"]:
        gain = f"{row['gain']:+.4f}" if row["gain"] is not None else "      -"
        low, high = row["accuracy_ci"]
        lines.append(f"{row['layer']:<10} {row['dim']:>4} {row['accuracy']:>9.4f} [{low:.4f}, {high:.4f}] "
                     f"{row['mi_lower_bound_bits']:>9.3f} {gain:>7}  {'yes' if row['redundant'] else ''}")
    pruning = summary.get("pruning")
    if pruning:
        lines.append(f"full network after fine-tuning: {pruning['full']['accuracy']:.4f}")
        for variant in [pruning["pruned"], *pruning["controls"]]:
            lines.append(f"  {variant['name']:<8} without {', '.join(variant['removed'])}: "
                         f"{variant['accuracy']:.4f} (cost {variant['cost_points']:+.2f} points)")
    return "\n".join(lines)
