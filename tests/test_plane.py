"""Information plane: estimators on hand-made layers with known answers, tracker, result analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from infolens import InfoLensError, estimate_entropy, estimate_mi
from infolens.measures import entropy
from infolens.plane import COLUMNS, InformationPlane, PlaneResult, Schedule, sensitivity


def _labels(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, n)


def _values(records: list[dict], quantity: str) -> dict[str, float]:
    return {r["layer"]: r["value"] for r in records if r["quantity"] == quantity}


# ----------------------------------------------------------------------------- estimators, exact cases
@pytest.mark.parametrize("estimator", ["binning", "adaptive_binning", "plugin"])
def test_identity_layer_carries_log2_n_bits_and_constant_layer_none(estimator):
    n = 4096
    y = _labels(n)
    identity = np.arange(n, dtype=np.float64)[:, None]
    plane = InformationPlane(np.zeros((n, 3)), y, estimator=estimator,
                             **({"bins": n} if estimator != "plugin" else {}))
    records = plane.record_activations({"id": identity, "const": np.full((n, 4), 0.3)}, epoch=0)
    i_xt, i_ty = _values(records, "I_XT"), _values(records, "I_TY")
    h_y = entropy(np.bincount(y) / n)
    assert i_xt["id"] == pytest.approx(12.0, abs=1e-12)
    assert i_ty["id"] == pytest.approx(h_y, abs=1e-12)  # T identifies the sample, so I(T;Y) = H(Y)
    assert i_xt["const"] == pytest.approx(0.0, abs=1e-12)
    assert i_ty["const"] == pytest.approx(0.0, abs=1e-12)


def test_binned_12bit_inputs_are_all_distinct():
    bits = ((np.arange(4096)[:, None] >> np.arange(11, -1, -1)) & 1).astype(np.float32)
    plane = InformationPlane(bits, _labels(4096), estimator="binning", bins=30)
    records = plane.record_activations({"x": bits}, 0)
    assert _values(records, "I_XT")["x"] == pytest.approx(12.0, abs=1e-12)


def test_hand_computed_quantized_layer():
    # T takes 4 equally likely values; Y is T's parity: I(X;T) = H(T) = 2 bits, I(T;Y) = H(Y) = 1 bit.
    t = np.tile(np.array([0.0, 1.0, 2.0, 3.0]), 256)[:, None]
    y = (t[:, 0] % 2).astype(int)
    records = InformationPlane(t, y, estimator="plugin").record_activations({"t": t}, 0)
    assert _values(records, "I_XT")["t"] == pytest.approx(2.0, abs=1e-12)
    assert _values(records, "I_TY")["t"] == pytest.approx(1.0, abs=1e-12)
    nats = InformationPlane(t, y, estimator="plugin", units="nats").record_activations({"t": t}, 0)
    assert _values(nats, "I_XT")["t"] == pytest.approx(2 * math.log(2), abs=1e-12)


@pytest.mark.parametrize(("estimator", "params"), [("binning", {"bins": 30}), ("binning", {"bins": 7}),
                                                   ("binning", {"bin_width": 0.25}),
                                                   ("binning", {"range": (-1.0, 1.0), "bins": 10}),
                                                   ("adaptive_binning", {"bins": 5}),
                                                   ("binning", {"correction": "miller_madow"})])
def test_fast_count_path_matches_the_general_estimators(estimator, params):
    rng = np.random.default_rng(1)
    t = np.tanh(rng.normal(size=(2000, 4)))
    y = _labels(2000, 2)
    plane = InformationPlane(t, y, estimator=estimator, **params)
    records = plane.record_activations({"t": t}, 0)
    h_t = estimate_entropy(t, method=estimator, **params).value
    i_ty = estimate_mi(t, y, method=estimator, **params).value
    assert _values(records, "I_XT")["t"] == pytest.approx(h_t, abs=1e-10)
    assert _values(records, "I_TY")["t"] == pytest.approx(i_ty, abs=1e-10)


def test_wide_layer_falls_back_to_row_sorting_and_matches_the_general_estimator():
    rng = np.random.default_rng(11)
    t = np.tanh(rng.normal(size=(1000, 40)))  # 40 units x 30 bins: codes do not fit in int64
    t[:500] = t[0]  # half the samples share one row
    y = _labels(1000, 12)
    records = InformationPlane(t, y).record_activations({"t": t}, 0)
    assert _values(records, "I_XT")["t"] == pytest.approx(estimate_entropy(t, method="binning").value,
                                                          abs=1e-10)
    assert _values(records, "I_TY")["t"] == pytest.approx(estimate_mi(t, y, method="binning").value,
                                                          abs=1e-10)


@pytest.mark.parametrize(("radix", "width"), [(2, 1), (30, 10), (100, 10), (2, 200), (7, 64), (5000, 3)])
def test_row_codes_identify_rows_exactly(radix, width):
    from infolens._validation import integer_row_codes

    rng = np.random.default_rng(radix + width)
    q = rng.integers(-3, radix, size=(600, width))
    q[300:] = q[rng.integers(0, 300, 300)]  # many repeated rows
    codes = integer_row_codes(q)
    reference = np.unique(q, axis=0, return_inverse=True)[1].reshape(-1)  # sorting rows
    # the same partition of the samples: a code determines the reference code and vice versa
    pairs = np.unique(np.stack([codes, reference], axis=1), axis=0)
    assert len(pairs) == len(np.unique(codes)) == len(np.unique(reference))


def test_float32_and_half_tensors_quantize_like_float64_on_exact_values():
    # values that are exact in every precision: bin edges fall identically
    t = np.random.default_rng(13).integers(-32, 33, size=(512, 3)) / 32.0
    y = _labels(512, 14)
    plane = InformationPlane(t, y, bins=16)
    reference = [r["value"] for r in plane.record_activations({"t": t}, 0)]
    for tensor in (torch.tensor(t, dtype=torch.float32), torch.tensor(t, dtype=torch.float16)):
        got = [r["value"] for r in plane.record_activations({"t": tensor}, 0)]
        assert got == pytest.approx(reference, abs=1e-12)


def test_i_ty_never_exceeds_h_y_under_binning():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 1500)
    h_y = entropy(np.bincount(y) / len(y))
    plane = InformationPlane(np.zeros((1500, 1)), y, bins=100)
    acts = {f"t{i}": rng.normal(size=(1500, i + 1)) + y[:, None] * i for i in range(4)}
    for value in _values(plane.record_activations(acts, 0), "I_TY").values():
        assert 0.0 <= value <= h_y + 1e-12


def test_kde_matches_the_kde_estimators():
    kde = pytest.importorskip("infolens.estimators.kde")
    rng = np.random.default_rng(4)
    t = rng.normal(size=(300, 3))
    y = _labels(300, 5)
    plane = InformationPlane(t, y, estimator="kde", noise_var=0.05, units="nats")
    records = plane.record_activations({"t": t}, 0)
    assert _values(records, "I_XT")["t"] == pytest.approx(kde.mi_identity_kde(t, noise_var=0.05), abs=1e-9)
    assert _values(records, "I_TY")["t"] == pytest.approx(kde.mi_kde(t, y, noise_var=0.05)[0], abs=1e-9)
    assert records[0]["estimator"] == "kde(noise_var=0.05)"


@pytest.mark.filterwarnings("ignore:.*repeated values:infolens.InfoLensWarning")  # the labels, by design
def test_ksg_uses_the_input_vectors():
    pytest.importorskip("infolens.estimators.knn")
    rng = np.random.default_rng(6)
    x = rng.normal(size=(400, 2))
    t = x + 0.5 * rng.normal(size=(400, 2))
    y = (x[:, 0] > 0).astype(int)
    records = InformationPlane(x, y, estimator="ksg", k=4, units="nats").record_activations({"t": t}, 0)
    expected = estimate_mi(x, t, method="ksg", k=4, units="nats").value
    assert _values(records, "I_XT")["t"] == pytest.approx(expected, abs=1e-9)
    i_ty = estimate_mi(t, y, method="mixed", k=4, units="nats").value
    assert _values(records, "I_TY")["t"] == pytest.approx(i_ty, abs=1e-9)
    assert records[0]["estimator"] == "ksg(k=4)"


def test_estimator_labels_carry_the_settings():
    y = _labels(10)
    assert InformationPlane(np.zeros((10, 1)), y).estimator.label == "binning(bins=30)"
    assert InformationPlane(np.zeros((10, 1)), y, bin_width=0.5).estimator.label == "binning(bin_width=0.5)"
    assert InformationPlane(np.zeros((10, 1)), y, estimator="adaptive_binning",
                            bins=8).estimator.label == "adaptive_binning(bins=8)"
    assert InformationPlane(np.zeros((10, 1)), y, estimator="plugin").estimator.label == "plugin"


# ----------------------------------------------------------------------------- tracker with models
def test_record_runs_model_in_eval_mode_and_applies_softmax_to_output():
    from infolens.models import ReferenceMLP

    torch.manual_seed(0)
    model = ReferenceMLP()
    x = torch.rand(512, 12)
    y = _labels(512, 7)
    model.train()
    plane = InformationPlane(x, y, estimator="binning", bins=30)
    records = plane.record(model, 3, activation="tanh", seed=2, lr=0.01)
    assert model.training  # restored
    assert [r["layer"] for r in records[::2]] == model.layer_names
    assert all(r["epoch"] == 3 and r["seed"] == 2 and r["activation"] == "tanh" and r["lr"] == 0.01
               for r in records)
    with torch.no_grad():
        hidden = x
        acts = {}
        for name, block in zip(model.layer_names, model.layers, strict=True):
            hidden = block(hidden)
            acts[name] = hidden
        acts[model.layer_names[-1]] = torch.softmax(hidden, dim=-1)
    manual = InformationPlane(x, y, bins=30).record_activations(acts, 3, activation="tanh", seed=2)
    assert [r["value"] for r in records] == pytest.approx([r["value"] for r in manual], abs=1e-12)


def test_record_restores_each_modules_mode_even_on_error():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    model.train()
    model[1].eval()  # a frozen batch norm
    plane = InformationPlane(torch.rand(50, 3), _labels(50))
    plane.record(model, 0)
    assert [m.training for m in model] == [True, False, True]
    with pytest.raises(InfoLensError, match="nope"):
        InformationPlane(torch.rand(50, 3), _labels(50), layers=["nope"]).record(model, 1)
    assert [m.training for m in model] == [True, False, True]
    with pytest.raises(InfoLensError, match="'x' parameter of InformationPlane.record must be an input"):
        InformationPlane(torch.rand(50, 5), _labels(50)).record(model, 0)  # wrong input width
    assert [m.training for m in model] == [True, False, True] and model.training


@pytest.mark.parametrize(("estimator", "params"),
                         [("binning", {"bin_width": 0.1}), ("kde", {"noise_var": 0.1})])
def test_recording_a_stacked_model_by_members_equals_recording_each_member(estimator, params):
    from infolens.models import StackedMLP

    x = torch.rand(200, 12)
    y = _labels(200, 8)
    stacked = StackedMLP(3, (12, 6, 4, 2), ["tanh", "tanh", "relu"], seeds=[3, 4, 3])
    assert stacked.members == [("tanh", 3), ("tanh", 4), ("relu", 3)]
    plane = InformationPlane(x, y, estimator=estimator, units="nats", **params)
    batched = plane.record(stacked, 0, members=stacked.members)
    assert len(batched) == 3 * 3 * 2
    with torch.no_grad():
        _, acts = stacked.forward_with_activations(x)  # hidden layers, then the softmax output
    for m, (kind, seed) in enumerate(stacked.members):
        alone = InformationPlane(x, y, estimator=estimator, units="nats", **params)
        own = alone.record_activations({f"layers.{i}": a[m] for i, a in enumerate(acts)}, 0, seed=seed,
                                       activation=kind)
        mine = [r for r in batched if (r["activation"], r["seed"]) == (kind, seed)]
        assert mine == own  # the same activations, so exactly the same records
        network = InformationPlane(x, y, estimator=estimator, units="nats", **params).record(
            stacked.member(m), 0, seed=seed, activation=kind)  # a separate nn.Linear network
        assert [r["value"] for r in mine] == pytest.approx([r["value"] for r in network], abs=1e-5)
    with pytest.raises(InfoLensError, match="'members' parameter of InformationPlane.record"):
        plane.record(stacked, 1, members=[("tanh", 3), ("tanh", 3), ("relu", 3)])
    with pytest.raises(InfoLensError, match="'acts' parameter of InformationPlane.record_activations"):
        plane.record(stacked, 1, members=[("tanh", 3), ("relu", 3)])


def test_keep_activations_feeds_sensitivity_and_estimators_disagree():
    # A layer whose scale rises then falls: binning over the layer's own range is scale-invariant
    # (no compression), KDE with fixed noise sees I(X;T) fall with the scale (compression).
    rng = np.random.default_rng(9)
    n = 256
    z = rng.normal(size=(n, 2))
    y = (z[:, 0] > 0).astype(int)
    scales = [0.2, 0.6, 1.0, 1.4, 1.0, 0.6, 0.3, 0.2]
    plane = InformationPlane(z, y, keep_activations=True)
    for epoch, s in enumerate(scales):
        plane.record_activations({"t": s * z}, epoch, activation="tanh", seed=1)
    assert list(plane.activations) == [("tanh", 1)]
    assert sorted(plane.activations[("tanh", 1)]) == list(range(len(scales)))
    result = sensitivity(plane.activations, y, {
        "binning 30": {"estimator": "binning", "bins": 30},
        "kde 1e-1": {"estimator": "kde", "noise_var": 0.1}}, smooth=1)
    frame = result.to_frame()
    assert list(frame.columns) == ["estimator", "activation", "layer", "compression_score", "score_low",
                                   "score_high", "compresses", "flags"]
    assert list(frame["flags"]) == ["disagree", "disagree"]  # one seed: the split itself
    by_label = frame.set_index("estimator")
    assert by_label.loc["binning 30", "compression_score"] == pytest.approx(0.0, abs=1e-12)
    assert not by_label.loc["binning 30", "compresses"]
    assert by_label.loc["kde 1e-1", "compresses"]
    assert result.table().loc[("tanh", "t"), "kde 1e-1"]
    assert set(result.combined().estimators) == {"binning(bins=30)", "kde(noise_var=0.1)"}


def test_disagree_needs_scores_apart_beyond_their_spread_over_seeds():
    rng = np.random.default_rng(9)
    n, scales = 256, [0.2, 0.6, 1.0, 1.4, 1.0, 0.6, 0.3, 0.2]
    z = rng.normal(size=(n, 2))
    y = (z[:, 0] > 0).astype(int)
    runs = {("tanh", seed): {e: {"t": s * (z + 0.01 * seed)} for e, s in enumerate(scales)}
            for seed in range(3)}
    agree = sensitivity(runs, y, {"binning 30": {"estimator": "binning", "bins": 30},
                                  "binning 10": {"estimator": "binning", "bins": 10}}, smooth=1)
    assert set(agree.to_frame()["flags"]) == {""}
    split = sensitivity(runs, y, {"binning 30": {"estimator": "binning", "bins": 30},
                                  "kde 1e-1": {"estimator": "kde", "noise_var": 0.1}}, smooth=1).to_frame()
    assert set(split["flags"]) == {"disagree"}
    assert (split.set_index("estimator").loc["kde 1e-1", "score_low"]
            > split.set_index("estimator").loc["binning 30", "score_high"])


def test_sensitivity_on_a_fixed_subset_of_samples():
    n = 1000
    y = _labels(n, 15)
    identity = {e: {"id": np.arange(n, dtype=np.float64)[:, None] * (e + 1)} for e in range(3)}
    result = sensitivity(identity, y, {"plugin": {}}, n_samples=256, random_state=3)
    frame = result.results["plugin"].to_frame()
    assert frame.loc[frame["quantity"] == "I_XT", "value"].tolist() == pytest.approx([8.0] * 3)
    with pytest.raises(InfoLensError, match="'n_samples' parameter"):
        sensitivity(identity, y, {"plugin": {}}, n_samples=n + 1)


def test_keep_activations_only_listed_epochs():
    y = _labels(20)
    plane = InformationPlane(np.zeros((20, 1)), y, keep_activations=[2])
    for epoch in range(4):
        plane.record_activations({"t": np.random.default_rng(epoch).normal(size=(20, 2))}, epoch)
    assert list(plane.activations[("", 0)]) == [2]


# ----------------------------------------------------------------------------- schedules
def test_schedules():
    assert all(Schedule("every").should_record(e) for e in range(50))
    every5 = Schedule(5, last_epoch=12)
    assert every5.epochs() == [0, 5, 10, 12]
    assert not every5.should_record(13)
    assert Schedule([3, 1]).epochs() == [1, 3]
    log = Schedule("log", last_epoch=119, n_points=10)
    epochs = log.epochs()
    assert epochs[0] == 0 and epochs[-1] == 119
    assert epochs == sorted(set(epochs))
    # about n_points per decade: [10, 100) holds 10 points
    assert len([e for e in epochs if 10 <= e < 100]) == 10
    assert {1, 2, 10, 100} <= set(epochs)
    open_log = Schedule("log", n_points=4)
    assert [e for e in range(40) if open_log.should_record(e)] == [0, 1, 2, 3, 6, 10, 18, 32]


@pytest.mark.parametrize("bad", ["weekly", 0, -2, [], [1, -1], [1.5], 2.0, True, None])
def test_bad_schedule_raises(bad):
    with pytest.raises(InfoLensError, match="schedule"):
        InformationPlane(np.zeros((4, 1)), [0, 1, 0, 1], schedule=bad)


def test_plane_uses_schedule():
    plane = InformationPlane(np.zeros((4, 1)), [0, 1, 0, 1], schedule=10, last_epoch=25)
    assert [e for e in range(30) if plane.should_record(e)] == [0, 10, 20, 25]


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_raise():
    y = [0, 1, 0, 1]
    with pytest.raises(InfoLensError, match="'y' parameter of InformationPlane"):
        InformationPlane(np.zeros((5, 2)), y)
    with pytest.raises(InfoLensError, match="'estimator' parameter"):
        InformationPlane(np.zeros((4, 2)), y, estimator="histogram")
    with pytest.raises(InfoLensError, match="'noise' parameter"):
        InformationPlane(np.zeros((4, 2)), y, estimator="kde", noise=0.1)
    with pytest.raises(InfoLensError, match="'bins' parameter"):
        InformationPlane(np.zeros((4, 2)), y, bins=0)
    with pytest.raises(InfoLensError, match="'units' parameter"):
        InformationPlane(np.zeros((4, 2)), y, units="bytes")
    with pytest.raises(InfoLensError, match="'x' parameter"):
        InformationPlane(np.array([[np.nan], [0], [1], [2]]), y)
    plane = InformationPlane(np.zeros((4, 2)), y)
    with pytest.raises(InfoLensError, match="4 rows"):
        plane.record_activations({"t": np.zeros((3, 2))}, 0)
    with pytest.raises(InfoLensError, match="finite"):
        plane.record_activations({"t": np.array([[0.0], [np.inf], [1.0], [2.0]])}, 0)
    with pytest.raises(InfoLensError, match="'epoch' parameter"):
        plane.record_activations({"t": np.zeros((4, 2))}, -1)
    with pytest.raises(InfoLensError, match="'acts' parameter"):
        plane.record_activations({}, 0)
    with pytest.raises(InfoLensError, match="'estimators' parameter"):
        sensitivity({0: {"t": np.zeros((4, 1))}}, y, {})
    with pytest.raises(InfoLensError, match="'estimator' parameter"):
        sensitivity({0: {"t": np.zeros((4, 1))}}, y, {"x": {"estimator": "magic"}})


# ----------------------------------------------------------------------------- results
def _curve_records(values_by_epoch, *, layer="l1", seed=0, activation="tanh", quantity="I_XT",
                   estimator="binning(bins=30)"):
    return [{"run": "r", "seed": seed, "activation": activation, "epoch": e, "layer": layer,
             "quantity": quantity, "estimator": estimator, "value": float(v), "units": "bits"}
            for e, v in enumerate(values_by_epoch)]


def _rise_fall(peak_epoch=30, n=100, peak=3.0, final=2.0):
    e = np.arange(n)
    rise = 1.0 + (peak - 1.0) * np.minimum(e / peak_epoch, 1.0)
    fall = (peak - final) * np.maximum(e - peak_epoch, 0) / (n - 1 - peak_epoch)
    return rise - fall


def test_to_frame_has_exactly_the_record_columns():
    result = PlaneResult(_curve_records([1.0, 2.0]))
    frame = result.to_frame()
    assert tuple(frame.columns) == COLUMNS
    assert len(frame) == 2 and frame["value"].dtype == np.float64
    assert result.to_records()[1]["value"] == 2.0


def test_phases_on_a_rise_then_fall_curve():
    records = _curve_records(_rise_fall()) + _curve_records(np.linspace(1, 3, 100), layer="l2")
    records += _curve_records(np.linspace(0.2, 0.9, 100), quantity="I_TY")
    phases = PlaneResult(records).phases(threshold=0.05, smooth=1).set_index("layer")
    assert phases.loc["l1", "fitting_end_epoch"] == 30
    assert phases.loc["l1", "peak_I_XT"] == pytest.approx(3.0)
    assert phases.loc["l1", "final_I_XT"] == pytest.approx(2.0)
    assert phases.loc["l1", "relative_drop"] == pytest.approx(1 / 3)
    assert phases.loc["l1", "compresses"]
    assert phases.loc["l1", "compression_start_epoch"] == 30
    assert phases.loc["l1", "I_TY_gain"] == pytest.approx(0.9 - (0.2 + 0.7 * 30 / 99))
    assert phases.loc["l2", "fitting_end_epoch"] == 99 and not phases.loc["l2", "compresses"]
    assert phases["compression_start_epoch"].isna().tolist() == [False, True]
    smoothed = PlaneResult(records).phases(smooth=5).set_index("layer")
    assert abs(smoothed.loc["l1", "fitting_end_epoch"] - 30) <= 2


def test_compression_scores_mean_and_t_interval_over_seeds():
    finals = [2.0, 2.4, 1.5]
    records = [r for s, f in enumerate(finals) for r in _curve_records(_rise_fall(final=f), seed=s)]
    scores = PlaneResult(records).compression_scores(ci=0.9, smooth=1)
    row = scores.iloc[0]
    per_seed = np.array([1 - f / 3.0 for f in finals])
    half = stats.t.ppf(0.95, 2) * per_seed.std(ddof=1) / math.sqrt(3)
    assert row["n_seeds"] == 3
    assert row["score"] == pytest.approx(per_seed.mean())
    assert row["score_low"] == pytest.approx(per_seed.mean() - half)
    assert row["score_high"] == pytest.approx(per_seed.mean() + half)
    assert row["peak_I_XT"] == pytest.approx(3.0) and row["final_I_XT"] == pytest.approx(np.mean(finals))
    assert row["compresses"]


def test_single_seed_has_no_interval_and_flat_curve_scores_zero():
    scores = PlaneResult(_curve_records([1.0, 1.0, 1.0])).compression_scores()
    assert scores.loc[0, "score"] == 0.0 and math.isnan(scores.loc[0, "score_low"])
    assert not scores.loc[0, "compresses"]


def test_dpi_violations_flag_a_planted_violation():
    records = []
    values = {"a": [5.0, 5.0, 5.0], "b": [4.0, 4.0, 4.0], "c": [3.0, 3.0, 4.5]}
    for layer, curve in values.items():
        records += _curve_records(curve, layer=layer)
        records += _curve_records([0.5, 0.5, 0.5], layer=layer, quantity="I_TY")
    violations = PlaneResult(records).dpi_violations(tol=1e-9)
    assert len(violations) == 1
    row = violations.iloc[0]
    assert (row["epoch"], row["quantity"], row["layer"], row["next_layer"]) == (2, "I_XT", "b", "c")
    assert row["excess"] == pytest.approx(0.5)
    assert PlaneResult(records).dpi_violations(tol=0.6).empty


def test_summary_mean_over_seeds_merge_and_select():
    a = PlaneResult(_curve_records(_rise_fall(), seed=0) + _curve_records(np.full(100, 0.8), quantity="I_TY"))
    b = PlaneResult(_curve_records(_rise_fall(final=1.0), seed=1)
                    + _curve_records(np.full(100, 0.6), seed=1, quantity="I_TY"))
    both = a.merge(b)
    assert len(both) == len(a) + len(b) and both.seeds == [0, 1]
    summary = both.summary(smooth=1)
    assert summary["tanh"]["l1"] == pytest.approx({"peak_I_XT": 3.0, "final_I_XT": 1.5, "final_I_TY": 0.7})
    mean = both.mean_over_seeds()
    last = mean[(mean["epoch"] == 99) & (mean["quantity"] == "I_XT")].iloc[0]
    assert last["value"] == pytest.approx(1.5) and last["n_seeds"] == 2
    assert len(both.select(seed=1)) == len(b)
    # re-recording replaces, never duplicates
    assert len(a.merge(a)) == len(a)
    with pytest.raises(InfoLensError, match="'estimator' parameter"):
        both.merge(PlaneResult(_curve_records([1.0], estimator="kde"))).summary()


def test_bad_records_raise():
    good = _curve_records([1.0])[0]
    with pytest.raises(InfoLensError, match="without value"):
        PlaneResult([{k: v for k, v in good.items() if k != "value"}])
    with pytest.raises(InfoLensError, match="quantity"):
        PlaneResult([{**good, "quantity": "H_T"}])
    with pytest.raises(InfoLensError, match="single unit"):
        PlaneResult([good, {**good, "epoch": 1, "units": "nats"}])
    with pytest.raises(InfoLensError, match="'threshold' parameter"):
        PlaneResult([good]).phases(threshold=2.0)
