"""The public estimator API: consistency on known-MI cases, intervals, permutation tests, flags, bad input.

Tolerances are stated per estimator where they are used and derived from its known spread and
bias at N = 10,000; k-NN methods are tested only when :mod:`infolens.estimators.knn` exists.
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings

import numpy as np
import pytest

import infolens as il
from infolens import Estimate, InfoLensError, InfoLensWarning
from infolens.data import correlated_gaussians

HAS_KNN = importlib.util.find_spec("infolens.estimators.knn") is not None
needs_knn = pytest.mark.skipif(not HAS_KNN, reason="infolens.estimators.knn is not there yet")


# ============================================================================= consistency

def gaussian_sd(d: int, rho: float, n: int) -> float:
    """sd of the Gaussian plug-in MI of d independent pairs: Var(-1/2 ln(1 - r^2)) = rho^2 / n per
    pair (delta method), times 1.25 for the estimated zero cross-covariances (measured at d = 5:
    0.0152 vs 0.0134 over 200 seeds)."""
    return 1.25 * math.sqrt(d * rho**2 / n)


# method -> tolerance(d, rho, n) in nats
CONSISTENT_MI = {
    # 5 sd + the plug-in bias dx dy / (2n) of a Gaussian fit
    "gaussian": lambda d, rho, n: 5 * gaussian_sd(d, rho, n) + d * d / (2 * n),
    # exact copula: same spread (ranks lose ~nothing for Gaussians), same bias
    "gaussian_copula": lambda d, rho, n: 5 * gaussian_sd(d, rho, n) + d * d / (2 * n),
    # KSG (k = 3): sd ~1.5x the Gaussian fit (Kraskov et al. 2004, fig. 3) and a negative bias
    # growing with the joint dimension: measured -0.015, +0.014 and -0.20 nats at d = 1, 2, 5
    # (N = 1e4, rho = 0.6), so 0.05 nats per dimension pair is allowed
    "ksg": lambda d, rho, n: 5 * 1.5 * gaussian_sd(d, rho, n) + 0.05 * d,
}
CONSISTENCY_CASES = [
    # KSG in a 10-D joint space at N = 1e4 takes ~10 s on 2 busy cores
    pytest.param(method, d, marks=[pytest.mark.slow] if (method, d) == ("ksg", 5) else [])
    for method in CONSISTENT_MI for d in (1, 2, 5)
]


@pytest.mark.parametrize(("method", "d"), CONSISTENCY_CASES)
def test_consistent_mi_estimators_on_correlated_gaussians(method: str, d: int) -> None:
    if method == "ksg" and not HAS_KNN:
        pytest.skip("infolens.estimators.knn is not there yet")
    n, rho = 10_000, 0.6
    x, y, truth = correlated_gaussians(n, dim=d, rho=rho, seed=20 + d)
    est = il.estimate_mi(x, y, method=method, units="nats")
    assert abs(est.value - truth) <= CONSISTENT_MI[method](d, rho, n), (est.value, truth)


@needs_knn
@pytest.mark.parametrize("d", [1, 2, 5])
def test_kl_entropy_on_gaussians(d: int) -> None:
    n = 10_000
    x = np.random.default_rng(30 + d).standard_normal((n, d))
    truth = 0.5 * d * math.log(2 * math.pi * math.e)
    # sd of the KL entropy ~ sqrt(Var[ln p(X)] / n) = sqrt(d / 2 / n); bias allowance 0.01 nats
    # per dimension (measured +0.013, -0.005, -0.077 nats at d = 1, 2, 5)
    est = il.estimate_entropy(x, method="kl", units="nats")
    assert abs(est.value - truth) <= 5 * math.sqrt(d / (2 * n)) + 0.01 * d


def mixed_case(n: int, mu: float, seed: int):
    """Y fair bit, X | Y ~ N(+-mu, 1): I = h(mixture) - 1/2 ln(2 pi e)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return rng.standard_normal(n) + mu * (2 * y - 1), y


