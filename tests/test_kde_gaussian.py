"""KDE pairwise-distance bounds (Kolchinsky & Tracey 2017) and the Gaussian / Gaussian-copula estimators."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats

import infolens as il
from infolens import InfoLensError
from infolens.data import correlated_gaussians, gaussian_entropy
from infolens.estimators import _pairwise as pairwise
from infolens.estimators import gaussian, kde

# ============================================================================= KDE


@pytest.mark.parametrize(("d", "noise_var"), [(1, 0.1), (3, 0.5), (12, 2.0)])
def test_single_or_coincident_points_give_the_noise_entropy(d: int, noise_var: float) -> None:
    h_noise = 0.5 * d * math.log(2 * math.pi * math.e * noise_var)
    assert kde.noise_entropy(d, noise_var) == pytest.approx(h_noise, abs=1e-12)
    for n in (1, 7):
        x = np.tile(np.arange(d, dtype=np.float64), (n, 1))  # n copies of one point
        value, details = kde.entropy_kde(x, noise_var=noise_var)
        assert details["upper"] == pytest.approx(h_noise, abs=1e-12)
        assert details["lower"] == pytest.approx(h_noise, abs=1e-12)
        assert value == details["upper"]


@pytest.mark.parametrize("n", [2, 5, 600])
def test_points_far_apart_add_log_n(n: int) -> None:
    """Well-separated components: exact entropy is H(noise) + ln N, and both bounds reach it."""
    noise_var = 0.1
    x = np.column_stack([np.arange(n) * 100.0, np.zeros(n)])  # 316 noise sd apart
    value, details = kde.entropy_kde(x, noise_var=noise_var, bound="lower")
    expected = kde.noise_entropy(2, noise_var) + math.log(n)
    assert details["upper"] == pytest.approx(expected, abs=1e-12)
    assert details["lower"] == pytest.approx(expected, abs=1e-12)
    assert value == details["lower"]


@pytest.mark.parametrize("centres", [[0.0, 0.5], [0.0, 1.0], [0.0, 0.3, 1.5, 1.6], [-2.0, 0.0, 0.1]])
def test_bounds_bracket_the_exact_mixture_entropy(centres: list[float], mixture_entropy) -> None:
    c = np.array(centres)
    noise_var = 0.2
    exact = mixture_entropy(c, noise_var)  # by quadrature
    _, details = kde.entropy_kde(c[:, None], noise_var=noise_var)
    assert details["lower"] - 1e-9 <= exact <= details["upper"] + 1e-9
    # the bounds are never looser than the trivial ones H(noise) <= H <= H(noise) + ln N
    assert details["lower"] >= kde.noise_entropy(1, noise_var) - 1e-12
    assert details["upper"] <= kde.noise_entropy(1, noise_var) + math.log(len(c)) + 1e-12


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)),
                  elements=st.floats(-10, 10)),
       st.floats(1e-3, 10.0))
def test_lower_never_exceeds_upper(x: np.ndarray, noise_var: float) -> None:
    _, details = kde.entropy_kde(x, noise_var=noise_var)
    assert details["lower"] <= details["upper"] + 1e-9
    h_noise = kde.noise_entropy(x.shape[1], noise_var)
    assert h_noise - 1e-9 <= details["lower"]
    assert details["upper"] <= h_noise + math.log(len(x)) + 1e-9


def test_upper_bound_is_the_kde_resubstitution_formula() -> None:
    """H_KL = -1/N sum_i ln p_hat(t_i) + d/2, p_hat the Gaussian KDE with covariance s I."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 3)) * [1.0, 0.3, 2.0]
    noise_var = 0.25
    density = np.array([np.mean(stats.multivariate_normal.pdf(x, mean=xi, cov=noise_var * np.eye(3)))
                        for xi in x])
    expected = -np.mean(np.log(density)) + 3 / 2
    _, details = kde.entropy_kde(x, noise_var=noise_var)
    assert details["upper"] == pytest.approx(expected, abs=1e-10)


def naive_log_mass(x: np.ndarray, noise_var: float, divisor: float) -> float:
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return float(np.mean(special.logsumexp(-sq / (divisor * noise_var), axis=1)) - math.log(len(x)))


