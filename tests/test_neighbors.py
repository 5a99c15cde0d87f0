"""The neighbour engine: every strategy against a plain O(N^2) reference, exactly.

The reference computes full distance matrices with numpy (``np.abs(diff).max`` for the max-norm,
``sqrt(sum(diff**2))`` for the Euclidean norm) and counts with literal ``<`` / ``<=``. The fast
paths must return the same k-th neighbour distances (to 1e-12 relative) and the same integer
counts, ties and duplicated points included.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from infolens.estimators import _neighbors
from infolens.estimators._neighbors import (
    CountSpec,
    choose_strategy,
    loader,
    neighbor_stats,
    pair_distances,
    sorted_count,
    tree_max_dim,
)
from infolens.estimators._neighbors.brute import Blocks
from infolens.estimators._neighbors.tree import KernelTree

torch = pytest.importorskip("torch")


def distance_matrix(a: np.ndarray, metric: str) -> np.ndarray:
    diff = a[:, None, :] - a[None, :, :]
    if metric == "chebyshev" or a.shape[1] == 1:
        return np.abs(diff).max(axis=-1)
    return np.sqrt((diff**2).sum(axis=-1))


def reference_stats(groups, k, specs, metric):
    """rho, eps and counts straight from the definitions."""
    n = len(groups[0])
    per_group = [distance_matrix(g, metric) for g in groups]
    joint = np.max(per_group, axis=0)
    off = ~np.eye(n, dtype=bool)
    rho = np.array([np.sort(joint[i][off[i]])[k - 1] for i in range(n)])
    inside = (joint <= rho[:, None]) & off
    eps = np.stack([np.where(inside, d, 0.0).max(axis=1) for d in per_group], axis=1)
    counts = []
    for spec in specs:
        d = np.max([per_group[g] for g in spec.groups], axis=0)
        radius = {"rho": rho, "zero": np.zeros(n)}.get(spec.radius)
        if spec.radius == "eps":
            radius = eps[:, spec.groups[0]]
        hit = d < radius[:, None] if spec.strict else d <= radius[:, None]
        counts.append((hit & off).sum(axis=1))
    return rho, eps, counts


def make_groups(kind: str, dims: tuple[int, ...], n: int = 240, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 1))
    groups = [0.7 * base + rng.standard_normal((n, d)) for d in dims]
    if kind == "ties":  # a coarse grid: many exactly equal distances
        groups = [np.round(2 * g) / 2 for g in groups]
    elif kind == "duplicates":  # a quarter of the rows repeated exactly, a few rows 5 times
        for g in groups:
            g[: n // 4] = g[n // 4: 2 * (n // 4)]
            g[n - 5:] = g[n - 6]
    elif kind == "offset":  # far from the origin: GEMM distances lose digits
        groups = [g * 1e-3 + 1e4 for g in groups]
    return groups


ALL_SPECS = [CountSpec((0,), "rho", True), CountSpec((1,), "rho", True),
             CountSpec((0, 1), "rho", False), CountSpec((0,), "eps", False),
             CountSpec((1,), "eps", False), CountSpec((1,), "zero", False)]

CASES = [(kind, dims, metric, strategy)
         for kind in ("continuous", "ties", "duplicates", "offset")
         for dims in ((1, 1), (1, 3), (4, 2), (20, 20))
         for metric in ("chebyshev", "euclidean")
         for strategy in ("tree", "brute")]


@pytest.mark.parametrize(("kind", "dims", "metric", "strategy"), CASES)
@pytest.mark.parametrize("k", [1, 3])
def test_strategy_matches_reference(kind, dims, metric, strategy, k):
    if strategy == "tree" and not _neighbors.tree_supports(dims, metric, ALL_SPECS):
        pytest.skip("a tree with Euclidean groups needs the compiled kernels")
    assert_matches_reference(make_groups(kind, dims), k, metric, strategy)


@pytest.mark.parametrize(("kind", "dims", "metric", "strategy"),
                         [c for c in CASES if c[2] == "chebyshev" or (c[3] == "tree" and max(c[1]) == 1)])
def test_without_the_compiled_kernels_matches_reference(monkeypatch, kind, dims, metric, strategy):
    """Where no C compiler built ``_knn_kernels``: scipy's and scikit-learn's trees, and the float32
    max-abs brute force with its exact fix-up, give the same answer."""
    monkeypatch.setattr(loader, "kernels", lambda: None)
    assert_matches_reference(make_groups(kind, dims), 3, metric, strategy)


@pytest.fixture
def kernels():
    """The compiled kernels; CI sets INFOLENS_REQUIRE_KERNELS, so a failed build fails there."""
    lib = loader.kernels()
    if lib is None:
        if os.environ.get("INFOLENS_REQUIRE_KERNELS"):
            pytest.fail("the compiled kernels (_knn_kernels.c) were not built: is a C compiler installed?")
        pytest.skip("the compiled kernels were not built (no C compiler at install)")
    return lib


def test_out_of_date_kernels_warn_and_fall_back(kernels, monkeypatch):
    """A library built from an older C file (a symbol missing) is not called: a clear warning."""
    class Old:
        infolens_nearest = infolens_count_within = object()

    monkeypatch.setattr(loader.ctypes, "CDLL", lambda path: Old())
    loader.kernels.cache_clear()
    try:
        with pytest.warns(loader.InfoLensWarning, match="out of date"):
            assert loader.kernels() is None
    finally:
        monkeypatch.undo()
        loader.kernels.cache_clear()
    assert loader.kernels() is not None


def test_kernels_are_refused_when_scikit_learn_changes_its_tree_layout(kernels, monkeypatch):
    """The kernels read scikit-learn's KD-tree arrays as a heap (children of node i at 2i + 1 and
    2i + 2): the loader checks that layout and falls back where it no longer holds."""
    from sklearn.neighbors import KDTree

    nodes = KDTree(make_groups("continuous", (3,))[0], leaf_size=loader.TREE_LEAF).get_arrays()[2]
    assert loader.heap_ordered(nodes)
    swapped = nodes.copy()
    swapped[[1, 2]] = swapped[[2, 1]]  # the root's children in the other order
    assert not loader.heap_ordered(swapped)
    monkeypatch.setattr(loader, "heap_ordered", lambda nodes: False)
    loader.kernels.cache_clear()
    try:
        assert loader.kernels() is None
    finally:
        monkeypatch.undo()
        loader.kernels.cache_clear()
    assert loader.kernels() is not None


def test_compiled_kernels_are_used(kernels):
    points = make_groups("continuous", (3,))[0]
    assert KernelTree(points, [3], "chebyshev").kernels is kernels
    blocks = Blocks([torch.from_numpy(points)] * 2, "chebyshev", torch.float32)
    assert blocks.mode == "exact" and blocks.columns is not None


NORMS = [("chebyshev", (3,)), ("euclidean", (2, 1)), ("euclidean", (3,))]  # (metric, group dimensions)


def deep_tree_case(kind: str, metric: str = "chebyshev", dims: tuple[int, ...] = (3,),
                   seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """3,000 points in 3-D (7 tree levels), optionally on a coarse grid, and their distances:
    the max over groups of consecutive coordinates of the norm within each."""
    points = np.random.default_rng(seed).standard_normal((3000, 3))
    if kind == "ties":
        points = np.round(points * 4) / 4
    ends = np.cumsum(dims)
    per_group = [distance_matrix(points[:, end - size:end], metric)
                 for size, end in zip(dims, ends, strict=True)]
    return points, np.max(per_group, axis=0)


@pytest.mark.parametrize("kind", ["continuous", "ties"])
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(("metric", "dims"), NORMS)
def test_compiled_counts_at_attained_radii_in_a_deep_tree(kernels, kind, strict, metric, dims):
    """Radii equal to distances that occur: every boundary case."""
    points, d = deep_tree_case(kind, metric, dims)
    rng = np.random.default_rng(3)
    radius = d[np.arange(3000), rng.integers(0, 3000, 3000)]
    radius[:20] = 0.0
    expected = ((d < radius[:, None]) if strict else (d <= radius[:, None])).sum(axis=1) - 1
    if strict:  # strict with r = 0 counts nobody, not even the point itself
        expected[radius == 0] = 0
    tree = KernelTree(points, dims, metric)
    assert tree.kernels is not None
    out = np.full(3000, -7, dtype=np.int64)
    for job in tree.count_jobs(radius, strict, out, n_jobs=3):
        job()
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("kind", ["continuous", "ties"])
@pytest.mark.parametrize(("metric", "dims"), NORMS)
def test_compiled_nearest_in_a_deep_tree(kernels, kind, metric, dims):
    """The k nearest distances in order, and indices that attain them (ties: any of the tied)."""
    from concurrent.futures import ThreadPoolExecutor

    points, d = deep_tree_case(kind, metric, dims)
    tree = KernelTree(points, dims, metric)
    with ThreadPoolExecutor(2) as pool:
        dist, idx = tree.nearest(6, pool, n_jobs=3)
    np.testing.assert_array_equal(dist, np.sort(d, axis=1)[:, :6])
    np.testing.assert_array_equal(d[np.arange(3000)[:, None], idx], dist)
    assert all(len(set(row)) == 6 for row in idx.tolist())


@pytest.mark.parametrize("n_queries", [1, 4, 7])
def test_compiled_distance_rows_are_exact(kernels, n_queries):
    """Four rows at a time and the remainder: bit-identical to ``max |p - q|`` in numpy."""
    points = deep_tree_case("continuous")[0] * 1e3 + 1e6  # differences that round
    columns = np.ascontiguousarray(points.T)
    out = np.full((n_queries, len(points)), np.nan)
    kernels.infolens_distance_rows(points[5:5 + n_queries].ctypes.data, n_queries, columns.ctypes.data,
                                   len(points), 3, out.ctypes.data)
    expected = np.abs(points[None, :, :] - points[5:5 + n_queries, None, :]).max(axis=2)
    np.testing.assert_array_equal(out, expected)


def assert_matches_reference(groups, k, metric, strategy):
    ref_rho, ref_eps, ref_counts = reference_stats(groups, k, ALL_SPECS, metric)
    for gemm_dtype in ("float32", "float64") if strategy == "brute" else ("float32",):
        got = neighbor_stats(groups, k, ALL_SPECS, metric=metric, group_eps=True, strategy=strategy,
                             gemm_dtype=gemm_dtype)
        assert got.strategy == strategy
        np.testing.assert_allclose(got.rho, ref_rho, rtol=1e-12, atol=0)
        np.testing.assert_allclose(got.eps, ref_eps, rtol=1e-12, atol=0)
        for spec, found, expected in zip(ALL_SPECS, got.counts, ref_counts, strict=True):
            np.testing.assert_array_equal(found, expected, err_msg=f"{spec} {gemm_dtype}")


@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
def test_brute_small_blocks_and_torch_tensors_match(metric):
    """Many tiny blocks, and torch CPU tensors, give the same answer as one big block."""
    groups = make_groups("duplicates", (3, 2), n=150, seed=3)
    one = neighbor_stats(groups, 2, ALL_SPECS, metric=metric, group_eps=True, strategy="brute")
    tiny = neighbor_stats(groups, 2, ALL_SPECS, metric=metric, group_eps=True, strategy="brute",
                          block_bytes=150 * 8 * 7 * 3)  # 3 rows per block
    tensors = [torch.from_numpy(g) for g in groups]
    on_torch = neighbor_stats(tensors, 2, ALL_SPECS, metric=metric, group_eps=True)
    assert on_torch.strategy == choose_strategy(150, [3, 2], metric, ALL_SPECS)
    for other in (tiny, on_torch):
        np.testing.assert_array_equal(other.rho, one.rho)
        np.testing.assert_array_equal(other.eps, one.eps)
        for a, b in zip(other.counts, one.counts, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("metric", ["chebyshev", "euclidean"])
def test_cuda_path_matches_reference(metric):
    groups = make_groups("duplicates", (4, 2), n=300, seed=5)
    ref_rho, ref_eps, ref_counts = reference_stats(groups, 3, ALL_SPECS, metric)
    got = neighbor_stats([torch.from_numpy(g).cuda() for g in groups], 3, ALL_SPECS,
                         metric=metric, group_eps=True)
    assert got.strategy == "brute"
    np.testing.assert_allclose(got.rho, ref_rho, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.eps, ref_eps, rtol=1e-12, atol=0)
    for found, expected in zip(got.counts, ref_counts, strict=True):
        np.testing.assert_array_equal(found, expected)


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("compiled", [True, False])
def test_sorted_count_is_exact_at_floating_point_boundaries(monkeypatch, strict, compiled):
    """Radii equal to a computed difference, tiny values next to large ones, zero radii; with the
    compiled kernel (galloping) and without (numpy ranges with the exact fallback)."""
    if not compiled:
        monkeypatch.setattr(loader, "kernels", lambda: None)
    elif loader.kernels() is None:
        pytest.skip("the compiled kernels were not built")
    rng = np.random.default_rng(7)
    v = np.concatenate([rng.standard_normal(200), rng.standard_normal(50) * 1e-12, [0.0, -0.0],
                        1e8 + rng.standard_normal(20), np.full(5, 0.25), [5e-324, -5e-324]])
    j = rng.integers(0, len(v), len(v))
    radius = np.abs(v[j] - v)  # exactly attained distances: the hardest boundary cases
    radius[:10] = 0.0
    radius[10:20] = 1e-300
    d = np.abs(v[:, None] - v[None, :])
    off = ~np.eye(len(v), dtype=bool)
    expected = (((d < radius[:, None]) if strict else (d <= radius[:, None])) & off).sum(axis=1)
    np.testing.assert_array_equal(sorted_count(v, radius, strict), expected)


def test_pair_distances_are_bit_identical_in_numpy_and_torch():
    """Every strategy relies on it; torch's own CPU sqrt is 1 ulp off for some inputs."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((20_000, 3)), rng.standard_normal((20_000, 3))
    for metric in ("chebyshev", "euclidean"):
        ours = pair_distances(torch.from_numpy(a), torch.from_numpy(b), metric).numpy()
        np.testing.assert_array_equal(ours, pair_distances(a, b, metric))


