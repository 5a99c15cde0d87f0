"""The report of an experiment preset run, built from its stored results alone.

:func:`build_experiment_report` reads ``summary.json`` and ``store.sqlite`` of a run written by
:func:`infolens.jobs.run_experiment`, draws the figures (PNG files beside the
report) and writes ``report.html``: the paper's claim next to our verdict table, the planes of
every estimator on the training and the test set (estimator and settings in every title), the
clustering curves of noisy networks, accuracy and timings. It never trains or estimates.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infolens._json import dumps, read_json
from infolens._validation import fail
from infolens.report.html import Report, atomic_write_bytes, figure_png

__all__ = ["build_experiment_report", "format_experiment_summary"]

Log = Callable[[str], None]
_FN = "build_experiment_report"


def _word(value: bool | None) -> str:
    return {True: "compresses", False: "does not compress", None: "undecided"}[value]


def _agreement(ours: bool | None, paper: bool | None) -> str:
    if paper is None:
        return "paper states no outcome"
    if ours is None:
        return "undecided here"
    return "agrees" if ours == paper else "DISAGREES"


def _interval(row: dict[str, Any]) -> str:
    if row["ratio_mean"] is None:
        return "n/a"
    return f"{row['ratio_mean']:.3f} [{row['ratio_low']:.3f}, {row['ratio_high']:.3f}]"


def format_experiment_summary(summary: dict[str, Any]) -> str:
    """A few lines for the terminal: the claim and one line per verdict."""
    exp = summary["experiment"]
    lines = [f"{exp['name']}: {exp['title']}", f"paper's claim: {exp['claim']}"]
    for row in summary["verdicts"]:
        lines.append(f"  {row['variant']:<16} {row['estimator']:<34} {row['split']:<5} "
                     f"{_word(row['compresses']):<17}"
                     f" ratio {_interval(row)} ({row['layer']}); paper: "
                     f"{'n/a' if row['paper_says'] is None else _word(row['paper_says'])} -> "
                     f"{_agreement(row['compresses'], row['paper_says'])}")
    t = summary.get("timings", {})
    if t:
        lines.append("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items() if isinstance(v, float)))
    lines.append(f"report: {summary['files']['report.html']}")
    return "\n".join(lines)


def build_experiment_report(run_dir: str | os.PathLike[str], *, log: Log | None = None) -> Path:
    """Draw the figures and write ``report.html`` of an experiment run directory."""
    from infolens.experiments.presets.analysis import load_experiment

    start = time.perf_counter()
    data = load_experiment(run_dir, _FN)
    root = data.root
    if not (root / "summary.json").is_file():
        raise fail("run_dir", _FN, "a run directory with summary.json (run `infolens analyze` on it)",
                   str(root))
    summary = read_json(root / "summary.json", _FN)
    exp = summary["experiment"]
    report = Report(f"infolens experiment {exp['name']}: {exp['title']}")
    _claim_section(report, summary)
    import matplotlib.pyplot as plt

    planes = _interactive_planes(data, summary)
    for name, (fig, caption) in _figures(data, summary).items():
        png = figure_png(fig, dpi=100)
        atomic_write_bytes(root / name, png)
        plt.close(fig)
        if name in planes:  # the file stays next to the report; the page shows the interactive plane
            report.add_plotly(planes[name], caption + f" Play runs through the recorded epochs; hover a "
                              f"point for both quantities over seeds. Static figure: {name}.")
        else:
            report.add_png(png, caption)
    _layers_section(report, summary)
    _flags_section(report, data, summary)
    _timings_section(report, summary)
    path = report.write(root / "report.html")
    summary.setdefault("timings", {})["report"] = round(time.perf_counter() - start, 3)
    from infolens._json import write_json

    write_json(root / "summary.json", summary)
    if log is not None:
        log(f"Wrote {path} ({time.perf_counter() - start:.1f} s).")
    return path


def _claim_section(report: Report, summary: dict[str, Any]) -> None:
    exp = summary["experiment"]
    report.add_heading("The paper's claim and our measurement")
    report.add_text(f"Paper: {exp['paper']}\n\nClaim: {exp['claim']}\n\nOur set-up: {exp['note']}")
    rows = [{"variant": r["variant"], "estimator": r["estimator"], "split": r["split"],
             "most compressing layer": r["layer"], "final/peak I(X;T) [95% interval]": _interval(r),
             "seeds": r["n_seeds"], "we find": _word(r["compresses"]),
             "paper says": "not stated" if r["paper_says"] is None else _word(r["paper_says"]),
             "": _agreement(r["compresses"], r["paper_says"])} for r in summary["verdicts"]]
    report.add_table(rows, f"Verdicts. {exp['interval']}. Rule: {exp['rule']}.")
    disagree = [r for r in summary["verdicts"] if _agreement(r["compresses"], r["paper_says"]) == "DISAGREES"]
    if disagree:
        report.add_text("Where we disagree with the paper: " + "; ".join(
            f"{r['variant']} under {r['estimator']} on the {r['split']} set ({_word(r['compresses'])}, "
            f"final/peak {_interval(r)}; the paper: {_word(r['paper_says'])})" for r in disagree)
            + ". Our runs are shorter and smaller than the paper's (see the set-up above); the "
              "disagreement is stated, not explained away.", css_class="note")
    acc = summary.get("accuracy", {})
    rows = []
    for variant, entry in acc.items():
        per_seed = entry.get("test", {}).get("per_seed", [])
        rows.append({"variant": variant, **{f"{s} accuracy": entry[s]["mean"] for s in entry},
                     "test accuracy per seed": ", ".join(f"{a:.3f}" for a in per_seed)})
    report.add_table(rows, "Final accuracy, mean over seeds, and per seed (a seed near chance accuracy has "
                     "collapsed: its plane says little about compression).")
    report.add_text("Estimators and settings: " + dumps(exp["estimators"], indent=None)
                    + f". Planes on {exp['samples']['train']} training inputs and {exp['samples']['test']} "
                    "held-out test inputs; X is the identity of each input, so I(X;T) <= log2(n).")


def _short(label: str) -> str:
    return label if len(label) < 48 else label[:45] + "..."


def _layer_labels(data: Any) -> dict[str, str]:
    """``L1 .. Ln`` for the hidden layers in depth order, ``out`` for the output layer."""
    last = len(data.layers) - 1
    return {layer: f"L{i + 1}" if i < last else "out" for i, layer in enumerate(data.layers)}


def _plane_frame(data: Any, summary: dict[str, Any], key: str, split: str) -> Any:
    """The plane of every variant under its own settings of estimator ``key`` on ``split`` (tidy)."""
    import pandas as pd

    frame = data.results[split].to_frame()
    per_variant = data.labels()
    parts = [frame[(frame["activation"] == name) & (frame["estimator"] == per_variant[name][key])]
             for name in summary["experiment"]["variants"]]
    return pd.concat(parts, ignore_index=True)


def _interactive_planes(data: Any, summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``plane_<estimator>_<split>.png`` -> its interactive figure (epoch slider, seed spread)."""
    from infolens.report.interactive import information_plane_figure

    exp = summary["experiment"]
    labels = _layer_labels(data)
    per_variant = data.labels()
    out = {}
    for key in data.preset.estimators:
        shown = ", ".join(sorted({per_variant[name][key] for name in exp["variants"]}))
        for split in exp["splits"]:
            out[f"plane_{key}_{split}.png"] = information_plane_figure(
                _plane_frame(data, summary, key, split), layer_labels=labels, units=exp["units"],
                title=f"{exp['name']}: {shown}, {split} set ({exp['samples'][split]} inputs), "
                      f"mean over {len(exp['seeds'])} seeds")
    return out