def test_blocked_computation_matches_the_full_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    # 250 rows in blocks of 64: full, partial and diagonal blocks, both triangles
    monkeypatch.setattr(pairwise, "BLOCK", 64)
    x = np.random.default_rng(1).standard_normal((250, 4)) + 1e3  # far from the origin too
    noise_var = 0.7
    _, details = kde.entropy_kde(x, noise_var=noise_var)
    h_noise = kde.noise_entropy(4, noise_var)
    assert details["upper"] == pytest.approx(h_noise - naive_log_mass(x, noise_var, 2.0), abs=1e-10)
    assert details["lower"] == pytest.approx(h_noise - naive_log_mass(x, noise_var, 8.0), abs=1e-10)


def test_mi_identity_kde() -> None:
    rng = np.random.default_rng(2)
    t = rng.standard_normal((300, 5))
    for bound in ("upper", "lower"):
        mi = kde.mi_identity_kde(t, noise_var=0.1, bound=bound)
        h = kde.entropy_kde(t, noise_var=0.1)[1][bound]
        assert mi == pytest.approx(h - kde.noise_entropy(5, 0.1), abs=1e-10)
        assert 0.0 <= mi <= math.log(300) + 1e-12
    # tensors are accepted as they are, with the same numbers
    t_torch = torch.tensor(t, dtype=torch.float32)
    assert kde.mi_identity_kde(t_torch) == pytest.approx(kde.mi_identity_kde(t.astype(np.float32)),
                                                         abs=1e-10)
    assert kde.mi_identity_kde(np.zeros((10, 2))) == pytest.approx(0.0, abs=1e-12)
    assert kde.mi_identity_kde(np.arange(10.0) * 100) == pytest.approx(math.log(10), abs=1e-12)
    # larger noise hides more of the input: I(X; T + noise) decreases with noise_var
    values = [kde.mi_identity_kde(t, noise_var=s) for s in (0.01, 0.1, 1.0, 10.0)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"noise_var": 0.0}, r"'noise_var' parameter of mi_identity_kde must be a finite float > 0.0"),
    ({"noise_var": float("nan")}, r"'noise_var' .*Got nan"),
    ({"bound": "middle"}, r"'bound' parameter of mi_identity_kde must be one of 'upper', 'lower'. "
                          r"Got 'middle'"),
    ({"t": np.array([[0.0, np.nan]])}, r"'t' .*finite.*Got 1 non-finite"),
    ({"t": torch.tensor([[0.0, float("inf")]])}, r"'t' .*finite"),
    ({"t": torch.zeros(2, 2, 2)}, r"'t' .*shape \(n,\) or \(n, d\)"),
    ({"t": np.zeros((2, 2, 2))}, r"'t' .*shape \(n,\) or \(n, d\)"),
])
def test_mi_identity_kde_bad_input(kwargs: dict, match: str) -> None:
    arguments = {"t": np.zeros((4, 2)), **kwargs}
    with pytest.raises(InfoLensError, match=match):
        kde.mi_identity_kde(**arguments)


def test_mi_kde_with_separated_classes_equals_label_entropy() -> None:
    """Classes in clusters far apart (points within a cluster coincide): I(T; Y) = H(Y) exactly."""
    sizes = [200, 100, 100]
    centres = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    x = np.repeat(centres, sizes, axis=0)
    y = np.repeat([0, 1, 2], sizes)
    value, details = kde.mi_kde(x, y[:, None].astype(np.float64), noise_var=0.1)
    h_y = il.entropy([0.5, 0.25, 0.25], units="nats")
    assert details["upper"] == pytest.approx(h_y, abs=1e-10)
    assert details["lower"] == pytest.approx(h_y, abs=1e-10)
    assert value == details["upper"]


def test_mi_kde_with_uninformative_labels_is_near_zero() -> None:
    # labels alternate through one cloud: each class has the same mixture up to sampling
    x = np.random.default_rng(3).standard_normal((2000, 2))
    y = np.arange(2000) % 2
    _, details = kde.mi_kde(x, y, noise_var=0.5)
    assert abs(details["upper"]) < 0.01 and abs(details["lower"]) < 0.01


def test_mi_kde_warns_when_y_is_not_labels() -> None:
    x = np.random.default_rng(5).standard_normal((100, 2))
    with pytest.warns(il.InfoLensWarning, match="treats y as discrete labels, but y has 100 distinct"):
        kde.mi_kde(x, x[:, :1])


