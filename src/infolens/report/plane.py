"""The main job's report, built from a run directory's stored results alone.

:func:`build_report` reads ``config.json``, ``store.sqlite`` (the recorded plane and metrics) and
what :func:`infolens.experiments.plane.analyze` stored (``summary.json``, ``analysis.json``,
``sensitivity.json``, ``probes.json``, ``maps.npz``), draws the figures and writes them and
``report.html``. It never trains, runs a network or estimates: a report takes seconds to rebuild.
Each section is ``section(report, shown)`` and depends on nothing but ``shown``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infolens._json import dumps, read_json
from infolens._validation import fail
from infolens.report.html import Report, atomic_write_bytes, figure_png

__all__ = ["SECTIONS", "Shown", "build_report", "format_summary", "read_shown"]

Log = Callable[[str], None]
_FN = "build_report"


@dataclass
class Shown:
    """What the report shows: the stored run (store and analysis files), read once."""

    data: Any                                  # infolens.experiments.plane.analysis.RunData
    summary: dict[str, Any]
    tables: dict[str, Any]
    probes: dict[str, Any]
    maps: dict[str, Any]
    sensitivity: dict[str, Any] | None = None
    pngs: dict[str, bytes] = field(default_factory=dict)

    @property
    def config(self) -> Any:
        return self.data.config

    @property
    def units(self) -> str:
        return self.data.units

    @property
    def layer_labels(self) -> dict[str, str]:
        """``layers.i`` -> ``"L{i+1} (width)"``; the output layer is ``"out (C, softmax)"``."""
        layers, widths = self.data.layers, self.data.widths
        last = len(layers) - 1
        return {name: f"out ({widths[i + 1]}, softmax)" if i == last else f"L{i + 1} ({widths[i + 1]})"
                for i, name in enumerate(layers)}


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise fail("run_dir", _FN, f"a run directory with {path.name} ({what}; run `infolens analyze "
                   f"{path.parent}` to store it)", str(path.parent))
    return read_json(path, _FN)


def read_shown(run_dir: str | os.PathLike[str]) -> Shown:
    """Read everything the report shows from ``run_dir`` (no computation)."""
    import numpy as np

    from infolens.experiments.plane.analysis import load_run

    data = load_run(run_dir, _FN)
    root = data.root
    maps: dict[str, Any] = {}
    if (root / "maps.npz").is_file():
        with np.load(root / "maps.npz") as stored:
            maps = {key: stored[key] for key in stored.files}
    sensitivity = None
    if data.config.sensitivity:
        sensitivity = _read_json(root / "sensitivity.json", "the sensitivity table")
    return Shown(data=data, summary=_read_json(root / "summary.json", "the summary"),
                 tables=_read_json(root / "analysis.json", "compression and phases"),
                 probes=_read_json(root / "probes.json", "the probes"), maps=maps, sensitivity=sensitivity)


def build_report(run_dir: str | os.PathLike[str], *, log: Log | None = None) -> Path:
    """Draw the figures and write ``report.html`` of a run directory from its stored results."""
    start = time.perf_counter()
    shown = read_shown(run_dir)
    root = shown.data.root
    for name, fig in make_figures(shown).items():
        shown.pngs[name] = _save_png(fig, root / name)
    report = Report(f"infolens: information plane of the reference network on {shown.config.dataset}")
    for section in SECTIONS:
        section(report, shown)
    path = report.write(root / "report.html")
    if log is not None:
        log(f"Wrote {path} ({time.perf_counter() - start:.1f} s).")
    return path


def _save_png(fig: Any, path: Path) -> bytes:
    import matplotlib.pyplot as plt

    png = figure_png(fig, dpi=110)
    atomic_write_bytes(path, png)
    plt.close(fig)
    return png


def _frame(records: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame.from_records(records)


def make_figures(shown: Shown) -> dict[str, Any]:
    """The run's figures: ``{file name: matplotlib Figure}`` (store and stored tables only)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from infolens import viz

    data = shown.data
    frame = _plane_frame(shown)
    acts = list(shown.config.activations)
    labels = shown.layer_labels
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

    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    viz.plot_compression_scores(_frame(shown.tables["compression_scores"]), layer_labels=labels, ax=ax)
    figures["compression.png"] = fig

    if shown.probes.get("probes"):
        n_acts = len(acts)
        fig, axes = plt.subplots(1, n_acts, figsize=(5.2 * n_acts, 3.6), squeeze=False)
        for ax, act in zip(axes[0], acts, strict=True):
            _probe_report(shown, act).plot(ax=ax)
            ax.set_title(f"{act}: probe accuracy by depth", fontsize="medium")
        fig.tight_layout()
        figures["probes.png"] = fig
    return figures