@pytest.mark.parametrize("mu", [0.5, 1.0, 2.0])
def test_mixed_continuous_discrete_case(mu: float, mixture_entropy) -> None:
    n = 10_000
    truth = mixture_entropy(np.array([-mu, mu]), 1.0) - 0.5 * math.log(2 * math.pi * math.e)
    x, y = mixed_case(n, mu, seed=40)
    # 20 equal-mass bins of X: sd ~0.005 nats (measured over 10 seeds), discretization loss
    # <= 0.005 and plug-in bias 19 / (2n) = 0.001: tolerance 5 sd + 0.006
    binned = il.estimate_mi(x, y, method="adaptive_binning", bins=20, units="nats")
    assert abs(binned.value - truth) <= 0.031
    # the Gaussian copula is a lower bound for 1-D variables (up to its 5 sd of sampling error)
    copula = il.estimate_mi(x, y, method="gaussian_copula", units="nats")
    assert copula.value <= truth + 0.025
    if HAS_KNN:
        with warnings.catch_warnings():  # api warns about the ties of the discrete y (see report)
            warnings.simplefilter("ignore", InfoLensWarning)
            mixed = il.estimate_mi(x, y, method="mixed", units="nats")
        # k-NN sd ~1.5x binning's, small bias (measured +0.008, +0.003, +0.003 nats)
        assert abs(mixed.value - truth) <= 0.04


# ============================================================================= the result object

def test_estimate_object_carries_everything() -> None:
    x, y, truth = correlated_gaussians(500, dim=2, rho=0.5, seed=1)
    est = il.estimate_mi(x, y, method="gaussian", units="bits")
    assert isinstance(est, Estimate)
    assert (est.quantity, est.method, est.units) == ("mi", "gaussian", "bits")
    assert est.n_samples == est.n_used == 500
    assert est.ci is None and est.p_value is None and est.cap is None and est.flags == ()
    nats = il.estimate_mi(x, y, method="gaussian", units="nats")
    assert est.value == pytest.approx(nats.value / math.log(2), rel=1e-12)
    assert float(est) == est.value and est.is_finite
    payload = json.loads(json.dumps(est.to_dict()))
    assert payload["value"] == est.value and payload["method"] == "gaussian"
    assert "mi=" in repr(est) and "bits" in repr(est)
    with pytest.raises(AttributeError, match="cannot assign to field 'value'"):
        est.value = 0.0  # frozen


def test_auto_picks_a_discrete_estimator_for_integers() -> None:
    x = np.random.default_rng(2).integers(0, 4, 300)
    assert il.estimate_entropy(x).method == "miller_madow"
    assert il.estimate_mi(x, x[::-1]).method == "miller_madow"
    assert il.estimate_mi(x.astype(bool), x[::-1]).method == "miller_madow"


@needs_knn
def test_auto_picks_knn_for_floats() -> None:
    x, y, _ = correlated_gaussians(300, dim=1, seed=3)
    assert il.estimate_entropy(x).method == "kl"
    assert il.estimate_cmi(x, y, x[::-1]).method == "ksg"
    assert il.estimate_mi(x, y).details["chosen"] in ("gaussian_copula", "ksg_copula")  # test_auto.py
    with warnings.catch_warnings():  # api warns about the ties of the discrete y (see report)
        warnings.simplefilter("ignore", InfoLensWarning)
        assert il.estimate_mi(x, (y > 0).astype(int)[:, 0]).method == "mixed"


def test_params_record_defaults() -> None:
    x = np.random.default_rng(4).random((100, 2))
    est = il.estimate_entropy(x, method="binning")
    assert dict(est.params) == {"bins": 30, "bin_width": None, "range": None, "correction": "plugin"}


# ============================================================================= intervals and tests

def test_bootstrap_interval_covers_the_truth() -> None:
    """Seeded coverage of the 95% percentile bootstrap of the Gaussian MI: >= 16 of 20."""
    covered = 0
    for seed in range(20):
        x, y, truth = correlated_gaussians(1000, dim=1, rho=0.6, seed=100 + seed)
        est = il.estimate_mi(x, y, method="gaussian", units="nats", ci=0.95, n_resamples=100,
                             random_state=seed)
        assert est.ci[0] <= est.value <= est.ci[1] and est.ci_level == 0.95
        covered += est.ci[0] <= truth <= est.ci[1]
    # P(Binomial(20, 0.95) <= 15) = 0.016
    assert covered >= 16


def test_bootstrap_interval_of_a_discrete_estimator(joint_sampler) -> None:
    pxy = np.array([[0.3, 0.1], [0.1, 0.5]])
    truth = il.mutual_information(pxy)
    x, y = joint_sampler(pxy, 2000, 5)
    est = il.estimate_mi(x, y, method="miller_madow", ci=0.9, n_resamples=200, random_state=0)
    assert est.ci[0] <= truth <= est.ci[1]
    assert est.ci[1] - est.ci[0] < 0.1  # sd ~0.012 bits at n = 2000
    again = il.estimate_mi(x, y, method="miller_madow", ci=0.9, n_resamples=200, random_state=0)
    assert again.ci == est.ci  # seeded


