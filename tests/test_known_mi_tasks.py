"""Known-MI tasks: closed forms against Monte Carlo of exact log densities, invariant maps, the suite."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import infolens as il
from infolens.data import known_mi
from infolens.data.known_mi import TRANSFORMS


def mc_mi(pmi: np.ndarray) -> tuple[float, float]:
    return float(pmi.mean()), float(pmi.std(ddof=1) / math.sqrt(pmi.size))


def test_gaussian_tasks_have_the_log_det_mi_and_the_stated_covariance() -> None:
    dense = il.data.gaussian_task(2, 3, "dense", 0.4)
    cov = np.full((5, 5), 0.4) + 0.6 * np.eye(5)
    expected = 0.5 * (np.linalg.slogdet(cov[:2, :2])[1] + np.linalg.slogdet(cov[2:, 2:])[1]
                      - np.linalg.slogdet(cov)[1])
    assert dense.mi == pytest.approx(expected, rel=1e-12)
    x, y = dense.sample(200_000, seed=3)
    assert np.abs(np.cov(np.hstack([x, y]).T) - cov).max() < 0.02
    sparse = il.data.gaussian_task(4, 4, "sparse", 0.8, k=2)
    assert sparse.mi == pytest.approx(-math.log(1 - 0.64), rel=1e-12)  # two pairs at rho = 0.8


@pytest.mark.parametrize(("dim_x", "dim_y", "dof", "structure"),
                         [(1, 1, 1.0, "identity"), (2, 3, 2.0, "identity"), (2, 2, 3.0, "dense")])
def test_student_t_closed_form_matches_monte_carlo(dim_x, dim_y, dof, structure) -> None:
    task = il.data.student_t_task(dim_x, dim_y, dof, structure)
    scale = np.full((dim_x + dim_y,) * 2, 0.5) + 0.5 * np.eye(dim_x + dim_y) if structure == "dense" \
        else np.eye(dim_x + dim_y)
    x, y = task.sample(100_000, seed=5)
    joint = stats.multivariate_t(np.zeros(dim_x + dim_y), scale, df=dof).logpdf(np.hstack([x, y]))
    px = stats.multivariate_t(np.zeros(dim_x), scale[:dim_x, :dim_x], df=dof).logpdf(x)
    py = stats.multivariate_t(np.zeros(dim_y), scale[dim_x:, dim_x:], df=dof).logpdf(y)
    mean, se = mc_mi(joint - px - py)
    assert task.mi == pytest.approx(il.data.student_t_mi(dim_x, dim_y, dof, scale))
    assert abs(task.mi - mean) < 4 * se


@pytest.mark.parametrize("eps", [0.1, 0.5, 0.75, 2.0])
def test_uniform_noise_closed_form_matches_monte_carlo(eps: float) -> None:
    task = il.data.uniform_noise_task(eps)
    x, y = task.sample(200_000, seed=6)
    y = y[:, 0]
    # density of Y = U(0, 1) + U(-eps, eps): the length of [y - eps, y + eps] inside [0, 1] / (2 eps)
    p_y = (np.minimum(y + eps, 1.0) - np.maximum(y - eps, 0.0)) / (2 * eps)
    mean, se = mc_mi(-math.log(2 * eps) - np.log(p_y))
    assert abs(task.mi - mean) < 4 * se + 1e-9


def test_mixture_truth_matches_grid_quadrature() -> None:
    """The X mixture's Monte Carlo truth against a 2-D quadrature of p ln(p / (p_x p_y))."""
    task = il.data.mixture_task("x", [0.5, 0.5], [[0, 0], [0, 0]],
                        [[[1.0, 0.9], [0.9, 1.0]], [[1.0, -0.9], [-0.9, 1.0]]])
    grid = np.linspace(-8, 8, 1601)
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    p = 0.5 * (stats.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]]).pdf(points)
               + stats.multivariate_normal([0, 0], [[1, -0.9], [-0.9, 1]]).pdf(points))
    marg = stats.norm.pdf(grid)
    ratio = p / np.outer(marg, marg).ravel()
    step = grid[1] - grid[0]
    quadrature = float(np.sum(p * np.log(np.where(p > 0, ratio, 1.0))) * step**2)
    assert 0 < task.mi_se < 0.005
    assert abs(task.mi - quadrature) < 4 * task.mi_se