def _probe_report(shown: Shown, act: str) -> Any:
    from infolens.report.probe import probe_report

    return probe_report(shown.probes["probes"][act])


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


def _overview_section(report: Report, shown: Shown) -> None:
    cfg, data = shown.config, shown.data
    n = int(shown.probes["n_samples"])
    report.add_heading("Run and estimator")
    report.add_table([
        {"setting": "data set", "value": f"{cfg.dataset} ({n} samples; plane estimated on all of them)"},
        {"setting": "network", "value": "-".join(str(w) for w in data.widths)},
        {"setting": "activations", "value": ", ".join(cfg.activations)},
        {"setting": "seeds", "value": ", ".join(str(s) for s in cfg.seeds)},
        {"setting": "training", "value": f"{cfg.epochs} epochs, Adam lr={cfg.lr:g}, batch {cfg.batch_size}, "
                                         "all members trained together as one stacked model"},
        {"setting": "estimator", "value": data.estimator_label},
        {"setting": "estimator settings", "value": dumps(dict(cfg.estimator_params), indent=None)},
        {"setting": "recorded epochs", "value": f"{shown.tables['recorded_epochs']} ({cfg.schedule} "
                                                f"schedule, {cfg.points_per_decade} per decade)"},
        {"setting": "units", "value": shown.units},
    ], "Settings of this run.")
    report.add_text(CAVEAT.format(n=n, log_n=math.log2(n), label=data.estimator_label), css_class="note")
    caveat = cfg.layer_estimator.caveat  # the table of plane estimators says what to add
    if caveat:
        report.add_text(caveat)


def _checks_section(report: Report, shown: Shown) -> None:
    summary, units = shown.summary, shown.units
    rows = [{"check": check["rule"], "measured": check["value"] if check["value"] is not None else math.nan,
             "result": "pass" if check["passed"] else "FAIL"} for check in summary["checks"].values()]
    report.add_heading("Expected outcome")
    report.add_text("From the issue: tanh compresses its deep layers (the last hidden layer ends at no more "
                    "than half of its peak I(X;T)); ReLU hidden layers do not (they end at 0.9 of their "
                    "peak or more); both reach I(T;Y) >= 0.95 bits in the last hidden layer and test "
                    "accuracy >= 0.95. Ratios are final / peak I(X;T), means over seeds.")
    report.add_table(rows, "Checks evaluated on this run (summary.json, key 'checks').")
    table = []
    labels = shown.layer_labels
    for act in shown.config.activations:
        entry = summary[act]
        for name, layer in entry["layers"].items():
            peak, final = layer["peak_I_XT"], layer["final_I_XT"]
            table.append({"activation": act, "layer": labels[name], "name": name,
                          "width": layer["width"], f"peak I(X;T) [{units}]": peak,
                          f"final I(X;T) [{units}]": final,
                          "final / peak": final / peak if peak and final is not None else math.nan,
                          f"final I(T;Y) [{units}]": layer["final_I_TY"]})
        table.append({"activation": act, "layer": "test accuracy", "name": "",
                      "width": None, f"peak I(X;T) [{units}]": None,
                      f"final I(X;T) [{units}]": None, "final / peak": None,
                      f"final I(T;Y) [{units}]": entry["test_accuracy"]})
    report.add_table(table, "Per layer, means over seeds (summary.json). The last row of each activation "
                     "gives its mean test accuracy in the last column.")