def test_subsampling_interval_for_kde() -> None:
    """KDE and k-NN use half-samples without replacement (duplicates would be zero distances).

    The interval is the basic (reverse-percentile) subsampling interval: for the KDE bounds,
    whose value depends on the number of mixture components n, it is off-centre and need not
    contain the estimate, so only its shape is checked here.
    """
    x = np.random.default_rng(6).standard_normal((400, 2))
    est = il.estimate_entropy(x, method="kde", ci=0.95, n_resamples=20, random_state=0)
    assert est.ci is not None and math.isfinite(est.ci[0]) and est.ci[0] < est.ci[1]
    assert est.ci[1] - est.ci[0] < 0.5


def test_max_samples_subsamples_and_says_so() -> None:
    x, y, truth = correlated_gaussians(4000, dim=1, rho=0.6, seed=7)
    est = il.estimate_mi(x, y, method="gaussian", units="nats", max_samples=800, random_state=0)
    assert est.n_used == 800 and est.n_samples == 4000
    assert "subsampled" in est.flags
    assert est.ci[0] <= truth <= est.ci[1]


@pytest.mark.parametrize("method", ["plugin", "gaussian"])
def test_permutation_test(method: str) -> None:
    rng = np.random.default_rng(8)
    if method == "plugin":
        x = rng.integers(0, 3, 600)
        dependent = np.where(rng.random(600) < 0.3, x, rng.integers(0, 3, 600))
        independent = rng.integers(0, 3, 600)
    else:
        x = rng.standard_normal(600)
        dependent = 0.3 * x + rng.standard_normal(600)
        independent = rng.standard_normal(600)
    dep = il.estimate_mi(x, dependent, method=method, n_permutations=99, random_state=0)
    assert dep.p_value == pytest.approx(0.01)  # the smallest possible: 1 / (99 + 1)
    ind = il.estimate_mi(x, independent, method=method, n_permutations=99, random_state=0)
    assert ind.p_value > 0.05
    # the permutations do not change the estimate itself
    assert ind.value == il.estimate_mi(x, independent, method=method).value


# ========================================================================= flags: never silently impossible

def test_negative_mi_is_reported_raw_and_flagged() -> None:
    # plug-in MI of this table is exactly 0; Miller-Madow adds (1 + 1 - 3) / (2 * 4) = -1/8 nat
    x, y = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    est = il.estimate_mi(x, y, method="miller_madow", units="nats")
    assert est.value == pytest.approx(-0.125)
    assert "negative" in est.flags


def test_above_cap_is_flagged_with_a_warning() -> None:
    # a Gaussian MI of a binary label and a tight copy of it: 3.9 nats against H(Y) = ln 2
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = y + 0.01 * rng.normal(size=200)
    with pytest.warns(InfoLensWarning, match="above the entropy of the discrete variable"):
        est = il.estimate_mi(x, y, method="gaussian", units="nats")
    assert "above_cap" in est.flags
    assert est.value > est.cap + 2 / 200  # beyond the K / N allowance
    assert est.cap == pytest.approx(il.estimate_entropy(y, method="plugin", units="nats").value)


def test_mixed_within_its_small_sample_excess_is_not_flagged() -> None:
    # regression: two far-apart clusters labelled by y overshoot H(Y) by ln n_s - psi(n_s) < K/N
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    x = y * 100 + rng.normal(size=60)
    est = il.estimate_mi(x, y, method="mixed", units="nats")
    assert est.cap < est.value <= est.cap + 2 / 60
    assert "above_cap" not in est.flags


def test_bias_corrected_estimate_is_not_flagged_against_its_own_cap() -> None:
    # regression: Y = X under Miller-Madow equals H_MM(Y); the cap is H_MM(Y), not plug-in H(Y)
    x = np.random.default_rng(9).integers(0, 8, 200)
    est = il.estimate_mi(x, x, method="miller_madow", units="nats")
    assert "above_cap" not in est.flags
    assert est.cap == pytest.approx(il.estimate_entropy(x, method="miller_madow", units="nats").value)


def test_near_log_n_is_flagged_with_a_warning() -> None:
    ids = np.arange(64)
    with pytest.warns(InfoLensWarning, match="within 1 nat of ln N"):
        est = il.estimate_mi(ids, ids, method="plugin", units="nats")
    assert est.value == pytest.approx(math.log(64))
    assert "near_log_n" in est.flags and "above_cap" not in est.flags


