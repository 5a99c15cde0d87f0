"""The table of plane estimators (one entry per estimator) and the flags on plane records."""

import dataclasses

import numpy as np
import pytest

import infolens as il
from infolens.plane import estimators as table
from infolens.plane.estimate import make_layer_estimator


@pytest.mark.parametrize(("name", "params", "label"), [
    ("binning", {}, "binning(bins=30)"),
    ("binning", {"bin_width": 2 / 30}, "binning(bin_width=0.0666667)"),
    ("adaptive_binning", {"bins": 30, "scope": "layer"}, "adaptive_binning(bins=30, scope=layer)"),
    ("kde", {"noise_var": 0.1}, "kde(noise_var=0.1)"),
    ("quantized", {}, "quantized(bits=8)"),
    ("plugin", {}, "plugin"),
])
def test_labels_are_unchanged_store_join_keys(name, params, label):
    assert make_layer_estimator(name, params, "t").label == label


def test_every_entry_declares_how_it_reads_a_layer_and_what_it_estimates():
    for name, spec in table.TABLE.items():
        assert spec.consumes in table.CONSUMES, name
        assert set(spec.quantities) <= set(table.QUANTITIES), name
        assert (spec.to_codes is None) == (spec.consumes != "codes"), name
    assert table.TABLE["ksg"].needs_inputs and table.TABLE["kde"].costly
    assert not table.TABLE["binning"].costly


def test_one_new_entry_is_selectable_per_quantity(monkeypatch):
    # the extension point: a new estimator (here I(T;Y) only) is one PlaneEstimator in TABLE
    def half(t, y, n_classes, x, params, quantities):
        return {"I_TY": params["scale"] * np.log(n_classes)}

    spec = table.PlaneEstimator("toy", {"scale": (0.5, lambda n, v, fn: float(v))}, half,
                                quantities=("I_TY",), label_keys=lambda p: ("scale",))
    monkeypatch.setitem(table.TABLE, "toy", spec)
    y = np.arange(40) % 2
    plane = il.InformationPlane(np.zeros((40, 1)), y, estimator={"I_XT": "binning", "I_TY": "toy"})
    frame = il.PlaneResult(plane.record_activations({"t": (y[:, None] * 1.0)}, 0)).to_frame()
    ty = frame[frame.quantity == "I_TY"].iloc[0]
    assert ty.value == pytest.approx(0.5)  # 0.5 ln 2 nats = 0.5 bits
    assert ty.estimated_by == "toy(scale=0.5)"
    with pytest.raises(il.InfoLensError, match="an estimator of I_XT"):
        il.InformationPlane(np.zeros((40, 1)), y, estimator={"I_XT": "toy", "I_TY": "binning"})


def test_saturated_layer_is_flagged_and_an_informative_one_is_not():
    n = 512
    y = np.arange(n) % 4
    plane = il.InformationPlane(np.zeros((n, 1)), y, estimator="binning", bins=n)
    with pytest.warns(il.InfoLensWarning, match="near_log_n"):
        records = plane.record_activations({"id": np.arange(n, dtype=float)[:, None],
                                            "label": y[:, None] * 1.0}, 0)
    flags = {(r["layer"], r["quantity"]): r["flags"] for r in records}
    assert flags[("id", "I_XT")] == "near_log_n,all_distinct"
    assert "shuffled_baseline" in flags[("id", "I_TY")]
    assert flags[("label", "I_XT")] == "" and flags[("label", "I_TY")] == ""


def test_auto_never_bins_a_saturated_layer_and_says_what_it_chose():
    n = 256
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    plane = il.InformationPlane(np.zeros((n, 1)), y, estimator="auto")
    assert plane.estimator.label == "auto"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", il.InfoLensWarning)
        records = plane.record_activations({"wide": rng.normal(size=(n, 64)), "label": y[:, None] * 1.0}, 0)
    chose = {(r["layer"], r["quantity"]): r["estimated_by"] for r in records}
    assert chose[("wide", "I_XT")] == "matrix_renyi(alpha=1.01, batch_size=200)"
    assert chose[("wide", "I_TY")] == "v_information(family=linear)"
    assert chose[("label", "I_XT")] == chose[("label", "I_TY")] == "binning(bins=30)"
    with pytest.raises(il.InfoLensError, match="estimator='auto'"):
        il.InformationPlane(np.zeros((n, 1)), y, estimator="auto", bins=3)


def test_config_keeps_the_validated_estimator():
    from infolens.experiments.plane import PlaneRunConfig

    cfg = PlaneRunConfig(estimator="kde", estimator_params={"noise_var": 0.1})
    assert cfg.layer_estimator.label == "kde(noise_var=0.1)"
    assert dataclasses.replace(cfg, epochs=5).layer_estimator == cfg.layer_estimator


def test_v_information_reads_about_zero_where_binning_reads_h_y_on_a_wide_random_layer():
    # an untrained wide layer: every sample in its own cell, so binning's I(T;Y) = H(Y) = 2 bits;
    # the held-out probe finds nothing to decode: at most 0.15 bits, and its overfitting of 256
    # features on 300 training rows costs at most 0.5 bits below 0
    n, rng = 400, np.random.default_rng(1)
    y = np.arange(n) % 4
    layers = {"wide": rng.normal(size=(n, 256)), "label": np.eye(4)[y]}
    plane = il.InformationPlane(np.zeros((n, 1)), y, estimator={"I_XT": "binning", "I_TY": "v_information"})
    with pytest.warns(il.InfoLensWarning, match="near_log_n"):
        frame = il.PlaneResult(plane.record_activations(layers, 0)).to_frame()
    ty = frame[frame.quantity == "I_TY"].set_index("layer")
    assert "at_chance" in ty.loc["wide", "flags"]  # the probe's own flag joins the record's
    ty = ty.value
    assert -0.5 < ty["wide"] < 0.15
    assert ty["label"] > 1.8  # one-hot labels: close to H(Y) = 2 bits
    binned = il.InformationPlane(np.zeros((n, 1)), y, estimator="binning")
    with pytest.warns(il.InfoLensWarning):
        frame = il.PlaneResult(binned.record_activations(layers, 0)).to_frame()
    assert frame[(frame.quantity == "I_TY") & (frame.layer == "wide")].value.iloc[0] == pytest.approx(2.0)


def test_an_estimator_of_one_quantity_alone_is_refused_with_the_mapping_to_use():
    with pytest.raises(il.InfoLensError, match="estimator=.*'I_TY': 'v_information'"):
        il.InformationPlane(np.zeros((40, 1)), np.arange(40) % 2, estimator="v_information")
