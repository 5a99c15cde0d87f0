"""k-NN estimators: a straightforward reference, closed forms, scikit-learn, invariances, ties.

Tolerances. At N = 10,000 the standard deviation of KSG on the correlated Gaussians below is
about 0.01 nats, so 0.03 nats (d = 1) is three of them. In 2 and 5 dimensions per variable KSG
is biased low (a documented property, Kraskov et al. 2004, Fig. 4; about -0.15 nats at
d = 5, rho = 0.6); the stated tolerances cover that bias plus three standard deviations.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import digamma, gammaln

import infolens as il
from infolens import InfoLensWarning
from infolens.data import correlated_gaussians
from infolens.data.synthetic import gaussian_entropy
from infolens.estimators import knn

torch = pytest.importorskip("torch")

# ------------------------------------------------------------------------- reference estimators


def _dist(a: np.ndarray, metric: str) -> np.ndarray:
    diff = a[:, None, :] - a[None, :, :]
    if metric == "chebyshev" or a.shape[1] == 1:
        return np.abs(diff).max(axis=-1)
    return np.sqrt((diff**2).sum(axis=-1))


def _kth(joint: np.ndarray, i: int, k: int) -> float:
    return float(np.sort(np.delete(joint[i], i))[k - 1])


def ref_entropy_kl(x, k, metric):
    n, d = x.shape
    dist = _dist(x, metric)
    rho = np.array([_kth(dist, i, k) for i in range(n)])
    log_v = d * math.log(2) if metric == "chebyshev" else d / 2 * math.log(math.pi) - gammaln(d / 2 + 1)
    with np.errstate(divide="ignore"):
        return digamma(n) - digamma(k) + log_v + d * np.mean(np.log(rho))


def ref_mi_ksg(x, y, k, variant, metric):
    n = len(x)
    dx, dy = _dist(x, metric), _dist(y, metric)
    joint = np.maximum(dx, dy)
    total = 0.0
    for i in range(n):
        rho = _kth(joint, i, k)
        others = np.arange(n) != i
        if variant == 1:
            total += digamma(np.sum((dx[i] < rho) & others) + 1) + digamma(np.sum((dy[i] < rho) & others) + 1)
        else:
            ball = (joint[i] <= rho) & others  # all points tied at rho are neighbours
            eps_x, eps_y = dx[i][ball].max(), dy[i][ball].max()
            total += digamma(np.sum((dx[i] <= eps_x) & others)) + digamma(np.sum((dy[i] <= eps_y) & others))
    if variant == 1:
        return digamma(k) + digamma(n) - total / n
    return digamma(k) - 1 / k + digamma(n) - total / n


def ref_cmi_ksg(x, y, z, k, metric):
    n = len(x)
    dx, dy, dz = _dist(x, metric), _dist(y, metric), _dist(z, metric)
    joint = np.maximum(np.maximum(dx, dy), dz)
    total = 0.0
    for i in range(n):
        rho = _kth(joint, i, k)
        o = np.arange(n) != i
        total += (digamma(np.sum((np.maximum(dx[i], dz[i]) < rho) & o) + 1)
                  + digamma(np.sum((np.maximum(dy[i], dz[i]) < rho) & o) + 1)
                  - digamma(np.sum((dz[i] < rho) & o) + 1))
    return digamma(k) - total / n


def ref_mi_mixed(x, y, k):
    n = len(x)
    dx, dy = _dist(x, "chebyshev"), _dist(y, "chebyshev")
    joint = np.maximum(dx, dy)
    total = 0.0
    for i in range(n):
        rho = _kth(joint, i, k)
        if rho == 0:  # counts include i itself
            k_i, m_x, m_y = np.sum(joint[i] == 0), np.sum(dx[i] == 0), np.sum(dy[i] == 0)
        else:
            k_i, m_x, m_y = k, np.sum(dx[i] < rho), np.sum(dy[i] < rho)
        total += digamma(k_i) + math.log(n) - digamma(m_x) - digamma(m_y)
    return total / n


def small_data(kind: str, dx: int, dy: int, dz: int = 1, n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dz))
    x = 0.5 * z[:, :1] + rng.standard_normal((n, dx))
    y = 0.6 * x[:, :1] + 0.3 * z[:, :1] + rng.standard_normal((n, dy))
    if kind == "ties":
        x, y, z = (np.round(2 * a) / 2 for a in (x, y, z))
    elif kind == "duplicates":
        for a in (x, y, z):
            a[: n // 4] = a[n // 4: 2 * (n // 4)]
    return x, y, z


KINDS = ["continuous", "ties", "duplicates"]
STRATEGIES = ["tree", "brute"]


def _allowed(strategy, metric, *dims):
    return not (strategy == "tree" and metric == "euclidean" and max(dims) > 1)


# ----------------------------------------------------------------- fast paths == reference


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dims", [(1, 1), (2, 3)])
@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_matches_reference(kind, dims, metric, variant):
    x, y, _ = small_data(kind, *dims)
    expected = ref_mi_ksg(x, y, 3, variant, metric)
    for strategy in STRATEGIES:
        if _allowed(strategy, metric, *dims):
            got = knn.mi_ksg(x, y, k=3, variant=variant, metric=metric, strategy=strategy)
            assert abs(got - expected) < 1e-9, (strategy, got, expected)
    on_torch = knn.mi_ksg(torch.from_numpy(x), torch.from_numpy(y), k=3, variant=variant, metric=metric)
    assert abs(on_torch - expected) < 1e-9


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
def test_cmi_matches_reference(kind, metric):
    for dims in [(1, 1, 1), (2, 1, 2)]:
        x, y, z = small_data(kind, *dims)
        expected = ref_cmi_ksg(x, y, z, 3, metric)
        for strategy in STRATEGIES:
            if _allowed(strategy, metric, *dims):
                got = knn.cmi_ksg(x, y, z, k=3, metric=metric, strategy=strategy)
                assert abs(got - expected) < 1e-9, (dims, strategy, got, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
@pytest.mark.parametrize("d", [1, 3])
def test_entropy_matches_reference(kind, metric, d):
    x, _, _ = small_data(kind, d, 1)
    expected = ref_entropy_kl(x, 2, metric)
    for strategy in STRATEGIES:
        got = knn.entropy_kl(x, k=2, metric=metric, strategy=strategy)
        assert got == expected or abs(got - expected) < 1e-9, (strategy, got, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_mixed_matches_reference(kind):
    x, y, _ = small_data(kind, 1, 2)
    x = np.round(x)  # a discrete-valued x
    expected = ref_mi_mixed(x, y, 3)
    for strategy in STRATEGIES:
        assert abs(knn.mi_mixed(x, y, k=3, strategy=strategy) - expected) < 1e-9


# ------------------------------------------------------------------------------ closed forms


@pytest.mark.parametrize(("dim", "tolerance"), [(1, 0.03), (2, 0.05)])
def test_ksg_on_correlated_gaussians(dim, tolerance):
    x, y, mi = correlated_gaussians(10_000, dim, 0.6, seed=1)
    for variant in (1, 2):
        assert abs(knn.mi_ksg(x, y, k=3, variant=variant) - mi) < tolerance


@pytest.mark.slow
def test_ksg_on_correlated_gaussians_5d():
    x, y, mi = correlated_gaussians(10_000, 5, 0.6, seed=1)
    value = knn.mi_ksg(x, y, k=3)
    assert mi - 0.25 < value < mi  # biased low in 10 joint dimensions, by less than 0.25 nats


def test_ksg_5d_smaller_sample():
    """The 5-d case at N = 2,000 (fast): same low bias, within 0.3 nats."""
    x, y, mi = correlated_gaussians(2_000, 5, 0.6, seed=2)
    assert mi - 0.3 < knn.mi_ksg(x, y, k=3) < mi


def test_ksg_near_zero_for_independent_variables():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((5_000, 1)), rng.standard_normal((5_000, 1))
    assert abs(knn.mi_ksg(x, y)) < 0.02


@pytest.mark.parametrize(("dim", "tolerance"), [(1, 0.03), (2, 0.05), (5, 0.1)])
@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
def test_kl_entropy_of_gaussian(dim, tolerance, metric):
    x, _, _ = correlated_gaussians(10_000, dim, 0.6, seed=3)
    cov = np.eye(dim) * 4.0
    x = 2.0 * x
    assert abs(knn.entropy_kl(x, k=3, metric=metric) - gaussian_entropy(cov)) < tolerance


def test_kl_entropy_of_uniform():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 3, (10_000, 1))
    assert abs(knn.entropy_kl(x, k=3) - math.log(3)) < 0.02


def test_mixed_estimator_on_discrete_plus_uniform_noise():
    """X uniform on {0,..,3}, Y = X + U(0, 2): I = h(Y) - h(Y|X) = (9/4) ln 2 - ln 2 = (5/4) ln 2."""
    rng = np.random.default_rng(6)
    x = rng.integers(0, 4, 10_000).astype(float)[:, None]
    y = x + rng.uniform(0, 2, (10_000, 1))
    assert abs(knn.mi_mixed(x, y, k=5) - 1.25 * math.log(2)) < 0.03


def test_mixed_estimator_on_purely_discrete_data_is_near_plugin():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, 10_000)
    y = x + rng.integers(0, 2, 10_000)  # I = (5/4) ln 2 as well
    got = knn.mi_mixed(x[:, None].astype(float), y[:, None].astype(float), k=3)
    assert abs(got - 1.25 * math.log(2)) < 0.02


def test_frenzel_pompe_on_gaussians_with_known_cmi():
    rng = np.random.default_rng(8)
    n = 10_000
    z = rng.standard_normal((n, 1))
    x = z + rng.standard_normal((n, 1))
    y = 0.8 * x - z + rng.standard_normal((n, 1))
    cov = np.cov(np.hstack([x, y, z]).T, bias=False)
    # Var x = 2, Cov(x, z) = 1; Var y = 0.64*2 - 2*0.8*1 + 1 + 1 = 1.68;
    # Cov(x, y) = 0.8*2 - 1 = 0.6; Cov(y, z) = 0.8 - 1 = -0.2
    exact_cov = np.array([[2.0, 0.6, 1.0], [0.6, 1.68, -0.2], [1.0, -0.2, 1.0]])
    np.testing.assert_allclose(cov, exact_cov, atol=0.08)  # the closed-form covariance is right
    h = gaussian_entropy
    cmi = (h(exact_cov[np.ix_([0, 2], [0, 2])]) + h(exact_cov[np.ix_([1, 2], [1, 2])])
           - h(exact_cov) - h(exact_cov[np.ix_([2], [2])]))
    assert abs(knn.cmi_ksg(x, y, z, k=3) - cmi) < 0.03
    assert abs(knn.cmi_ksg(x, y, rng.standard_normal((n, 1))) - knn.mi_ksg(x, y)) < 0.03


# -------------------------------------------------------------------- reference library, invariance


def test_ksg_agrees_with_scikit_learn():
    """scikit-learn: KSG 1, max-norm, unit-variance scaling and 1e-10-scale noise.

    On standardized continuous data the scaling is a no-op and the noise can only flip
    near-exact ties, so the estimates agree far below the estimator's own noise (0.01).
    """
    from sklearn.feature_selection import mutual_info_regression

    for seed in range(3):
        x, y, _ = correlated_gaussians(3_000, 1, 0.6, seed=seed)
        x, y = x / x.std(), y / y.std()
        theirs = mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=seed)[0]
        assert abs(knn.mi_ksg(x, y, k=3) - theirs) < 1e-4


def test_ksg_nearly_invariant_under_monotone_transforms():
    x, y, mi = correlated_gaussians(10_000, 1, 0.6, seed=9)
    plain = knn.mi_ksg(x, y)
    transformed = knn.mi_ksg(np.exp(x), y**3)
    assert abs(transformed - plain) < 0.03
    assert abs(transformed - mi) < 0.03


# ----------------------------------------------------------------------- ties, API, devices


def test_atoms_drive_ksg_to_its_tie_limits_which_the_api_flags_and_mixed_handles():
    # Y = X // 2 on 10 atoms of 20 copies: I(X;Y) = H(Y) = ln 5 nats. KSG assumes densities; here
    # every k-th neighbour distance is 0, so its formulas reach closed-form limits (not a bug of
    # the implementation, a case outside the estimator's assumptions): KSG-1 counts no point
    # strictly inside a zero radius (n_x = n_y = 0), KSG-2 counts the other copies of each atom
    # (n_x = 19, n_y = 39). The public API flags both; the mixed estimator (Gao et al. 2017) is
    # the one made for atoms and gets ln 5.
    x = np.repeat(np.arange(10.0), 20)[:, None]
    y = np.repeat(np.arange(5.0), 40)[:, None]
    n, k = 200, 3
    assert knn.mi_ksg(x, y, k=k, variant=1) == pytest.approx(
        digamma(k) + digamma(n) - 2 * digamma(1), abs=1e-12)
    assert knn.mi_ksg(x, y, k=k, variant=2) == pytest.approx(
        digamma(k) - 1 / k + digamma(n) - digamma(19) - digamma(39), abs=1e-12)
    # z = 9 - x determines x, so I(X;Y|Z) = 0; KSG's CMI reaches psi(k) - psi(1) = 1.5
    assert knn.cmi_ksg(x, y, x[::-1].copy(), k=k) == pytest.approx(digamma(k) - digamma(1), abs=1e-12)
    assert knn.mi_mixed(x, y) == pytest.approx(math.log(5), abs=0.03)  # 1.622 measured
    with pytest.warns(InfoLensWarning, match="repeated values"):
        flagged = il.estimate_mi(x, y, method="ksg", units="nats")
    assert {"ties", "near_log_n"} <= set(flagged.flags)
    assert knn.entropy_kl(x) == -math.inf  # atoms: differential entropy is -inf, not NaN
    same = np.ones((50, 2))  # one atom: I = 0, KSG-1 at its tie limit, mixed near 0 (0.010 measured)
    assert knn.mi_ksg(same, same, k=k) == pytest.approx(digamma(k) + digamma(50) - 2 * digamma(1), abs=1e-12)
    assert abs(knn.mi_mixed(same, same)) < 0.03


def test_public_api_ksg_matches_private_function_and_units():
    x, y, _ = correlated_gaussians(2_000, 2, 0.6, seed=10)
    nats = knn.mi_ksg(x, y, k=4, variant=2, metric="euclidean")
    est = il.estimate_mi(x, y, method="ksg", k=4, variant=2, metric="euclidean", units="nats")
    assert est.method == "ksg" and est.units == "nats"
    assert abs(est.value - nats) < 1e-12
    bits = il.estimate_mi(x, y, method="ksg", k=4, variant=2, metric="euclidean")
    assert abs(bits.value - nats / math.log(2)) < 1e-12
    cmi = il.estimate_cmi(x, y, x[:, :1], method="ksg", units="nats")
    assert abs(cmi.value - knn.cmi_ksg(x, y, x[:, :1])) < 1e-12
    h = il.estimate_entropy(x, method="kl", units="nats")
    assert abs(h.value - knn.entropy_kl(x)) < 1e-12


def test_public_api_accepts_torch_tensors():
    x, y, _ = correlated_gaussians(1_000, 3, 0.6, seed=11)
    expected = il.estimate_mi(x, y, method="ksg", units="nats").value
    got = il.estimate_mi(torch.from_numpy(x), torch.from_numpy(y).float().double(), method="ksg",
                         units="nats").value
    assert abs(got - expected) < 1e-12
    with pytest.warns(InfoLensWarning, match="repeated values"):
        mixed = il.estimate_mi(torch.from_numpy(np.round(x)), torch.from_numpy(y), method="mixed")
    with pytest.warns(InfoLensWarning, match="repeated values"):
        from_numpy = il.estimate_mi(np.round(x), y, method="mixed")
    assert mixed.value == pytest.approx(from_numpy.value, abs=1e-12) and mixed.flags == from_numpy.flags


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_give_the_cpu_answer():
    x, y, _ = correlated_gaussians(2_000, 4, 0.6, seed=12)
    for metric in ("chebyshev", "euclidean"):
        cpu = knn.mi_ksg(x, y, metric=metric)
        gpu = il.estimate_mi(torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda(), method="ksg",
                             metric=metric, units="nats").value
        assert abs(gpu - cpu) < 1e-9


def test_max_samples_subsamples_and_says_so():
    x, y, mi = correlated_gaussians(4_000, 1, 0.6, seed=13)
    est = il.estimate_mi(x, y, method="ksg", units="nats", max_samples=500, random_state=0)
    assert "subsampled" in est.flags
    assert est.n_samples == 4_000 and est.n_used == 500
    assert est.ci is not None and est.ci[0] < est.value < est.ci[1]
    assert abs(est.value - mi) < 0.1


def test_warnings_for_ties_and_high_dimension():
    x = np.repeat(np.arange(10.0), 20)
    y = np.random.default_rng(0).standard_normal(200)
    with pytest.warns(InfoLensWarning, match="repeated values"):
        est = il.estimate_mi(x, y, method="ksg")
    assert "ties" in est.flags
    xh, yh, _ = correlated_gaussians(300, 11, 0.5, seed=0)
    with pytest.warns(InfoLensWarning, match="joint dimensions"):
        est = il.estimate_mi(xh, yh, method="ksg")
    assert "high_dimension" in est.flags
    xc, yc, _ = correlated_gaussians(300, 2, 0.5, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InfoLensWarning)
        il.estimate_mi(xc, yc, method="ksg")  # continuous, low dimension: silent


def test_bad_parameters_raise_infolens_error():
    x, y, _ = correlated_gaussians(100, 1, 0.6, seed=0)
    with pytest.raises(il.InfoLensError, match="'k' parameter of estimate_mi"):
        il.estimate_mi(x, y, method="ksg", k=0)
    with pytest.raises(il.InfoLensError, match="'metric'"):
        il.estimate_mi(x, y, method="ksg", metric="manhattan")
    with pytest.raises(il.InfoLensError, match="'variant'"):
        il.estimate_mi(x, y, method="ksg", variant=3)
