"""Conditional MI with discrete variables among X, Y, Z (``method="ksg_discrete"``, the plug-in and
Miller-Madow CMI), against closed forms, numerical integration, exact tables and ennemi's tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import infolens as il
from conftest import gaussian_mixture_entropy_1d
from infolens import InfoLensError

SEEDS = [0, 1, 2]


def _mi_class_gaussian(sigma: float, classes: int) -> float:
    """I(X; Y) in nats for Y uniform on 0..classes-1 and X = Y + sigma N(0, 1), by quadrature:
    h(X) of the Gaussian mixture minus h(X | Y) = ln(2 pi e sigma^2) / 2."""
    h_x = gaussian_mixture_entropy_1d(np.arange(classes), sigma**2)
    return h_x - 0.5 * math.log(2 * math.pi * math.e * sigma**2)


def test_the_quadrature_meets_its_limits() -> None:
    # far-apart classes: I = ln K; merged classes: I -> 0
    assert _mi_class_gaussian(0.01, 4) == pytest.approx(math.log(4), abs=1e-9)
    assert _mi_class_gaussian(50.0, 4) == pytest.approx(0.0, abs=1e-3)


# ------------------------------------------------------------------ (a) Z discrete, X, Y continuous
@pytest.mark.parametrize("seed", SEEDS)
def test_discrete_z_gives_the_mixture_of_gaussian_cmis(seed: int) -> None:
    # Z ~ Bernoulli(0.4); (X, Y) | Z=z bivariate normal, correlation rho_z:
    # I(X; Y | Z) = -sum_z p(z) ln(1 - rho_z^2) / 2 = 0.2326 nats. Spread of one estimate at
    # N = 2000 is about 0.02 nats: tolerance 0.06.
    rng = np.random.default_rng(seed)
    n, p1, rho = 2000, 0.4, np.array([0.3, 0.8])
    z = (rng.random(n) < p1).astype(np.int64)
    x = rng.normal(size=n)
    y = rho[z] * x + np.sqrt(1 - rho[z] ** 2) * rng.normal(size=n)
    truth = -0.5 * ((1 - p1) * math.log(1 - rho[0] ** 2) + p1 * math.log(1 - rho[1] ** 2))
    assert truth == pytest.approx(0.2326, abs=1e-4)
    est = il.estimate_cmi(x, y, z, units="nats")
    assert est.method == "ksg_discrete" and est.quantity == "cmi" and est.units == "nats"
    assert est.value == pytest.approx(truth, abs=0.06)


def test_discrete_z_is_the_weighted_sum_of_per_group_ksg() -> None:
    # The discrete metric on Z makes Frenzel-Pompe exactly sum_z p(z) I_KSG(X; Y | Z = z).
    rng = np.random.default_rng(3)
    n = 600
    z = rng.integers(0, 3, n)
    x = rng.normal(size=n)
    y = x * (z + 1) / 3 + rng.normal(size=n)
    est = il.estimate_cmi(x, y, z, units="nats", k=4)
    groups = sum((z == c).mean() * il.estimate_mi(x[z == c], y[z == c], method="ksg", k=4,
                                                  units="nats").value for c in range(3))
    assert est.value == pytest.approx(groups, abs=1e-12)


# ------------------------------------------------------------ (b) Y discrete, Z independent
@pytest.mark.parametrize("seed", SEEDS)
def test_discrete_y_with_an_independent_z_gives_the_mixture_mi(seed: int) -> None:
    # Y uniform on 4 classes, X = Y + 0.5 N(0, 1), Z ~ N(0, 1) independent: I(X; Y | Z) = I(X; Y)
    # = 0.8452 nats by quadrature. Spread at N = 2000 about 0.02 nats: tolerance 0.06.
    rng = np.random.default_rng(seed)
    n = 2000
    y = rng.integers(0, 4, n)
    x = y + 0.5 * rng.normal(size=n)
    z = rng.normal(size=n)
    truth = _mi_class_gaussian(0.5, 4)
    assert truth == pytest.approx(0.8452, abs=1e-4)
    est = il.estimate_cmi(x, y, z, units="nats")
    assert est.method == "ksg_discrete"
    assert est.value == pytest.approx(truth, abs=0.06)
    # the estimator is symmetric in X and Y: the discrete variable may come first
    assert il.estimate_cmi(y, x, z, units="nats").value == pytest.approx(est.value, abs=1e-12)


# ------------------------------------------------------------ (c) Y discrete, Z = X + noise
@pytest.mark.parametrize("seed", SEEDS)
def test_conditioning_on_a_noisy_copy_of_x_removes_what_it_carries(seed: int) -> None:
    # Y uniform on {0, 1}; X = Y + s N1; Z = X + t N2. Y - X - Z is a Markov chain, so
    # I(X; Y | Z) = I(X, Z; Y) - I(Z; Y) = I(X; Y) - I(Z; Y), both mixtures by quadrature:
    # s = t = 0.5 gives 0.3368 - 0.2013 = 0.1355 nats. Spread about 0.02: tolerance 0.05.
    rng = np.random.default_rng(seed)
    n, s, t = 3000, 0.5, 0.5
    y = rng.integers(0, 2, n)
    x = y + s * rng.normal(size=n)
    z = x + t * rng.normal(size=n)
    truth = _mi_class_gaussian(s, 2) - _mi_class_gaussian(math.hypot(s, t), 2)
    assert truth == pytest.approx(0.1355, abs=1e-4)
    est = il.estimate_cmi(x, y, z, units="nats")
    assert est.value == pytest.approx(truth, abs=0.05)
    assert est.value < il.estimate_mi(x, y, units="nats").value - 0.1  # conditioning reduced it


@pytest.mark.parametrize("seed", SEEDS)
def test_two_discrete_variables_given_a_continuous_one(seed: int) -> None:
    # X = [Z + e1 > 0], Y = [Z + e2 > 0]: dependent (I(X;Y) > 0.1 nats), independent given Z.
    rng = np.random.default_rng(seed)
    n = 2000
    z = rng.normal(size=n)
    x = (z + 0.5 * rng.normal(size=n) > 0).astype(np.int64)
    y = (z + 0.5 * rng.normal(size=n) > 0).astype(np.int64)
    assert il.estimate_mi(x, y, method="plugin", units="nats").value > 0.1
    assert il.estimate_cmi(x, y, z, units="nats").value == pytest.approx(0.0, abs=0.03)


# ------------------------------------------------------------------ (d) all discrete
def _cmi_table() -> np.ndarray:
    rng = np.random.default_rng(7)
    table = rng.random((3, 2, 4)) ** 2
    return table / table.sum()


@pytest.mark.parametrize("seed", SEEDS)
def test_all_discrete_cmi_is_the_plug_in_of_the_joint_table(seed: int) -> None:
    pxyz = _cmi_table()
    truth = il.conditional_mutual_information(pxyz, units="nats")
    rng = np.random.default_rng(seed)
    n = 20000
    flat = rng.choice(pxyz.size, size=n, p=pxyz.ravel())
    x, y, z = np.unravel_index(flat, pxyz.shape)
    empirical = np.bincount(flat, minlength=pxyz.size).reshape(pxyz.shape) / n
    plugin = il.estimate_cmi(x, y, z, method="plugin", units="nats")
    # the plug-in estimate is the exact CMI of the empirical table, to rounding
    assert plugin.value == pytest.approx(il.conditional_mutual_information(empirical, units="nats"),
                                         abs=1e-12)
    # Miller-Madow (the default for integers) removes the (|X|-1)(|Y|-1)|Z| / 2N = 0.0004 nats
    # bias of the plug-in; sampling spread about 0.003 nats: tolerance 0.01
    auto = il.estimate_cmi(x, y, z, units="nats")
    assert auto.method == "miller_madow" and auto.flags == ()
    assert auto.value == pytest.approx(truth, abs=0.01)


def test_all_discrete_undersampled_cmi_is_flagged() -> None:
    rng = np.random.default_rng(0)
    x, y, z = (rng.integers(0, 6, 40) for _ in range(3))
    with pytest.warns(il.InfoLensWarning, match="undersampled"):
        assert "undersampled" in il.estimate_cmi(x, y, z, method="plugin").flags


# ------------------------------------------------- labels: strings, several columns, told discrete
def test_string_and_multi_column_labels_are_one_discrete_variable() -> None:
    rng = np.random.default_rng(4)
    n = 800
    bits = rng.integers(0, 2, (n, 2))
    code = 2 * bits[:, 0] + bits[:, 1]
    x = code + 0.7 * rng.normal(size=n)
    z = rng.normal(size=n)
    by_code = il.estimate_cmi(x, code, z)
    by_columns = il.estimate_cmi(x, bits, z)
    by_strings = il.estimate_cmi(x, np.array(["a", "b", "c", "d"])[code].tolist(), z)
    told = il.estimate_cmi(x, code.astype(float), z, discrete_features=["y"])
    by_mask = il.estimate_cmi(x, code.astype(float), z, discrete_features=[False, True, False])
    assert by_columns.value == by_strings.value == told.value == by_mask.value == by_code.value
    # and the integer-valued float, not told, is a continuous variable with ties
    with pytest.warns(il.InfoLensWarning, match="repeated values"):
        assert il.estimate_cmi(x, code.astype(float), z).method == "ksg"


def test_an_interval_comes_from_the_shared_half_sample_resampling() -> None:
    rng = np.random.default_rng(5)
    n = 1200
    y = rng.integers(0, 2, n)
    x = y + 0.5 * rng.normal(size=n)
    z = rng.normal(size=n)
    est = il.estimate_cmi(x, y, z, ci=0.9, n_resamples=20, random_state=0)
    assert est.ci is not None and est.ci_level == 0.9 and est.ci[0] < est.value < est.ci[1]
    truth_bits = _mi_class_gaussian(0.5, 2) / math.log(2)
    assert est.ci[0] - 0.05 < truth_bits < est.ci[1] + 0.05
    again = il.estimate_cmi(x, y, z, ci=0.9, n_resamples=20, random_state=0)
    assert again.ci == est.ci


# ------------------------------------------------------------------ (e) ennemi's own tests
# polsys/ennemi, tests/unit/test_entropy_estimators.py, class TestEstimateConditionalSemiDiscreteMi,
# the same samples (the same numpy generator calls) and ennemi's tolerances. ennemi's
# _estimate_conditional_semidiscrete_mi(x, y, cond) takes the discrete variable as y.
def test_ennemi_irrelevant_condition() -> None:
    rng = np.random.default_rng(51)
    y = rng.choice([0, 2], size=800)
    x = rng.uniform(y, y + 1)
    z = rng.beta(2, 3, size=800)
    assert il.estimate_cmi(x, y, z, units="nats").value == pytest.approx(math.log(2), abs=0.02)


def test_ennemi_condition_increases_mi() -> None:
    rng = np.random.default_rng(53)
    x = rng.normal(0.0, 1.0, size=1500)
    y = rng.normal(0.0, 0.3, size=1500)
    z = x + y
    w = np.sign(x)  # float labels -1.0, 1.0: told discrete
    cond = il.estimate_cmi(z, w, y, discrete_features=["y"], units="nats")
    assert cond.value == pytest.approx(math.log(2), abs=0.02)


def test_ennemi_multiple_levels() -> None:
    rng = np.random.default_rng(54)
    x = rng.gamma(shape=1.5, scale=1.0, size=2000)
    z = rng.normal(size=x.shape)
    w = x + z
    y = np.zeros(x.shape)
    y[x < 0.5] = 1e-4
    y[x > 2.0] = 4
    uncond = il.estimate_mi(w, y, method="ksg_discrete", discrete_features=["y"], k=1, units="nats")
    cond = il.estimate_cmi(w, y, z, discrete_features=["y"], k=1, units="nats")
    p = np.diff(stats.gamma.cdf([0.0, 0.5, 2.0, np.inf], a=1.5))
    expected = float(-(p * np.log(p)).sum())  # H(Y) = 1.0047 nats
    assert uncond.value < cond.value - 0.6
    assert cond.value == pytest.approx(expected, abs=0.06)


def test_ennemi_condition_equal_to_x() -> None:
    rng = np.random.default_rng(52)
    x = rng.normal(0.0, 1.0, size=800)
    y = np.sign(x)
    assert il.estimate_cmi(x, y, x, discrete_features=["y"], units="nats").value == \
        pytest.approx(0.0, abs=0.02)


# ------------------------------------------------------------------ bad input
def test_discrete_features_naming_a_missing_variable_is_refused() -> None:
    x, y, z = np.arange(8.0), np.arange(8) % 2, np.sin(np.arange(8.0))
    for bad in (["w"], [3], [True, False]):
        with pytest.raises(InfoLensError, match=r"The 'discrete_features' parameter of estimate_cmi "
                                                r"must be 'auto', a bool, or the discrete variables "
                                                r"among 'x', 'y', 'z'"):
            il.estimate_cmi(x, y, z, discrete_features=bad)


def test_a_group_too_small_for_k_is_refused_naming_k() -> None:
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(2, 50))
    y = np.r_[np.zeros(47, int), np.ones(3, int)]
    with pytest.raises(InfoLensError, match=r"The 'k' parameter of estimate_cmi must be below the "
                                            r"size of every group .* of 'y' .* Got k=3 with a "
                                            r"group of 3 samples instead"):
        il.estimate_cmi(x, y, z)
    assert math.isfinite(il.estimate_cmi(x, y, z, k=2).value)
    with pytest.raises(InfoLensError, match=r"'k' parameter of estimate_mi .* of 'y'"):
        il.estimate_mi(x, y, method="ksg_discrete")


def test_all_discrete_samples_are_refused_by_the_semi_discrete_method() -> None:
    labels = np.arange(40) % 4
    with pytest.raises(InfoLensError, match=r"The 'discrete_features' parameter of estimate_cmi must "
                                            r"be a mask leaving at least one continuous variable"):
        il.estimate_cmi(labels, labels, labels, method="ksg_discrete")


def test_a_resample_that_leaves_a_group_too_small_is_refused_naming_k() -> None:
    # 6 samples of y = 1 pass the check on the data (k = 3 needs 4), but half-samples keep
    # about 3 of them: the interval cannot be computed, and the error says why
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(2, 200))
    y = np.r_[np.zeros(194, int), np.ones(6, int)]
    assert math.isfinite(il.estimate_cmi(x, y, z).value)
    with pytest.raises(InfoLensError, match=r"The 'k' parameter of the semi-discrete k-NN estimator "
                                            r"must be below .* half-sample of ci="):
        il.estimate_cmi(x, y, z, ci=0.9, n_resamples=30, random_state=0)
    larger = np.r_[np.zeros(160, int), np.ones(40, int)]  # halves keep about 20 of the 40
    assert il.estimate_cmi(x, larger, z, ci=0.9, n_resamples=30, random_state=0).ci is not None