def _plane_frame(shown: Shown) -> Any:
    """The run's plane measurements under its own estimator (a tidy frame)."""
    data = shown.data
    return data.result.select(estimator=data.estimator_label).to_frame()


def _plane_section(report: Report, shown: Shown) -> None:
    from infolens.report.interactive import information_plane_figure, mi_vs_epoch_figure

    frame, labels = _plane_frame(shown), shown.layer_labels
    estimator = f"estimator {shown.data.estimator_label}, {shown.units}"
    report.add_heading("Information plane")
    report.add_plotly(information_plane_figure(
        frame, title=f"Information plane ({estimator}; mean over seeds)", units=shown.units,
        layer_labels=labels),
        "Each layer's trajectory (faint) and the layers at the slider's epoch (large markers, joined in "
        "depth order); Play runs through the recorded epochs. Hover a point for the layer, the epoch and "
        "both quantities as mean, standard deviation, minimum and maximum over seeds. The static figure "
        "is information_plane.png next to this report.")
    report.add_heading("I(X;T) and I(T;Y) against epoch")
    report.add_plotly(mi_vs_epoch_figure(
        frame, title=f"I(X;T) and I(T;Y) against epoch ({estimator})", units=shown.units,
        layer_labels=labels),
        "Mean over seeds with a plus or minus one standard deviation band; drag to zoom into a range, "
        "double-click to reset, click a legend entry to hide a layer. Static figure: mi_vs_epoch.png.")
    report.add_heading("Accuracy")
    report.add_png(shown.pngs["accuracy.png"], "Train (solid) and test (dashed) accuracy at the recorded "
                   "epochs, mean over seeds with a plus or minus one standard deviation band.")


def _compression_section(report: Report, shown: Shown) -> None:
    labels, tables = shown.layer_labels, shown.tables
    report.add_heading("Compression scores and phases")
    report.add_text("Compression score = 1 - final I(X;T) / peak I(X;T) per seed (3-point moving average), "
                    "mean over seeds with a Student-t 95% interval; a layer 'compresses' when the score "
                    "exceeds 0.05. The phase table reads the seed-mean curve: fitting ends at the peak of "
                    "I(X;T); compression runs from there to the end when I(X;T) falls by more than 5%.")
    report.add_png(shown.pngs["compression.png"], "Compression score per layer with 95% intervals "
                   "over seeds (none with one seed).")
    scores = _frame(tables["compression_scores"])
    scores = scores.assign(layer=scores["layer"].map(labels))
    report.add_table(scores.drop(columns=["estimator"]), "Compression scores.")
    phases = _frame(tables["phases"])
    phases = phases.assign(layer=phases["layer"].map(labels))
    keep = ["activation", "layer", "fitting_end_epoch", "compresses", "compression_start_epoch",
            "final_epoch", "peak_I_XT", "final_I_XT", "relative_drop", "I_TY_at_peak", "final_I_TY",
            "I_TY_gain"]
    report.add_table(phases[keep], f"Phases of the seed-mean curves ({shown.units}).")
    report.add_text(f"Data-processing check: {tables['dpi_violations']} of {tables['points']} (seed, epoch, "
                    "layer, quantity) points have a deeper layer estimated above the layer before it by more "
                    f"than 0.05 {shown.units}. The true quantities cannot do that; such excesses measure "
                    "estimator error.")