def test_transforms_keep_the_truth_and_are_injective() -> None:
    base = il.data.gaussian_task(3, 3, "sparse", 0.8)
    for name in ("half_cube", "normal_cdf", "asinh", "wiggly", "bimodal", "spiral"):
        assert il.data.transformed_task(base, name).mi == base.mi
    grid = np.linspace(-4, 4, 20001)[:, None]
    for name in ("half_cube", "normal_cdf", "asinh", "wiggly", "bimodal"):
        assert (np.diff(TRANSFORMS[name][0](grid)[:, 0]) > 0).all(), name  # strictly increasing
    x = np.random.default_rng(0).standard_normal((1000, 3))
    spun = TRANSFORMS["spiral"][0](x)
    np.testing.assert_allclose(np.linalg.norm(spun, axis=1), np.linalg.norm(x, axis=1))
    angle = 0.5 * np.sum(x**2, axis=1)  # inverse: rotate back by the same angle
    back = np.column_stack([np.cos(angle) * spun[:, 0] + np.sin(angle) * spun[:, 1],
                            -np.sin(angle) * spun[:, 0] + np.cos(angle) * spun[:, 1], spun[:, 2]])
    np.testing.assert_allclose(back, x, atol=1e-12)
    roll = TRANSFORMS["swiss_roll"][0](grid)
    radius = np.linalg.norm(roll, axis=1)
    assert (np.diff(radius) > 0).all()  # t |-> |t| (cos t, sin t) / 10 is injective for t > 0
    assert radius[0] == pytest.approx(1.5 * math.pi * (1 + 2 * special.ndtr(-4)) / 10)


def test_the_suite_covers_the_families_and_samples_deterministically() -> None:
    tasks = il.data.known_mi_tasks()
    assert len(tasks) == 46
    assert len({t.name for t in tasks}) == 46
    assert {t.family for t in tasks} == {"gaussian", "student_t", "transformed", "uniform_noise",
                                         "mixture"}
    assert max(max(t.dim_x, t.dim_y) for t in tasks) == 50
    for task in tasks[::5]:
        x, y = task.sample(7, seed=2)
        assert x.shape == (7, task.dim_x) and y.shape == (7, task.dim_y)
        np.testing.assert_array_equal(task.sample(7, seed=2)[0], x)
    assert tasks[0].mi == pytest.approx(-0.5 * math.log(1 - 0.25))


def test_bad_parameters_raise_one_error_shape() -> None:
    with pytest.raises(il.InfoLensError, match=r"'dim_x' parameter of gaussian_task must be an int >= 1"):
        il.data.gaussian_task(0, 2)
    with pytest.raises(il.InfoLensError, match=r"'transform' parameter of transformed_task"):
        il.data.transformed_task(il.data.gaussian_task(1, 1), "cube")
    with pytest.raises(il.InfoLensError, match=r"'base' parameter of transformed_task must be a spiral"):
        il.data.transformed_task(il.data.gaussian_task(1, 1), "spiral")
    with pytest.raises(il.InfoLensError, match=r"'rho' parameter of gaussian_task"):
        il.data.gaussian_task(3, 3, "dense", -0.6)


def test_embedded_task_is_an_invertible_map_of_the_padded_base() -> None:
    base = il.data.gaussian_task(1, 1, "dense", 0.75)
    task = il.data.embedded_task(base, dim=6, seed=3)
    assert (task.family, task.dim_x, task.dim_y, task.mi) == ("embedded", 6, 6, base.mi)
    x, y = task.sample(50, seed=1)
    assert x.shape == y.shape == (50, 6)
    np.testing.assert_array_equal(task.sample(50, seed=1)[1], y)
    assert not np.allclose(il.data.embedded_task(base, dim=6, seed=4).sample(50, seed=1)[0], x)
    # the map u -> wiggly(u A) B (A a rotation, B a rotation with column scales in [0.5, 2]) is a
    # bijection of R^6: its Jacobian A diag(wiggly') B has singular values >= 0.26 * 0.5 everywhere
    embed = known_mi._random_embedding(6, np.random.default_rng(0))
    u = np.random.default_rng(1).standard_normal((20, 6)) * 3
    for point in u:
        jac = np.stack([(embed(point + 1e-6 * e) - embed(point - 1e-6 * e)) / 2e-6
                        for e in np.eye(6)[:, None, :]])[:, 0, :]
        assert np.linalg.svd(jac, compute_uv=False).min() > 0.26 * 0.5 - 1e-6
    # zero padding puts the data on a 1-D curve: a rank-deficient but nonlinear embedding
    curve = il.data.embedded_task(base, dim=6, padding="zeros")
    assert curve.name == "embedded6-curve(gaussian-dense-1x1)"
    cx, _ = curve.sample(200, seed=0)
    assert np.linalg.matrix_rank(cx - cx.mean(0), tol=1e-8) > 1
    with pytest.raises(il.InfoLensError, match=r"'dim' parameter of embedded_task"):
        il.data.embedded_task(il.data.gaussian_task(3, 3), dim=2)
    with pytest.raises(il.InfoLensError, match=r"'padding' parameter of embedded_task"):
        il.data.embedded_task(base, padding="ones")