def test_kde_through_the_public_api() -> None:
    x = np.random.default_rng(4).standard_normal((500, 3))
    y = (x[:, 0] > 0).astype(int)
    est = il.estimate_entropy(x, method="kde", noise_var=0.2, bound="lower", units="nats")
    direct = kde.entropy_kde(x, noise_var=0.2)[1]
    assert est.value == pytest.approx(direct["lower"], abs=1e-12)
    assert est.details["upper"] == pytest.approx(direct["upper"], abs=1e-12)
    assert est.params == {"noise_var": 0.2, "bound": "lower"}
    mi = il.estimate_mi(x, y, method="kde", units="bits")
    assert mi.details["lower"] <= mi.details["upper"] + 1e-9
    assert mi.value == pytest.approx(kde.mi_kde(x, y, noise_var=0.1)[0] / math.log(2), abs=1e-12)
    # the sign of x[:, 0] carries at most H(Y) = 1 bit
    assert 0.0 < mi.value <= 1.0 + 1e-9
    with pytest.raises(InfoLensError, match=r"'noise_var' parameter of estimate_entropy must be a "
                                            r"finite float > 0.0. Got -1 instead"):
        il.estimate_entropy(x, method="kde", noise_var=-1)


# ============================================================================= Gaussian

def test_gaussian_entropy_matches_the_closed_form() -> None:
    rng = np.random.default_rng(8)
    a = rng.standard_normal((4, 4))
    cov = a @ a.T + 0.5 * np.eye(4)
    n = 10_000
    x = rng.multivariate_normal(np.zeros(4), cov, size=n)
    # Var(ln det S) ~ 2d/n, so sd(H) = sqrt(d / (2n)) = 0.014; bias ~ -d(d+1)/(4n)
    est = il.estimate_entropy(x, method="gaussian", units="nats")
    assert est.value == pytest.approx(gaussian_entropy(cov), abs=5 * math.sqrt(4 / (2 * n)) + 20 / (4 * n))
    # entropy is translation invariant and shifts by ln|a| per dimension under scaling
    assert gaussian.entropy_gaussian(3 * x + 5) == pytest.approx(gaussian.entropy_gaussian(x)
                                                                 + 4 * math.log(3), abs=1e-10)


def test_gaussian_cmi_of_a_markov_chain() -> None:
    rng = np.random.default_rng(9)
    n = 10_000
    z = rng.standard_normal((n, 1))
    x = z + rng.standard_normal((n, 1))
    y = x + rng.standard_normal((n, 1))
    # given Z, X = Z + N1 and Y = X + N2: I(X; Y | Z) = I(N1; N1 + N2) = 1/2 ln 2;
    # sd ~ sqrt(rho_partial^2 / n) = 0.007 with rho_partial^2 = 1/2
    for method in ("gaussian", "gaussian_copula"):
        est = il.estimate_cmi(x, y, z, method=method, units="nats")
        assert est.value == pytest.approx(0.5 * math.log(2), abs=0.04)
    # Z -> X -> Y: I(Z; Y | X) = 0; under this null 2n I ~ chi2(1), so |I| >= 0.003 (chi2 >= 60)
    # has probability < 1e-13
    assert abs(gaussian.cmi_gaussian(z, y, x)) < 0.003
    # chain rule I(X; Y, Z) = I(X; Z) + I(X; Y | Z) holds exactly for the plug-in covariances
    lhs = gaussian.mi_gaussian(x, np.hstack([y, z]))
    rhs = gaussian.mi_gaussian(x, z) + gaussian.cmi_gaussian(x, y, z)
    assert lhs == pytest.approx(rhs, abs=1e-10)


def test_bias_correction_removes_the_small_sample_bias() -> None:
    """n = 30 in d = 3: the plain entropy is ~0.13 nats low; the Wishart correction is unbiased."""
    cov = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 0.5]])
    truth = gaussian_entropy(cov)
    rng = np.random.default_rng(10)
    samples = [rng.multivariate_normal(np.zeros(3), cov, size=30) for _ in range(400)]
    plain = np.array([gaussian.entropy_gaussian(s, bias_correct=False) for s in samples])
    corrected = np.array([gaussian.entropy_gaussian(s, bias_correct=True) for s in samples])
    se = corrected.std() / math.sqrt(len(samples))
    assert abs(corrected.mean() - truth) < 4 * se
    assert plain.mean() < truth - 4 * se
    # MI of independent 2-d blocks: plain is biased up by ~ dx dy / (2n), corrected is not
    mi_plain, mi_corrected = [], []
    for _ in range(400):
        x, y = rng.standard_normal((30, 2)), rng.standard_normal((30, 2))
        mi_plain.append(gaussian.mi_gaussian(x, y, bias_correct=False))
        mi_corrected.append(gaussian.mi_gaussian(x, y, bias_correct=True))
    se = np.std(mi_corrected) / math.sqrt(400)
    assert abs(np.mean(mi_corrected)) < 4 * se
    assert np.mean(mi_plain) > 4 * se


