"""The ``infolens probe`` report, built from the files the probe run stored.

:func:`build_probe_report` reads ``summary.json``, ``probes.json`` (the probe report's fields),
``pruning.csv``, ``maps.json`` and ``maps.npz`` (the coordinates of every map) of a probe run
directory, draws the figures and writes them and ``report.html``. It fits no probe, trains no
network and computes no embedding.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infolens._json import read_json
from infolens._validation import fail
from infolens.report.html import Report, atomic_write_bytes, figure_png

__all__ = ["MAP_KEY", "build_probe_report", "probe_report"]

_FN = "build_probe_report"
_METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def MAP_KEY(layer: str, method: str, dims: int) -> str:  # noqa: N802 (a key format, named as a constant)
    """The ``maps.npz`` key of one map's coordinates."""
    return f"map|{layer}|{method}|{dims}"


def _read(root: Path, name: str) -> Any:
    path = root / name
    if not path.is_file():
        raise fail("run_dir", _FN, f"a probe run directory with {name}", str(root))
    return read_json(path, _FN)


class _Stored:
    """A probe run directory's stored results, as the objects that draw themselves."""

    def __init__(self, root: Path) -> None:
        import numpy as np
        import pandas as pd

        from infolens.embedding import Embedding

        self.root = root
        self.summary = _read(root, "summary.json")
        self.probes = probe_report(_read(root, "probes.json"))
        self.maps_info = _read(root, "maps.json")
        self.pruning = pd.read_csv(root / "pruning.csv") if self.summary["pruning"] is not None else None
        with np.load(root / "maps.npz") as arrays:
            stored = {key: arrays[key] for key in arrays.files}
        labels = stored["labels"]
        self.embeddings = {}
        for row in self.summary["embeddings"]:
            key = (row["layer"], row["method"], int(row["dims"]))
            self.embeddings[key] = Embedding(coords=stored[MAP_KEY(*key)], method=key[1], dims=key[2],
                                             knn_accuracy=row["knn_accuracy"], labels=labels)
        self.sequence = {method: [Embedding(coords=stored[f"sequence|{method}|{i}"], method=method, dims=2,
                                            knn_accuracy=knn, labels=labels) for i, knn in enumerate(values)]
                         for method, values in self.maps_info["sequence_knn"].items()}


def probe_report(stored: Mapping[str, Any]) -> Any:
    """The :class:`~infolens.probes.ProbeReport` whose ``to_dict()`` was stored (fields only)."""
    from infolens.probes import ProbeReport

    names = ProbeReport.__dataclass_fields__
    return ProbeReport(**{k: _tupled(v) if isinstance(v, list) else v
                          for k, v in stored.items() if k in names})


def _tupled(value: list[Any]) -> tuple[Any, ...]:
    return tuple(_tupled(v) if isinstance(v, list) else v for v in value)