def _sensitivity_section(report: Report, shown: Shown) -> None:
    report.add_heading("Estimator sensitivity")
    if not shown.sensitivity or not shown.sensitivity["rows"]:
        report.add_text("Not computed for this run (sensitivity disabled).")
        return
    frame = _frame(shown.sensitivity["rows"])
    table = frame.pivot_table(index=["activation", "layer"], columns="estimator", values="compression_score",
                              sort=False).reset_index()
    table["layer"] = table["layer"].map(shown.layer_labels)
    order = [c for c in shown.sensitivity["settings"] if c in table.columns]
    table = table[["activation", "layer", *order]]
    report.add_text("The same activations (rebuilt from the weights saved at every recorded epoch) "
                    "re-estimated under other estimators. Each cell is the compression score, "
                    "1 - final / peak I(X;T), mean over seeds; above 0.05 the layer would be said to "
                    "compress. Where columns disagree, the conclusion belongs to the estimator, not to the "
                    "network.")
    cfg = shown.config
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


def _probes_section(report: Report, shown: Shown) -> None:
    """Linear-probe accuracy by depth and a 3-D map of the last hidden layer, at the final epoch."""
    stored = shown.probes
    if not stored.get("probes"):
        return
    seed, epoch, units = stored["seed"], stored["epoch"], shown.units
    report.add_heading("Probes and embeddings")
    report.add_text(f"Each layer of the seed-{seed} network of each activation at epoch {epoch}, read as an "
                    "encoder: a linear probe (softmax regression) predicts the label from the layer alone, "
                    f"fitted and scored on splits of the {stored['n_test']} held-out test inputs. A layer "
                    "is flagged redundant when its accuracy gain over the best earlier layer is within "
                    "noise. The probe's cross-entropy gives a lower bound on I(T;Y).")
    rows = []
    labels = shown.layer_labels
    for act in shown.config.activations:
        for record in _probe_report(shown, act).to_frame().to_dict(orient="records"):
            rows.append({"activation": act, "layer": labels.get(record["layer"], record["layer"]),
                         "width": record["dim"], "accuracy": record["accuracy"],
                         "accuracy_low": record["accuracy_low"], "accuracy_high": record["accuracy_high"],
                         f"I(T;Y) lower bound [{units}]": record["mi_lower_bound"],
                         "redundant": record["redundant"]})
    report.add_png(shown.pngs["probes.png"], "Probe accuracy by depth with 95% intervals.")
    report.add_table(rows, "Linear probes per layer ('input' is the raw input).")
    name = labels[shown.data.hidden_layers[-1]]
    y = shown.maps["labels"]
    for act in shown.config.activations:
        entry = stored["maps"][act]
        if entry["knn_accuracy"] is None:
            report.add_text(f"{act}: the last hidden layer has {entry['units']} units; no 3-D view.")
            continue
        report.add_scatter3d(shown.maps[f"coords_{act}"], y,
                             title=f"{act}: {name} at epoch {epoch}, seed {seed}, PCA of all {len(y)} "
                             f"inputs coloured by class (k-NN accuracy {entry['knn_accuracy']:.3f})")


def _timings_section(report: Report, shown: Shown) -> None:
    t = shown.summary.get("timings", {})
    if not t:
        return
    report.add_heading("Timings")
    rows = [{"stage": k.replace("_", " "), "seconds": float(v)} for k, v in t.items()
            if k not in ("epochs_trained", "recorded_epochs")]
    if t.get("training"):
        rows.append({"stage": "recording / training", "seconds": t.get("recording", 0.0) / t["training"]})
    report.add_table(rows, "Wall-clock seconds of the run (the last row is a ratio). Recording = "
                     "forward pass on all inputs, estimation, metrics, weight snapshot and the store "
                     "transaction; estimation is the part spent in the estimator.")
    root = shown.data.root
    report.add_text(f"Files in {root.name}/: report.html, summary.json, store.sqlite (SQLite: runs, "
                    "measurements, metrics, epochs), checkpoint.pt, snapshots/, analysis.json, "
                    "sensitivity.json, probes.json, maps.npz and the PNG figures. Rebuild this report with: "
                    "infolens report " + str(root))


#: The report's sections in order; each is ``section(report, shown)``. Append to add a section.
SECTIONS: list[Callable[[Report, Shown], None]] = [
    _overview_section,
    _checks_section,
    _plane_section,
    _compression_section,
    _sensitivity_section,
    _probes_section,
    _timings_section,
]