def _figures(data: Any, summary: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from infolens import viz

    exp = summary["experiment"]
    names = exp["variants"]
    labels = _layer_labels(data)
    figures: dict[str, tuple[Any, str]] = {}
    per_variant = data.labels()
    for key in data.preset.estimators:
        for split in exp["splits"]:
            frame = _plane_frame(data, summary, key, split)
            fig, axes = plt.subplots(1, len(names), figsize=(5.6 * len(names), 4.4), squeeze=False)
            for ax, name in zip(axes[0], names, strict=True):
                viz.plot_information_plane(frame, activation=name, ax=ax, layer_labels=labels,
                                           title=f"{name}, {split} set, {_short(per_variant[name][key])}")
            shown = sorted({per_variant[name][key] for name in names})
            fig.suptitle(f"{exp['name']}: information plane, {', '.join(shown)}, {split} set "
                         f"({exp['samples'][split]} inputs), mean over {len(exp['seeds'])} seeds",
                         fontsize="medium")
            figures[f"plane_{key}_{split}.png"] = (
                fig, f"Estimator {', '.join(shown)} on the {split} set: each layer's trajectory, mean "
                     "over seeds with a one-sd band; colour = epoch.")
    if exp["name"] == "noisy-nets" or "clustering" in summary:
        figures["clustering.png"] = (_clustering_figure(data, summary, labels),
                                     "Top: I(X;T) per hidden layer against epoch (the estimator in the "
                                     "title); bottom: the clustering score of the same layer, mean over "
                                     "seeds.")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    viz.plot_metrics(data.metrics, ("train_accuracy", "test_accuracy"), ax=ax, title="accuracy")
    figures["accuracy.png"] = (fig, "Train (solid) and test (dashed) accuracy, mean over seeds.")
    return figures


def _clustering_figure(data: Any, summary: dict[str, Any], labels: dict[str, str]) -> Any:
    import matplotlib.pyplot as plt

    from infolens import viz

    exp = summary["experiment"]
    names = exp["variants"]
    frame = data.results["train"].to_frame()
    metrics = data.metrics[data.metrics["split"] == "train"]
    fig, axes = plt.subplots(2, len(names), figsize=(5.6 * len(names), 7.0), squeeze=False)
    for j, name in enumerate(names):
        label = next(iter(data.labels()[name].values()))
        viz.plot_mi_vs_epoch(frame[frame["estimator"] == label],
                             "I_XT", activation=name, ax=axes[0, j], layers=data.hidden_layers,
                             layer_labels=labels, title=f"{name}: I(X;T), {_short(label)}, train set")
        ax = axes[1, j]
        for layer in data.hidden_layers:
            part = metrics[(metrics["activation"] == name) & (metrics["metric"] == f"clustering {layer}")]
            curve = part.groupby("epoch")["value"].mean()
            ax.plot(curve.index.to_numpy() + 1, curve.to_numpy(), marker=".", label=labels[layer])
        ax.set_xscale("log")
        ax.set_xlabel("epoch + 1")
        ax.set_ylabel("class clustering (between-class variance fraction)", fontsize="small")
        ax.set_title(f"{name}: class clustering of each hidden layer, train set", fontsize="medium")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _layers_section(report: Report, summary: dict[str, Any]) -> None:
    units = summary["experiment"]["units"]
    report.add_heading("Per layer")
    rows = [{"variant": r["variant"], "estimator": r["estimator"], "split": r["split"], "layer": r["layer"],
             f"peak I(X;T) [{units}]": r["peak_I_XT"], f"final I(X;T) [{units}]": r["final_I_XT"],
             "final/peak [95% interval]": _interval(r), f"final I(T;Y) [{units}]": r["final_I_TY"],
             "we find": _word(r["compresses"])} for r in summary["compression"]]
    report.add_table(rows, "One row per variant, estimator, split and hidden layer (summary.json, "
                           "'compression').")
    output = [{"variant": r["variant"], "estimator": r["estimator"], "split": r["split"],
               "final/peak [95% interval]": _interval(r), f"final I(T;Y) [{units}]": r["final_I_TY"],
               "we find": _word(r["compresses"])} for r in summary.get("output_compression", [])]
    if output:
        report.add_table(output, "The output layer (softmax probabilities), same rule "
                         "(summary.json, 'output_compression').")
    if summary.get("clustering"):
        report.add_heading("Does compression coincide with clustering?")
        report.add_text("Spearman rank correlation, over the recorded epochs, between the seed-mean "
                        "I(X;T) of a layer and its seed-mean clustering score; 'after peak' uses the "
                        "epochs from the peak of I(X;T) on. Goldfeld et al. report that I(X;T) falls as "
                        "the representations cluster: that is a strongly negative correlation after the "
                        "peak when the score grows with clustering.")
        report.add_table(summary["clustering"], "Compression against clustering.", float_format="{:.2f}")


def _flags_section(report: Report, data: Any, summary: dict[str, Any]) -> None:
    """The records the plane flags as set by the estimator, not the layer (:mod:`infolens.plane.flags`)."""
    from infolens.plane.flags import flag_shares

    labels, rows = _layer_labels(data), []
    for key in data.preset.estimators:
        for split in summary["experiment"]["splits"]:
            frame = _plane_frame(data, summary, key, split)
            for variant in summary["experiment"]["variants"]:
                part = frame[frame["activation"] == variant]
                rows += [{"estimator": key, "split": split, "variant": variant, **row,
                          "layer": labels.get(row["layer"], row["layer"])} for row in flag_shares(part)]
    if rows:
        report.add_heading("Flagged numbers")
        report.add_table(rows, "Records whose number the estimator, not the layer, sets "
                         "(near_log_n: I(X;T) within 1 nat of log n; all_distinct: every sample in its own "
                         "cell; shuffled_baseline: shuffled labels read at least half the I(T;Y); "
                         "at_chance / overfit: the usable-information probe decodes nothing or overfits). "
                         "Share = fraction of that layer's records (epochs x seeds).", float_format="{:.2f}")


def _timings_section(report: Report, summary: dict[str, Any]) -> None:
    t = summary.get("timings", {})
    if not t:
        return
    report.add_heading("Timings")
    rows = [{"stage": k.replace("_", " "), "seconds": v} for k, v in t.items() if isinstance(v, float)]
    report.add_table(rows, "Wall-clock seconds (estimation = inside the estimators; recording = the rest of "
                     "the recorded epochs: forward passes, metrics, snapshots, store).")
    stacking = t.get("stacking")
    if stacking:
        report.add_text(f"Training the {stacking['members']} seeds of '{stacking['variant']}' together took "
                        f"{stacking['stacked_s_per_epoch']:.3f} s per epoch, against "
                        f"{stacking['single_s_per_epoch']:.3f} s per epoch for one network alone: a "
                        f"{stacking['speedup']:.2f}x gain over training them one by one.")
    if math.isfinite(float(t.get("training", math.nan))):
        report.add_text(f"Rebuild this report with: infolens report "
                        f"{summary['files']['report.html'].rsplit('/', 1)[0]}")
