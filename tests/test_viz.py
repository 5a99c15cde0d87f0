"""Figures: every function returns the Axes it drew on, accepts ax=, and draws the seed means."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402

from infolens import InfoLensError, viz  # noqa: E402

EPOCHS = [0, 1, 3, 10, 30]


def _plane_frame(activations=("tanh", "relu"), seeds=(0, 1), layers=3):
    rows = []
    for act in activations:
        for seed in seeds:
            for li in range(layers):
                for e in EPOCHS:
                    ixt = (li + 1) * np.log1p(e) + seed          # seeds differ by exactly 1 bit
                    ity = 0.1 * np.log1p(e) + 0.01 * seed
                    for q, v in (("I_XT", ixt), ("I_TY", ity)):
                        rows.append(dict(run="r", seed=seed, activation=act, epoch=e, layer=f"layers.{li}",
                                         quantity=q, estimator="binning", value=v, units="bits"))
    return pd.DataFrame(rows)


def _metrics_frame():
    rows = [dict(activation=a, seed=s, epoch=e, metric=m, value=e / 30 - 0.01 * s)
            for a in ("tanh", "relu") for s in (0, 1) for e in EPOCHS
            for m in ("train_accuracy", "test_accuracy")]
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_seed_summary_means_and_stds():
    stats = viz.seed_summary(_plane_frame())
    row = stats[(stats.activation == "tanh") & (stats.layer == "layers.1") & (stats.quantity == "I_XT")
                & (stats.epoch == 10)].iloc[0]
    assert row["mean"] == pytest.approx(2 * np.log1p(10) + 0.5)
    assert row["std"] == pytest.approx(np.std([0, 1], ddof=1))
    assert row["max"] - row["min"] == pytest.approx(1.0)  # the two seeds differ by 1 (see _plane_frame)
    assert row["n_seeds"] == 2


def test_information_plane_draws_seed_means_on_given_axes():
    fig, ax = plt.subplots()
    out = viz.plot_information_plane(_plane_frame(), activation="tanh", ax=ax)
    assert out is ax and isinstance(out, Axes)
    # the mean trajectory of layers.2 is a line through (3 log1p(e) + 0.5, 0.1 log1p(e) + 0.005)
    expected_x = 3 * np.log1p(EPOCHS) + 0.5
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(EPOCHS)
             and np.allclose(ln.get_xdata(), expected_x)]
    assert len(lines) == 1
    assert np.allclose(lines[0].get_ydata(), 0.1 * np.log1p(EPOCHS) + 0.005)
    assert any(isinstance(p, PathPatch) for p in ax.patches)  # the seed band
    assert ax.get_xlabel() == "I(X;T) [bits]" and ax.get_ylabel() == "I(T;Y) [bits]"
    assert len(fig.axes) == 2  # the epoch colour bar


def test_information_plane_without_band_or_colorbar_creates_axes():
    ax = viz.plot_information_plane(_plane_frame(seeds=(0,)), activation="relu", band=False,
                                    colorbar=False, layer_labels={"layers.0": "L1 (12)"})
    assert isinstance(ax, Axes) and not ax.patches and len(ax.figure.axes) == 1
    assert "L1 (12)" in [t.get_text() for t in ax.texts]


def test_mi_vs_epoch_and_band():
    fig, ax = plt.subplots()
    out = viz.plot_mi_vs_epoch(_plane_frame(), "I_XT", activation="tanh", ax=ax)
    assert out is ax
    assert len(ax.get_lines()) == 3 and len(ax.collections) == 3  # three layers, three bands
    assert np.allclose(ax.get_lines()[0].get_ydata(), np.log1p(EPOCHS) + 0.5)
    assert ax.get_ylabel() == "I(X;T) [bits]"
    ax2 = viz.plot_mi_vs_epoch(_plane_frame(), "I_TY", activation="relu", layers=["layers.0"], band=False)
    assert len(ax2.get_lines()) == 1 and not ax2.collections


def test_metrics_and_compression_scores_return_axes():
    fig, ax = plt.subplots()
    assert viz.plot_metrics(_metrics_frame(), ax=ax) is ax
    assert len(ax.get_lines()) == 4
    scores = pd.DataFrame({"activation": ["tanh", "tanh", "relu", "relu"],
                           "layer": ["layers.0", "layers.1"] * 2, "score": [0.1, 0.5, 0.0, 0.02],
                           "score_low": [0.0, 0.4, -0.1, 0.0], "score_high": [0.2, 0.6, 0.1, 0.05]})
    ax2 = viz.plot_compression_scores(scores)
    heights = sorted(round(p.get_height(), 6) for p in ax2.patches)
    assert heights == [0.0, 0.02, 0.1, 0.5]


def test_bad_inputs_raise_infolens_error():
    frame = _plane_frame()
    with pytest.raises(InfoLensError, match="'activation' parameter of plot_information_plane"):
        viz.plot_information_plane(frame)  # two activations and none chosen
    with pytest.raises(InfoLensError, match="'activation'"):
        viz.plot_information_plane(frame, activation="gelu")
    with pytest.raises(InfoLensError, match="'layers'"):
        viz.plot_mi_vs_epoch(frame, activation="tanh", layers=["nope"])
    with pytest.raises(InfoLensError, match="'quantity'"):
        viz.plot_mi_vs_epoch(frame, "H_T", activation="tanh")
    with pytest.raises(InfoLensError, match="missing columns"):
        viz.plot_information_plane(frame.drop(columns=["seed"]), activation="tanh")
    with pytest.raises(InfoLensError, match="'metrics'"):
        viz.plot_metrics(_metrics_frame(), metrics=["loss"])
    with pytest.raises(InfoLensError, match="'data'"):
        viz.plot_metrics([1, 2, 3])