def test_pair_distances_definition():
    a = np.array([[0.0, 3.0], [1.0, 1.0]])
    b = np.array([[4.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(pair_distances(a, b, "euclidean"), [5.0, 0.0])
    np.testing.assert_array_equal(pair_distances(a, b, "chebyshev"), [4.0, 0.0])
    same = pair_distances(torch.from_numpy(a), torch.from_numpy(b), "euclidean")
    np.testing.assert_array_equal(same.numpy(), [5.0, 0.0])


@pytest.mark.parametrize("compiled", [True, False])
def test_auto_strategy_rules(monkeypatch, compiled):
    if not compiled:
        monkeypatch.setattr(loader, "kernels", lambda: None)
    elif loader.kernels() is None:
        pytest.skip("the compiled kernels were not built")
    assert tree_max_dim(100_000) >= 10
    assert choose_strategy(100_000, [1, 1], "chebyshev") == "tree"
    assert choose_strategy(10_000, [50, 50], "chebyshev") == "brute"
    # Euclidean groups: the kernels' tree, else brute force (scipy's tree has no such norm)
    euclidean_groups = choose_strategy(100_000, [3, 3], "euclidean", [CountSpec((0,))])
    assert euclidean_groups == ("tree" if compiled else "brute")
    assert choose_strategy(100_000, [1, 1], "euclidean", [CountSpec((0,))]) == "tree"
    assert choose_strategy(100_000, [1, 1], "chebyshev", on_device=True) == "brute"


def test_bad_requests_raise(monkeypatch):
    groups = make_groups("continuous", (1, 1), n=20)
    with pytest.raises(ValueError, match="k must be"):
        neighbor_stats(groups, 20)
    monkeypatch.setattr(loader, "kernels", lambda: None)  # Euclidean groups need them
    with pytest.raises(ValueError, match="strategy='tree'"):
        neighbor_stats(make_groups("continuous", (2, 2), n=20), 3, [CountSpec((0,))],
                       metric="euclidean", strategy="tree")
    with pytest.raises(ValueError, match="group_eps"):
        neighbor_stats(groups, 3, [CountSpec((0,), "eps")])


def test_kdtree_counts_split_over_more_jobs_than_points():
    """Many CPUs, few points: no empty query chunk reaches scikit-learn."""
    points = np.random.default_rng(0).standard_normal((3, 4))
    radius = np.full(3, 10.0)
    out = np.zeros(3, dtype=np.int64)
    for job in KernelTree(points, [4], "chebyshev").count_jobs(radius, True, out, n_jobs=64):
        job()
    np.testing.assert_array_equal(out, [2, 2, 2])