def test_copula_mi_is_invariant_under_monotone_transforms() -> None:
    x, y, _ = correlated_gaussians(2000, dim=2, rho=0.5, seed=11)
    base = gaussian.mi_gaussian_copula(x, y)
    warped_x = np.column_stack([np.exp(x[:, 0]), 1.0 / (1.0 + np.exp(-x[:, 1]))])  # exp, sigmoid
    warped_y = y**3 + y
    assert gaussian.mi_gaussian_copula(warped_x, warped_y) == pytest.approx(base, abs=1e-12)
    # the plain Gaussian estimate is not invariant
    assert abs(gaussian.mi_gaussian(warped_x, warped_y) - gaussian.mi_gaussian(x, y)) > 0.01
    z = np.random.default_rng(12).standard_normal((2000, 1))
    assert gaussian.cmi_gaussian_copula(np.exp(x), warped_y, z**3) == pytest.approx(
        gaussian.cmi_gaussian_copula(x, y, z), abs=1e-12)


def test_copula_normal_scores_average_ties() -> None:
    scores = gaussian.copula_normalize(np.array([2.0, 1.0, 1.0, 5.0]))
    # ranks (3, 1.5, 1.5, 4) over n + 1 = 5
    np.testing.assert_allclose(scores[:, 0], special.ndtri(np.array([3, 1.5, 1.5, 4]) / 5), atol=1e-15)
    normal = gaussian.copula_normalize(np.random.default_rng(13).exponential(size=(5000, 2)))
    assert abs(normal.mean()) < 1e-12  # symmetric scores
    np.testing.assert_allclose(normal.std(axis=0), 1.0, atol=0.01)


def test_copula_mi_is_a_lower_bound_for_a_non_gaussian_copula() -> None:
    """X ~ U(0, 1), Y = X + U(0, a): Y is trapezoidal with h(Y) = a / 2 (two ramps of a / 4
    each), h(Y | X) = ln a, so I(X; Y) = a / 2 - ln a = 2.3526 nats for a = 0.1."""
    a, n = 0.1, 10_000
    rng = np.random.default_rng(14)
    x = rng.random(n)
    y = x + a * rng.random(n)
    truth = a / 2 - math.log(a)
    gcmi = il.estimate_mi(x, y, method="gaussian_copula", units="nats").value
    assert 0.5 * truth < gcmi < truth - 0.1


@pytest.mark.parametrize(("call", "match"), [
    (lambda x: il.estimate_mi(x, x, method="gaussian"),
     r"'y' parameter of estimate_mi\(method='gaussian'\) must be samples with a non-singular "
     r"covariance.*Got a covariance of numerical rank 3 in 6 dimensions"),
    (lambda x: il.estimate_entropy(np.column_stack([x, x[:, 0] * 2 + 1]), method="gaussian"),
     r"'x' parameter of estimate_entropy\(method='gaussian'\) .*non-singular.*rank 3 in 4"),
    (lambda x: il.estimate_mi(x[:3], x[:3, :1] + 1, method="gaussian"),
     r"'x' .*more samples than dimensions.*Got 3 samples"),
    (lambda x: il.estimate_mi(x, np.ones(len(x)), method="gaussian"),
     r"'y' parameter of estimate_mi must be free of constant \(zero-variance\) columns. "
     r"Got constant columns \[0\]"),
    (lambda x: il.estimate_cmi(x[:, :1], x[:, 1:2], x[:, :1], method="gaussian_copula"),
     r"'x' parameter of estimate_cmi\(method='gaussian_copula'\) .*non-singular"),
])
def test_gaussian_refuses_singular_covariance(call, match: str) -> None:
    x = np.random.default_rng(15).standard_normal((100, 3))
    with pytest.raises(InfoLensError, match=match):
        call(x)


def test_bias_correct_reaches_the_gaussian_estimator_through_the_api() -> None:
    x, y, _ = correlated_gaussians(200, 3, 0.5, seed=4)
    plain = il.estimate_mi(x, y, method="gaussian", units="nats", bias_correct=False).value
    corrected = il.estimate_mi(x, y, method="gaussian", units="nats")  # corrected by default
    assert corrected.params["bias_correct"] is True
    assert corrected.value == pytest.approx(gaussian.mi_gaussian(x, y, bias_correct=True))
    assert corrected.value != pytest.approx(plain)