def make_figures(stored: _Stored) -> dict[str, Any]:
    """Matplotlib figures keyed by file stem."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figures: dict[str, Any] = {}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    stored.probes.plot(ax=axes[0])
    stored.probes.plot(ax=axes[1], quantity="information")
    fig.tight_layout()
    figures["probes"] = fig
    layers = list(dict.fromkeys(name for name, _, _ in stored.embeddings))
    for method in dict.fromkeys(m for _, m, _ in stored.embeddings):
        cols = min(4, len(layers))
        rows = math.ceil(len(layers) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.0 * rows), squeeze=False)
        for ax, name in zip(axes.flat, layers, strict=False):
            item = stored.embeddings[(name, method, 2)]
            item.plot(ax=ax, title=f"{name}  (k-NN {item.knn_accuracy:.2f})", point_size=3, legend=False)
            _bare(ax)
        for ax in list(axes.flat)[len(layers):]:
            ax.axis("off")
        fig.tight_layout()
        figures[f"embeddings_{method}"] = fig
    epochs = stored.summary["sequence_epochs"]
    for method, maps in stored.sequence.items():
        fig, axes = plt.subplots(1, len(maps), figsize=(2.8 * len(maps), 2.9), squeeze=False)
        for ax, epoch, item in zip(axes[0], epochs, maps, strict=True):
            item.plot(ax=ax, title=f"epoch {epoch} (k-NN {item.knn_accuracy:.2f})", point_size=3,
                      legend=False)
            _bare(ax)
        fig.tight_layout()
        figures[f"sequence_{method}"] = fig
    return figures


def _bare(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def _probes_section(report: Report, stored: _Stored, figures: Mapping[str, bytes]) -> None:
    probes, summary = stored.probes, stored.summary
    report.add_heading("Probes: what each layer keeps about the label", 2)
    report.add_text(
        f"A linear probe (softmax regression on standardised activations) per layer, fitted and scored "
        f"on {probes.n_samples} held-out samples over {probes.n_splits} stratified splits "
        f"({probes.test_size:.0%} test each); intervals are {probes.ci_level:.0%} corrected resampled-t "
        f"intervals. The information column is the probe's usable information H_V(Y) - cross-entropy "
        f"(H_V(Y): held-out cross-entropy of the training label marginal), a lower bound on I(T;Y) in "
        f"{probes.units} (H(Y) = {probes.entropy_y:.3f} {probes.units}). A layer is flagged redundant "
        "when the lower end of the interval of its accuracy gain over the best earlier layer is <= 0.")
    frame = probes.to_frame()
    cols = ["layer", "dim", "accuracy", "accuracy_low", "accuracy_high", "mi_lower_bound", "gain", "gain_low",
            "reference", "redundant", "C"]
    report.add_table(frame[cols], "Accuracy by depth.", float_format="{:.4f}")
    report.add_png(figures["probes"], "Probe accuracy (left) and the I(T;Y) lower bound (right) by depth; "
                   "circled: flagged redundant.")
    report.add_heading("Pruning the flagged layers", 3)
    pruning = summary["pruning"]
    if pruning is None:
        report.add_text("No layer was flagged redundant, so there was nothing to prune.")
    else:
        report.add_text(
            f"Every variant was fine-tuned for {pruning['epochs']} epochs with Adam (lr {pruning['lr']:g}), "
            f"averaged over {pruning['n_seeds']} seed(s), and scored on {pruning['n_test']} evaluation "
            "samples that the probes never saw. Cost = accuracy of the fine-tuned full network minus that "
            "of the variant, in points. 'identity': the block is replaced by nn.Identity; 'jump to head': "
            "the network stops before the block and a new linear head reads its input.")
        report.add_table(stored.pruning, "Pruning verification.", float_format="{:.4f}")
        checks = summary["checks"]
        holds = checks.get("flagged_cost_below_1_point") and checks.get("every_control_costs_more")
        verdict = "holds" if holds else "does not hold"
        cheapest = checks.get("min_control_cost_points")
        control_text = (f"cheapest control: {cheapest:.2f} points" if cheapest is not None
                        else "no unflagged layer to remove as a control")
        report.add_text(f"Expected outcome (flagged layers removed at a cost under 1 point; each unflagged "
                        f"layer removed alone costs more): {verdict} in this run "
                        f"(flagged: {checks['flagged_cost_points']:.2f} points; {control_text}).")
    report.add_heading("Maps of each layer", 3)
    report.add_text("Each layer's activations for a stratified subset of the probe set, mapped to 2-D and "
                    "coloured by class. k-NN: leave-one-out 10-nearest-neighbour class accuracy in the map "
                    "(and, in the table, in the activations themselves). t-SNE and UMAP keep neighbourhoods, "
                    "not distances between clusters. Colours: classes 0-9 (tab10 order).")
    for stem, png in figures.items():
        if stem.startswith("embeddings_"):
            report.add_png(png, f"{_METHOD_NAMES[stem.split('_', 1)[1]]} maps of every layer.")
    if summary["embeddings"]:
        report.add_table(summary["embeddings"], "k-NN accuracy of every map.", float_format="{:.3f}")
    highlight = stored.maps_info["highlight"]
    for (name, method, dims), item in stored.embeddings.items():
        if dims == 3 and (name in highlight or not highlight):
            report.add_scatter3d(item.coords, item.labels,
                                 title=f"{name}: {_METHOD_NAMES[method]} 3-D (k-NN {item.knn_accuracy:.3f})")
    _sequence_section(report, stored)
    for note in summary["notes"]:
        report.add_text(note, css_class="note")


def _sequence_section(report: Report, stored: _Stored) -> None:
    """The last block's 2-D maps across training, as an animation with an epoch slider."""
    from infolens.report.interactive import embedding_sequence_figure

    epochs = stored.summary["sequence_epochs"]
    for method, maps in stored.sequence.items():
        name = _METHOD_NAMES[method]
        report.add_plotly(embedding_sequence_figure(
            [m.coords for m in maps], epochs, maps[0].labels,
            title=f"The last block across training: {name} maps (k-NN accuracy at the last epoch "
                  f"{maps[-1].knn_accuracy:.2f})"),
            f"{name} map of the last block at each snapshot epoch, each aligned to the previous one; move "
            f"the slider or press Play to watch the classes separate. Static figure: sequence_{method}.png.")


def build_probe_report(run_dir: str | os.PathLike[str]) -> Path:
    """Draw the figures and write ``report.html`` of a probe run directory from its stored files."""
    import matplotlib.pyplot as plt

    root = Path(run_dir)
    stored = _Stored(root)
    pngs: dict[str, bytes] = {}
    for stem, fig in make_figures(stored).items():
        pngs[stem] = figure_png(fig)
        atomic_write_bytes(root / f"{stem}.png", pngs[stem])
        plt.close(fig)
    summary, config = stored.summary, stored.summary["config"]
    report = Report(f"infolens probe: {config['dataset']}")
    report.add_heading("Overview")
    report.add_text(
        f"RedundantMLP: {config['depth']} ReLU blocks of width {config['width']}, the input also fed into "
        f"blocks.{config['skip_to']}; trained {config['epochs']} epochs with Adam (lr {config['lr']:g}, "
        f"batch {config['batch_size']}). Accuracy on the evaluation set: {summary['test_accuracy']:.4f}.")
    _probes_section(report, stored, pngs)
    report.add_table([{"stage": k, "seconds": v} for k, v in summary["timings"].items()], "Timings.")
    return report.write(root / "report.html")
