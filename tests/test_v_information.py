"""Usable (V-) information: closed-form limits (T = Y gives H(Y), independence gives 0), a noisy
channel whose bits fall as the noise grows, pointwise values, flags, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infolens as il
from infolens.probes import probe_activations

SEEDS = (0, 1, 2)


def _labels(n: int = 240, n_classes: int = 4) -> np.ndarray:
    return np.arange(n) % n_classes


@pytest.mark.parametrize("family", ["linear", "mlp"])
def test_t_equal_to_y_reads_h_y(family: str) -> None:
    y = _labels()  # balanced: H(Y) = 2 bits exactly
    for seed in SEEDS:
        est = il.v_information(np.eye(4)[y], y, family=family, n_splits=3, seed=seed)
        assert isinstance(est, il.Estimate) and est.method == "v_information" and est.units == "bits"
        assert est.cap == pytest.approx(2.0)
        # C = 1 keeps the probe's confidence finite: within 0.05 bit of H(Y)
        assert 1.95 <= est.value <= 2.0 + 1e-9, (seed, est)
        assert est.details["entropy_null"] == pytest.approx(2.0)  # stratified: train marginal uniform
        assert est.details["accuracy"] == 1.0 and "at_chance" not in est.flags
        assert est.params["seed"] == seed and est.params["family"] == family and est.params["n_splits"] == 3


@pytest.mark.parametrize(("family", "C"), [("linear", 0.05), ("mlp", 1.0)])
def test_t_independent_of_y_reads_about_zero(family: str, C: float) -> None:
    y = _labels()
    for seed in SEEDS:
        t = np.random.default_rng(seed).normal(size=(y.size, 5))
        est = il.v_information(t, y, family=family, n_splits=4, seed=seed, C=C)
        low, high = est.ci
        assert low - 1e-9 <= 0.0 <= high + 1e-9, (seed, est)  # 0 within the interval
        assert abs(est.value) < 0.05, (seed, est)  # and within 0.05 bit of it
        assert "at_chance" in est.flags and "overfit" not in est.flags


def test_weakly_regularised_linear_fit_on_noise_is_negative_only_with_the_overfit_flag() -> None:
    # 5 noise features, 4 classes, 180 training samples, C = 1: the fit's held-out excess
    # cross-entropy is about d (K - 1) / (2 n_train) = 0.04 nats; negative, flagged when beyond 0
    y = _labels()
    flagged = 0
    for seed in range(4):
        t = np.random.default_rng(seed).normal(size=(y.size, 5))
        est = il.v_information(t, y, n_splits=4, seed=seed, C=1.0)
        assert -0.15 < est.value < 0 and "negative" in est.flags, (seed, est)
        assert ("overfit" in est.flags) == (est.ci[1] < 0), (seed, est)
        flagged += "overfit" in est.flags
    assert flagged >= 1  # seed 0's whole interval is below 0


def test_imbalanced_labels_null_model_is_the_fitted_marginal() -> None:
    y = np.array([0] * 180 + [1] * 60)  # H(Y) = 0.811 bits
    t = np.random.default_rng(0).normal(size=(y.size, 3))
    est = il.v_information(t, y, n_splits=3)
    assert est.cap == pytest.approx(0.75 * math.log2(4 / 3) + 0.25 * 2)
    assert est.details["entropy_null"] == pytest.approx(est.cap, abs=0.01)
    assert abs(est.value) < 0.05 and est.details["chance_accuracy"] == pytest.approx(0.75)


@pytest.mark.parametrize("family", ["linear", "mlp"])
def test_noisy_channel_more_noise_fewer_bits(family: str) -> None:
    y = _labels(320)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        values = []
        for noise in (0.3, 1.0, 3.0):
            t = np.eye(4)[y] + noise * rng.normal(size=(y.size, 4))
            values.append(il.v_information(t, y, family=family, n_splits=3, seed=seed).value)
        # gaps between the levels are > 0.3 bit at these noise levels; 0.1 bit margin
        assert values[0] > values[1] + 0.1 > values[2] + 0.2, (seed, values)
        assert values[2] > -0.1


def test_pointwise_values_average_to_the_estimate_and_find_mislabelled_samples() -> None:
    y = _labels(320)
    t = np.eye(4)[y] + 0.3 * np.random.default_rng(0).normal(size=(y.size, 4))
    flipped = np.arange(0, 320, 40)
    y_noisy = y.copy()
    y_noisy[flipped] = (y[flipped] + 1) % 4
    est = il.v_information(t, y_noisy, n_splits=3, test_size=0.5)
    pvi, rows, count = np.array(est.pointwise), np.array(est.pointwise_index), np.array(est.pointwise_count)
    assert count.sum() == 3 * 160 and np.isfinite(pvi).all() and (count >= 1).all()
    assert pvi.shape == rows.shape and (np.diff(rows) > 0).all()
    # one held-out sample's PVI per split averages to the split's estimate: with every row held out
    # once per split, the count-weighted mean of the per-row means is the mean over splits
    assert np.sum(pvi * count) / count.sum() == pytest.approx(est.value, abs=1e-9)
    seen = np.intersect1d(flipped, rows)
    assert seen.size >= 4
    # mislabelled samples have negative PVI and are among the lowest of all held-out samples
    by_row = dict(zip(rows.tolist(), pvi.tolist(), strict=True))
    assert all(by_row[i] < 0 for i in seen)
    hardest = rows[np.argsort(pvi)][:2 * flipped.size]
    assert set(seen.tolist()) <= set(hardest.tolist())


def test_nats_and_bits_agree() -> None:
    y = _labels()
    t = np.eye(4)[y] + np.random.default_rng(0).normal(size=(y.size, 4))
    bits = il.v_information(t, y, n_splits=3)
    nats = il.v_information(t, y, n_splits=3, units="nats")
    assert nats.value == pytest.approx(bits.value * math.log(2))


def test_probe_layers_bits_are_the_v_information() -> None:
    y = _labels()
    t = np.eye(4)[y] + np.random.default_rng(0).normal(size=(y.size, 4))
    report = probe_activations({"t": t}, y, n_splits=3, C=1.0)
    est = il.v_information(t, y, n_splits=3, C=1.0)
    assert report.mi_lower_bound[0] == pytest.approx(est.value, abs=1e-6)
    assert report.mi_lower_bound_ci[0] == pytest.approx(est.ci, abs=1e-6)


def test_auto_regularisation_is_chosen_on_validation_and_stated() -> None:
    from infolens.probes import C_GRID

    y = _labels(200)
    rng = np.random.default_rng(0)
    # a wide layer of noise with 2 informative units: C = 1 overfits, "auto" picks a stronger penalty
    t = np.concatenate([np.eye(4)[y][:, :2] + rng.normal(size=(200, 2)), rng.normal(size=(200, 150))], axis=1)
    auto = il.v_information(t, y, n_splits=3)
    weak = il.v_information(t, y, n_splits=3, C=1.0)
    assert auto.params["C"] == "auto" and auto.details["C"] in C_GRID and auto.details["C"] < 1.0
    assert auto.value > weak.value + 0.1, (auto, weak)
    assert il.v_information(t[:, :4], y, n_splits=2, family="mlp").details["C"] == 1.0


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"family": "svm"}, "'family' parameter"),
    ({"n_splits": 1}, "'n_splits' parameter"),
    ({"test_size": 1.0}, "'test_size' parameter"),
    ({"C": 0.0}, "'C' parameter"),
    ({"C": "big"}, "'C' parameter"),
    ({"units": "dits"}, "units"),
])
def test_bad_parameters_name_themselves(kwargs: dict, name: str) -> None:
    y = _labels(40)
    with pytest.raises(il.InfoLensError, match=name):
        il.v_information(np.eye(4)[y], y, **kwargs)


def test_unknown_family_lists_the_choices() -> None:
    y = _labels(40)
    with pytest.raises(il.InfoLensError, match="linear.*mlp"):
        il.v_information(np.eye(4)[y], y, family="svm")


def test_nan_and_too_few_samples_per_class_are_refused() -> None:
    y = _labels(40)
    t = np.eye(4)[y]
    t[3, 1] = np.nan
    with pytest.raises(il.InfoLensError, match="'t' parameter"):
        il.v_information(t, y)
    few = np.array([0] * 30 + [1])  # one sample of class 1: never in both parts of a split
    with pytest.raises(il.InfoLensError, match="'y' parameter"):
        il.v_information(np.zeros((31, 2)), few)
    with pytest.raises(il.InfoLensError, match="'y' parameter"):
        il.v_information(np.zeros((40, 2)), y[:30])


@pytest.mark.parametrize("family", ["linear", "mlp"])
def test_seeded_calls_repeat_and_tensors_match_arrays(family: str) -> None:
    import torch

    y = _labels(160)
    t = np.eye(4)[y] + np.random.default_rng(0).normal(size=(y.size, 4))
    first = il.v_information(t, y, family=family, n_splits=2, seed=5)
    again = il.v_information(torch.tensor(t), torch.tensor(y), family=family, n_splits=2, seed=5)
    assert first.value == pytest.approx(again.value, abs=1e-9)
    assert first.pointwise == pytest.approx(again.pointwise, abs=1e-9)
    other = il.v_information(t, y, family=family, n_splits=2, seed=6)
    assert other.value != first.value  # another seed draws other splits
