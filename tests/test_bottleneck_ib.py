"""Classical information bottleneck: fixed points, the IB curve's shape, closed forms, SZT task."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import infolens as il
from infolens.bottleneck import (
    IBCurve,
    deterministic_ib,
    generalized_ib,
    ib_curve,
    iterative_ib,
    joint_from_samples,
)
from infolens.bottleneck import iterative as ib_mod
from infolens.data import szt12

BETAS = np.geomspace(0.5, 1000.0, 32)


def _random_joint(n_x: int = 8, n_y: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(n_y, 0.5), size=n_x) * rng.dirichlet(np.ones(n_x))[:, None]


@pytest.fixture(scope="module")
def random_curve() -> tuple[np.ndarray, IBCurve]:
    pxy = _random_joint()
    return pxy, ib_curve(pxy, BETAS)


def _h2(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-300, 1)
    q = np.clip(1 - p, 1e-300, 1)
    return -(p * np.log2(p) + q * np.log2(q))


def _h2_inverse(h: float) -> float:
    low, high = 0.0, 0.5
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if _h2(np.array(mid)) < h else (low, mid)
    return (low + high) / 2


def test_curve_never_above_min_ixt_ixy(random_curve):
    pxy, curve = random_curve
    assert curve.i_xy == pytest.approx(il.mutual_information(pxy), abs=1e-12)
    assert np.all(curve.i_ty <= np.minimum(curve.i_xt, curve.i_xy) + 1e-9)
    assert np.all(curve.i_xt <= curve.h_x + 1e-9)


def test_curve_is_non_decreasing_and_concave(random_curve):
    _, curve = random_curve
    assert np.all(np.diff(curve.i_xt) >= -1e-9)
    assert np.all(np.diff(curve.i_ty) >= -1e-9)
    # chords between consecutive distinct points have decreasing slopes
    keep = np.concatenate(([True], np.diff(curve.i_xt) > 1e-4))
    xs, ys = curve.i_xt[keep], curve.i_ty[keep]
    slopes = np.diff(ys) / np.diff(xs)
    assert len(slopes) > 10
    assert np.all(np.diff(slopes) <= 1e-6)


def test_chord_slopes_lie_between_tangent_slopes_one_over_beta(random_curve):
    # at the optimum for beta the curve's slope is 1 / beta; so the chord between the points of
    # beta_i < beta_j has a slope in [1 / beta_j, 1 / beta_i]: a test of optimality, not just shape
    _, curve = random_curve
    for i in range(len(curve.beta) - 1):
        dx = curve.i_xt[i + 1] - curve.i_xt[i]
        if dx > 1e-3:
            slope = (curve.i_ty[i + 1] - curve.i_ty[i]) / dx
            assert 1 / curve.beta[i + 1] - 1e-4 <= slope <= 1 / curve.beta[i] + 1e-4, i


def test_curve_reaches_ixy_and_starts_trivial(random_curve):
    _, curve = random_curve
    assert curve.i_ty[-1] == pytest.approx(curve.i_xy, abs=1e-5)
    assert curve.i_xt[0] == pytest.approx(0.0, abs=1e-7)  # beta = 0.5 <= 1: T carries nothing
    assert curve.i_ty[0] == pytest.approx(0.0, abs=1e-7)


def test_doubly_symmetric_binary_source_matches_mrs_gerbers_lemma():
    # X ~ Bern(1/2), Y = X xor Bern(p): I(T;Y) = 1 - h(p * h^-1(1 - I(X;T)))  (Witsenhausen & Wyner)
    p = 0.1
    pxy = 0.5 * np.array([[1 - p, p], [p, 1 - p]])
    curve = ib_curve(pxy, np.geomspace(1.0, 200.0, 40))
    inner = curve.i_xt > 1e-3
    assert inner.sum() > 20
    for r, i_ty in zip(curve.i_xt[inner], curve.i_ty[inner], strict=True):
        d = _h2_inverse(1.0 - r)
        expected = 1.0 - _h2(np.array(p * (1 - d) + d * (1 - p)))
        assert i_ty == pytest.approx(float(expected), abs=1e-6)


def test_szt_curve_is_min_ixt_hy():
    x, y = szt12()
    curve = ib_curve(x=x, y=y, betas=np.geomspace(0.2, 50, 20))
    assert curve.h_y == pytest.approx(0.99916, abs=5e-6)
    assert curve.i_xy == pytest.approx(curve.h_y, abs=1e-12)  # deterministic labels
    assert curve.h_x == pytest.approx(12.0, abs=1e-9)
    np.testing.assert_allclose(curve.i_ty, np.minimum(curve.i_xt, curve.h_y), atol=1e-6)
    assert curve.i_ty[0] == pytest.approx(0.0, abs=1e-7)
    assert curve.i_ty[-1] == pytest.approx(curve.h_y, abs=1e-6)
    # IB at beta = 2: T recovers the label exactly; the lifted encoder sends every input of a
    # label to the same cluster
    solution = iterative_ib(joint_from_samples(x, y), 2.0)
    assert solution.encoder.shape[0] == 4096
    assert solution.i_xt == pytest.approx(curve.h_y, abs=1e-6)
    assert solution.i_ty == pytest.approx(curve.h_y, abs=1e-6)
    labels_of_cluster = {int(np.argmax(row)) for row in solution.encoder[y == 1]}
    assert len(labels_of_cluster) == 1


def test_merging_identical_conditionals_is_exact():
    # rows 0-2 share p(y|x), rows 3-4 share another: merged and unmerged problems agree
    base = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.1, 0.3, 0.6],
                     [0.1, 0.3, 0.6], [0.3, 0.3, 0.4], [0.05, 0.9, 0.05]])
    pxy = base * np.array([0.1, 0.2, 0.1, 0.15, 0.15, 0.2, 0.1])[:, None]
    for beta in (1.5, 3.0, 8.0, 50.0):
        merged = iterative_ib(pxy, beta, n_clusters=7, n_restarts=6)
        full = iterative_ib(pxy, beta, n_clusters=7, n_restarts=6, merge=False)
        assert merged.objective <= full.objective + 1e-7
        assert merged.objective == pytest.approx(full.objective, abs=1e-5)
        # the lifted encoder's I(X;T) on the original table is the one reported
        joint_xt = pxy.sum(axis=1)[:, None] * merged.encoder
        assert il.mutual_information(joint_xt) == pytest.approx(merged.i_xt, abs=1e-9)


def test_solution_is_a_fixed_point_of_the_self_consistent_equations():
    pxy = _random_joint(6, 3, seed=2)
    solution = iterative_ib(pxy, 6.0, tol=1e-12, max_iter=20000)
    assert solution.converged
    prob = ib_mod._problem(pxy / pxy.sum(), merge=False)
    updated = ib_mod._update(prob, solution.encoder, 6.0, 1.0)
    np.testing.assert_allclose(updated, solution.encoder, atol=1e-9)
    p_t = pxy.sum(axis=1) @ solution.encoder
    np.testing.assert_allclose(solution.p_t, p_t, atol=1e-12)
    assert solution.objective == pytest.approx(solution.i_xt - 6.0 * solution.i_ty, abs=1e-9)


def test_deterministic_ib_gives_hard_clusters():
    pxy = _random_joint(10, 3, seed=3)
    solution = deterministic_ib(pxy, 5.0, n_clusters=4)
    assert set(np.unique(solution.encoder)) <= {0.0, 1.0}
    assert solution.i_xt == pytest.approx(solution.h_t, abs=1e-12)  # H(T|X) = 0
    assert solution.objective == pytest.approx(solution.h_t - 5.0 * solution.i_ty, abs=1e-9)
    dib = ib_curve(pxy, np.geomspace(0.5, 500, 16), alpha=0.0)
    np.testing.assert_allclose(dib.i_xt, dib.h_t, atol=1e-12)
    assert dib.i_ty[-1] == pytest.approx(dib.i_xy, abs=1e-6)


def test_generalized_ib_interpolates():
    pxy = _random_joint(6, 3, seed=4)
    ib = generalized_ib(pxy, 4.0, alpha=1.0, seed=1)
    same = iterative_ib(pxy, 4.0, seed=1)
    assert ib.objective == pytest.approx(same.objective, abs=1e-12)
    half = generalized_ib(pxy, 4.0, alpha=0.5, seed=1)
    assert half.objective == pytest.approx(half.h_t - 0.5 * (half.h_t - half.i_xt) - 4.0 * half.i_ty,
                                           abs=1e-9)
    # a lower alpha penalizes soft encoders less (H(T|X) counts less), so the optimum has less
    # H(T|X): compare the conditional entropies H(T) - I(X;T)
    assert (half.h_t - half.i_xt) <= (ib.h_t - ib.i_xt) + 1e-9


def test_samples_equal_table():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 5, 400)
    y = (x + rng.integers(0, 2, 400)) % 3
    from_samples = ib_curve(x=x, y=y, betas=[1.0, 5.0, 50.0])
    from_table = ib_curve(joint_from_samples(x, y), [1.0, 5.0, 50.0])
    np.testing.assert_allclose(from_samples.i_ty, from_table.i_ty, atol=1e-12)
    counts = np.zeros((5, 3))
    np.add.at(counts, (x, y), 1)
    np.testing.assert_allclose(joint_from_samples(x, y), counts / 400)


def test_units_and_outputs(random_curve):
    pxy, curve = random_curve
    nats = ib_curve(pxy, BETAS[::4], units="nats")
    np.testing.assert_allclose(nats.i_xy, curve.i_xy * np.log(2))
    frame = curve.to_frame()
    assert list(frame.columns) == ["beta", "i_xt", "i_ty", "h_t"] and len(frame) == len(BETAS)
    assert curve.to_dict()["units"] == "bits"
    ax = curve.plot()
    assert ax.get_xlabel() == "I(X;T) [bits]" and ax.get_ylabel() == "I(T;Y) [bits]"
    assert curve.plot(x_axis="h_t").get_xlabel() == "H(T) [bits]"


def test_bad_inputs_raise():
    pxy = _random_joint()
    with pytest.raises(il.InfoLensError, match="'beta' parameter of generalized_ib"):
        iterative_ib(pxy, -1.0)
    with pytest.raises(il.InfoLensError, match="'pxy' parameter of generalized_ib"):
        iterative_ib(np.ones(3), 1.0)
    with pytest.raises(il.InfoLensError, match="'pxy' parameter of ib_curve"):
        ib_curve()
    with pytest.raises(il.InfoLensError, match="'betas' parameter of ib_curve"):
        ib_curve(pxy, [1.0, -2.0])
    with pytest.raises(il.InfoLensError, match="'n_clusters' parameter"):
        ib_curve(pxy, [1.0], n_clusters=0)
    with pytest.raises(il.InfoLensError, match="'x_axis' parameter of IBCurve.plot"):
        ib_curve(pxy, [1.0]).plot(x_axis="beta")