def test_ordinary_estimates_raise_no_warning() -> None:
    x, y, _ = correlated_gaussians(1000, dim=1, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = il.estimate_mi(x, y, method="gaussian")
    assert est.flags == ()


def small_cases() -> list[tuple[str, str, tuple]]:
    """(quantity, method, args) on small or awkward data for every non-neural method available."""
    rng = np.random.default_rng(11)
    ints = rng.integers(0, 3, (12, 1))
    floats = rng.standard_normal((12, 2))
    repeated = np.repeat(rng.standard_normal((4, 2)), 3, axis=0)  # ties: 4 distinct rows
    cases = []
    for name, spec in il.METHODS.items():
        if spec.family == "neural" or (spec.family == "knn" and not HAS_KNN):
            continue
        data = ints if spec.family == "discrete" else floats
        other = data[::-1].copy()
        for quantity, args in [("entropy", (data,)), ("mi", (data, other)),
                               ("cmi", (data, other, rng.permutation(data)))]:
            if spec.supports(quantity):
                cases.append((quantity, name, args))
        if spec.family in ("binning", "kde") or name == "plugin":
            cases.append(("entropy", name, (repeated if spec.family != "discrete" else ints[:2],)))
    return cases


@pytest.mark.parametrize(("quantity", "method", "args"), small_cases(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_awkward_small_data_give_finite_values_that_do_not_depend_on_row_order(
        quantity: str, method: str, args: tuple) -> None:
    # A sample is a set: permuting its rows (the same permutation for every variable) must not move
    # any estimator's value beyond float summation noise, and NaN is never an answer.
    fn = {"entropy": il.estimate_entropy, "mi": il.estimate_mi, "cmi": il.estimate_cmi}[quantity]
    order = np.random.default_rng(3).permutation(len(args[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfoLensWarning)
        est = fn(*args, method=method)
        permuted = fn(*(a[order] for a in args), method=method)
    assert est.is_finite
    assert all(math.isfinite(v) for v in est.details.values() if not isinstance(v, str))
    assert permuted.value == pytest.approx(est.value, rel=1e-9, abs=1e-12)


# ============================================================================= bad input

X = np.random.default_rng(12).standard_normal((50, 2))
Y = np.random.default_rng(13).standard_normal(50)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: il.estimate_mi(np.where(X > 1, np.nan, X), Y),
     r"'x' parameter of estimate_mi must be finite \(no NaN or inf\). Got \d+ non-finite values"),
    (lambda: il.estimate_entropy(np.r_[Y, np.inf], method="gaussian"), r"'x' .*finite.*Got 1 non-finite"),
    (lambda: il.estimate_mi(X, Y[:-1], method="gaussian"),
     r"'y' parameter of estimate_mi must be as long as 'x' \(50 samples\). Got 49 samples instead"),
    (lambda: il.estimate_cmi(X, Y, Y[:10], method="gaussian"), r"'z' .*as long as 'x'"),
    (lambda: il.estimate_mi(X[:3], Y[:3], method="ksg", k=3),
     r"'x' parameter of estimate_mi must be an array with at least 4 samples. Got 3 samples"),
    (lambda: il.estimate_mi(X[:5], Y[:5], method="ksg", k=5), r"at least 6 samples. Got 5"),
    (lambda: il.estimate_mi(X, np.ones(50), method="gaussian"),
     r"'y' parameter of estimate_mi must be free of constant \(zero-variance\) columns"),
    (lambda: il.estimate_mi(X, np.c_[Y, np.zeros(50)], method="gaussian_copula"),
     r"'y' .*constant columns \[1\]"),
    (lambda: il.estimate_mi(X + 1j, Y), r"'x' .*real numeric array \(not complex, object or "
                                        r"string\). Got an array of shape \(50, 2\) and dtype complex128"),
    (lambda: il.estimate_mi(X, Y.astype(object), method="gaussian"), r"'y' .*dtype object"),
    (lambda: il.estimate_entropy(np.array(["a", None, "c"], dtype=object)), r"'x' .*real numeric"),
    (lambda: il.estimate_entropy(np.zeros((4, 2, 2))), r"'x' .*shape \(n,\) or \(n, d\)"),
    (lambda: il.estimate_entropy(np.zeros((4, 0))), r"'x' .*at least one column"),
    (lambda: il.estimate_mi(X, Y, method="magic"),
     r"'method' parameter of estimate_mi must be one of 'auto', 'plugin'.*Got 'magic' instead"),
    (lambda: il.estimate_entropy(X, method="gaussian_copula"), r"'method' .*Got 'gaussian_copula'"),
    (lambda: il.estimate_mi(X, Y, units="bytes"),
     r"'units' parameter of estimate_mi must be one of 'bits', 'nats'. Got 'bytes' instead"),
    (lambda: il.estimate_mi(X, Y, method="ksg", k=0),
     r"'k' parameter of estimate_mi must be an int >= 1. Got 0 instead"),
    (lambda: il.estimate_mi(X, Y, method="ksg", k=2.0), r"'k' .*int >= 1. Got 2.0 instead"),
    (lambda: il.estimate_mi(X, Y, method="ksg", k=True), r"'k' .*Got True instead"),
    (lambda: il.estimate_mi(X, Y, method="gaussian", k=3),
     r"'k' parameter of estimate_mi must be a parameter of method='gaussian' \(allowed: bias_correct\). "
     r"Got an unknown parameter 'k' instead"),
    (lambda: il.estimate_mi(X, Y, method="kde", noise=0.1), r"'noise' .*allowed: bound, noise_var"),
    (lambda: il.estimate_mi(X, Y, method="kde", bound="tight"), r"'bound' .*'upper', 'lower'"),
    (lambda: il.estimate_mi(X, Y, method="gaussian", ci=1.5),
     r"'ci' parameter of estimate_mi must be a float strictly between 0 and 1. Got 1.5"),
    (lambda: il.estimate_mi(X, Y, method="gaussian", ci=0.9, n_resamples=5),
     r"'n_resamples' .*int >= 10. Got 5"),
    (lambda: il.estimate_mi(X, Y, method="gaussian", n_permutations=0), r"'n_permutations' .*>= 1"),
    (lambda: il.estimate_mi(X, Y, method="gaussian", max_samples=2), r"'max_samples' .*>= 3. Got 2"),
    (lambda: il.estimate_mi(X, Y, method="mine", ci=1.5), r"'ci' parameter of estimate_mi"),
])
def test_bad_input_names_the_parameter_and_the_value(call, match: str) -> None:
    with pytest.raises(InfoLensError, match=match):
        call()


def test_ragged_input_raises_infolens_error() -> None:
    with pytest.raises(InfoLensError, match="'x'"):
        il.estimate_mi([[1.0, 2.0], [3.0]], [1.0, 2.0])


def test_permutations_refused_for_neural_names_n_permutations() -> None:
    with pytest.raises(InfoLensError, match="'n_permutations'"):
        il.estimate_mi(X, Y, method="mine", n_permutations=10)
    with pytest.raises(InfoLensError, match="'n_permutations'.*train a network"):
        il.estimate_mi(X, Y, method="latent_mi", n_permutations=10)


def test_subsample_count_is_not_converted_to_bits() -> None:
    est = il.estimate_mi(X, Y, method="gaussian", max_samples=10, random_state=0, units="bits")
    assert est.details["n_subsamples"] == 5.0


@pytest.mark.parametrize("method", ["plugin", "binning", "gaussian", "gaussian_copula", "kde"])
def test_torch_inputs_give_the_numpy_value(method: str) -> None:
    import torch

    rng = np.random.default_rng(14)
    if method == "plugin":
        x, y = rng.integers(0, 4, 300), rng.integers(0, 3, 300)
    else:
        x, y = rng.standard_normal((300, 2)), rng.standard_normal((300, 1))
    if method == "kde":
        y = (y > 0).astype(np.int64)
    expected = il.estimate_mi(x, y, method=method).value
    got = il.estimate_mi(torch.from_numpy(x), torch.from_numpy(y), method=method).value
    assert got == pytest.approx(expected, abs=1e-12)


def test_subsampled_estimate_keeps_method_details_and_permutes_within_a_subsample() -> None:
    rng = np.random.default_rng(5)
    t = rng.normal(size=(600, 2))
    labels = (t[:, 0] > 0).astype(int)
    est = il.estimate_mi(t, labels, method="kde", noise_var=0.1, max_samples=200, random_state=0,
                         n_permutations=19)
    assert "subsampled" in est.flags and est.n_used == 200
    assert est.details["lower"] <= est.details["upper"]
    assert est.details["n_subsamples"] == 3.0
    assert est.p_value == pytest.approx(1 / 20)  # strongly dependent: no permutation reaches it
