"""The ``infolens ib`` report, built from the ``summary.json`` the VIB sweep stored.

:func:`build_ib_report` reads ``summary.json`` (the sweep's points, its per-epoch training history,
the settings and, for the SZT task, the exact IB curve and the placed layers), draws the PNG figures
(``vib_sweep.png``, ``vib_plane.png``, ``ib_curve.png``) and writes ``report.html`` with an
interactive information plane of the sweep: an epoch slider over the training history. It trains
nothing and solves no IB equation.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from infolens._json import read_json
from infolens._validation import fail
from infolens.report.html import Report, atomic_write_bytes, figure_png

__all__ = ["build_ib_report", "sweep_plane_figure"]

_FN = "build_ib_report"


def _stored_result(summary: dict[str, Any]) -> Any:
    """The :class:`~infolens.bottleneck.sweep.VIBSweepResult` whose ``to_dict()`` was stored."""
    from infolens.bottleneck.sweep import SweepPoint, VIBSweepConfig, VIBSweepResult

    config = dict(summary["config"])
    config["betas"], config["hidden"] = tuple(config["betas"]), tuple(config["hidden"])
    h_train = summary.get("h_y_train_bits")
    points = tuple(SweepPoint(**p) for p in summary["points"])
    return VIBSweepResult(config=VIBSweepConfig(**config), points=points,
                          h_y_bits=summary["h_y_bits"], chance_accuracy=summary["chance_accuracy"],
                          n_train=summary["n_train"], n_test=summary["n_test"],
                          n_features=summary["n_features"], timings=summary["timings"],
                          history=summary.get("history", {}),
                          h_y_train_bits=math.nan if h_train is None else h_train)


def _stored_curve(stored: dict[str, Any]) -> Any:
    from infolens.bottleneck.iterative import IBCurve

    return IBCurve(**{k: np.asarray(v, dtype=np.float64) if isinstance(v, list) else v
                      for k, v in stored.items()})


def sweep_plane_figure(summary: dict[str, Any], max_frames: int = 120) -> dict[str, Any] | None:
    """The sweep in the information plane with an epoch slider (Plotly figure dict), or None.

    Each beta's training trajectory: the rate (an upper bound on I(Z;X)) against
    ``H(Y) - cross-entropy`` (a lower bound on I(Z;Y)), both on the training minibatches and
    averaged over each epoch, in bits. None when the summary has no history or no training-label
    entropy (a sweep stored before both were kept).
    """
    import pandas as pd

    from infolens.report.interactive import information_plane_figure

    history, h_train = summary.get("history") or {}, summary.get("h_y_train_bits")
    if not history.get("rate_bits") or h_train is None:
        return None
    betas = summary["config"]["betas"]
    records = []
    seed, dataset = summary["config"]["seed"], summary["dataset"]
    per_epoch = zip(history["rate_bits"], history["cross_entropy_bits"], strict=True)
    for epoch, (rates, ces) in enumerate(per_epoch, start=1):
        for i, _ in enumerate(betas):
            for quantity, value in (("I_XT", rates[i]), ("I_TY", h_train - ces[i])):
                records.append({"seed": seed, "dataset": dataset, "epoch": epoch, "layer": f"beta{i}",
                                "quantity": quantity, "value": value})
    labels = {f"beta{i}": f"beta = {b:g}" for i, b in enumerate(betas)}
    return information_plane_figure(
        pd.DataFrame.from_records(records), panel="dataset", layer_labels=labels, max_frames=max_frames,
        title=f"VIB sweep on {summary['dataset']}: training trajectory of each beta (train split, "
              "epoch averages)", units="bits", axis_names=("rate", "H(Y) - CE"), x_log=True)


def build_ib_report(out: str | os.PathLike[str]) -> Path:
    """Draw the figures and write ``report.html`` of an ``infolens ib`` directory from ``summary.json``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from infolens.bottleneck.sweep import plot_ib_curve_with_layers, plot_sweep_metrics, plot_sweep_plane

    root = Path(out)
    if not (root / "summary.json").is_file():
        raise fail("out", _FN, "a directory with the summary.json of an infolens ib run", str(root))
    summary = read_json(root / "summary.json", _FN)
    result = _stored_result(summary)
    config = result.config

    def png(fig: Any, name: str) -> bytes:
        data = figure_png(fig)
        atomic_write_bytes(root / name, data)
        plt.close(fig)
        return data

    report = Report(f"Information bottleneck: VIB beta sweep on {config.dataset}")
    report.add_heading("Setup")
    hidden = "-".join(str(h) for h in config.hidden)
    report.add_text(
        f"One VIB classifier per beta (encoder {result.n_features}-"
        f"{hidden} to a Gaussian bottleneck with K = {config.k}, std = softplus(rho - 5); linear "
        f"decoder; Adam lr {config.lr:g}, batch {config.batch_size}, {config.epochs} epochs; all betas "
        f"trained together with torch.func.vmap from the same initial weights). Train/test: "
        f"{result.n_train}/{result.n_test}. Evaluation on the test split with {config.n_eval_samples} "
        "posterior samples per input.\n\n"
        "The rate E KL(p(z|x) || N(0, I)) is an upper bound on I(Z;X); H(Y) - cross-entropy is a lower "
        "bound on I(Z;Y) (it can be negative when the decoder is worse than the label prior). Both in "
        "bits; beta weighs the rate against the cross-entropy (unit-free).")
    report.add_heading("Sweep")
    report.add_table(result.table(), "One row per beta; rate and I(Z;Y) bounds in bits.",
                     float_format="{:.4g}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    plot_sweep_metrics(result, axes)
    fig.tight_layout()
    report.add_png(png(fig, "vib_sweep.png"), "Accuracy and both bounds against beta.")
    interactive = sweep_plane_figure(summary)
    if interactive is not None:
        report.add_plotly(interactive, "Each beta's path during training (faint) and all betas at the "
                          "slider's epoch (large markers, joined in beta order); Play runs through the "
                          "epochs. These are running averages over each epoch's training minibatches, not "
                          "the test-split values of the table (those are in the figure below).")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    plot_sweep_plane(result, ax)
    fig.tight_layout()
    report.add_png(png(fig, "vib_plane.png"),
                   "The sweep in the information plane (test split, after training).")
    if "ib_curve" in summary:
        curve, layers = _stored_curve(summary["ib_curve"]), summary.get("plane_layers", [])
        report.add_heading("Exact IB curve of the SZT task")
        report.add_text(
            f"X uniform over the 4096 inputs, Y the deterministic label: I(X;Y) = H(Y) = {curve.h_y:.5f} "
            "bits, and the IB curve is min(I(X;T), H(Y)) (computed by annealing the self-consistent "
            "IB equations; inputs with the same label merge exactly)."
            + (f" Layers: final I(X;T), I(T;Y) of the information-plane run in {summary['run_dir']} (binning "
               "estimates)." if layers else " Give --run-dir to place an information-plane run's layers."))
        fig, ax = plt.subplots(figsize=(7, 4.8))
        plot_ib_curve_with_layers(curve, layers, result, ax)
        fig.tight_layout()
        report.add_png(png(fig, "ib_curve.png"), "Exact IB curve, trained layers and VIB points.")
    report.add_heading("Expected outcome")
    report.add_table([{"check": k, "holds": v} for k, v in summary["checks"].items()])
    report.add_heading("Timings")
    report.add_table([{"step": k, "seconds": v} for k, v in summary["timings"].items()])
    return report.write(root / "report.html")
