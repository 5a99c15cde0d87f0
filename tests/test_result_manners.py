"""Every result object has the same manners: ``to_dict()`` (strict JSON: non-finite numbers become
null), ``to_frame()`` whose cells equal the object's fields, ``plot(ax=None)`` returning the Axes
where a figure makes sense, and frozen fields."""

from __future__ import annotations

import dataclasses
import json
import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import infolens as il  # noqa: E402


def strict_json(data: dict) -> dict:
    """``data`` through JSON without NaN or infinity (``allow_nan=False`` raises on them)."""
    return json.loads(json.dumps(data, allow_nan=False))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_estimate_to_frame_and_to_dict_carry_every_number() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    y = x + rng.normal(size=400)
    est = il.estimate_mi(x, y, method="gaussian", ci=0.9, n_resamples=20, random_state=0)
    frame = est.to_frame()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["value"], row["ci_low"], row["ci_high"]) == (est.value, *est.ci)
    assert (row["method"], row["units"], row["n_used"], row["ci_level"]) == ("gaussian", "bits", 400, 0.9)
    data = strict_json(est.to_dict())
    assert set(data) == {f.name for f in dataclasses.fields(est)}
    assert data["value"] == est.value and data["ci"] == list(est.ci)
    assert data["params"] == dict(est.params) and data["flags"] == list(est.flags)
    assert not hasattr(est, "plot")  # one number: no figure
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'value'"):
        est.value = 0.0


def test_estimate_to_dict_writes_non_finite_numbers_as_null() -> None:
    est = il.Estimate(value=math.inf, units="bits", quantity="entropy", method="plugin",
                      details={"upper": math.nan})
    data = strict_json(est.to_dict())
    assert data["value"] is None and data["details"] == {"upper": None}
    assert math.isnan(est.to_frame().iloc[0]["ci_low"])


@pytest.fixture(scope="module")
def probe_report():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(240, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    return il.probe_layers(model, x, y, n_splits=2, C=1.0)


def test_probe_report_manners(probe_report) -> None:
    report = probe_report
    frame = report.to_frame()
    assert list(frame["layer"]) == list(report.layers)
    assert frame["accuracy"].tolist() == list(report.accuracy)
    assert frame["mi_lower_bound"].tolist() == list(report.mi_lower_bound)
    assert math.isnan(frame["gain"].iloc[0])  # the first layer has no reference
    data = strict_json(report.to_dict())
    assert data["layers"] == list(report.layers) and data["gain"][0] is None
    assert data["accuracy_ci"] == [list(ci) for ci in report.accuracy_ci]
    assert data["redundant"] == list(report.redundant)
    _, ax = plt.subplots()
    assert report.plot(ax=ax) is ax
    assert ax.get_ylabel() == "probe test accuracy"
    assert report.plot(quantity="information").get_ylabel() == f"I(T;Y) lower bound [{report.units}]"
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'accuracy'"):
        report.accuracy = ()


def test_ib_curve_manners() -> None:
    pxy = np.array([[0.3, 0.05], [0.05, 0.3], [0.15, 0.15]])
    curve = il.bottleneck.ib_curve(pxy, [1.0, 5.0, 50.0])
    frame = curve.to_frame()
    assert frame["beta"].tolist() == [1.0, 5.0, 50.0]
    assert frame["i_ty"].tolist() == curve.i_ty.tolist()
    data = strict_json(curve.to_dict())
    assert data["i_xt"] == curve.i_xt.tolist() and data["i_xy"] == curve.i_xy
    assert data["units"] == "bits" and data["alpha"] == 1
    ax = curve.plot()
    assert ax.get_xlabel() == "I(X;T) [bits]" and ax.get_ylabel() == "I(T;Y) [bits]"
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'units'"):
        curve.units = "nats"


def test_embedding_manners() -> None:
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2], 20)
    x = rng.normal(size=(60, 5)) + 4.0 * labels[:, None]
    emb = il.embed(x, "pca", 2, labels=labels)
    frame = emb.to_frame()
    assert list(frame.columns) == ["axis_1", "axis_2", "label"]
    np.testing.assert_array_equal(frame[["axis_1", "axis_2"]].to_numpy(), emb.coords)
    assert frame["label"].tolist() == labels.tolist()
    assert list(il.embed(x, "pca", 3).to_frame().columns) == ["axis_1", "axis_2", "axis_3"]
    data = strict_json(emb.to_dict())
    assert data["coords"] == emb.coords.tolist() and data["knn_accuracy"] == emb.knn_accuracy
    assert data["explained_variance_ratio"] == list(emb.explained_variance_ratio)
    _, ax = plt.subplots()
    assert emb.plot(ax=ax) is ax
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'method'"):
        emb.method = "tsne"


def test_sensitivity_result_manners() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(128, 2))
    y = (z[:, 0] > 0).astype(int)
    plane = il.InformationPlane(z, y, keep_activations=True)
    for epoch, scale in enumerate([0.5, 1.0, 0.4]):
        plane.record_activations({"a": scale * z, "b": z[:, :1]}, epoch, activation="tanh", seed=0)
    result = il.sensitivity(plane.activations, y, {"binning 10": {"estimator": "binning", "bins": 10},
                                                    "kde": {"estimator": "kde", "noise_var": 0.1}}, smooth=1)
    data = strict_json(result.to_dict())
    assert (data["threshold"], data["smooth"]) == (0.05, 1)
    assert {label: len(records) for label, records in data["results"].items()} == {
        label: len(plane_result) for label, plane_result in result.results.items()}
    frame = result.to_frame()
    ax = result.plot()
    heights = sorted(round(p.get_height(), 12) for p in ax.patches)
    assert heights == sorted(round(v, 12) for v in frame["compression_score"])  # one bar per row
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"binning 10", "kde"}
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'threshold'"):
        result.threshold = 0.1
