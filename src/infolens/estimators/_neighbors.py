"""The neighbour engine behind every k-NN estimator (KL entropy, KSG, Frenzel-Pompe, mixed).

One call, :func:`neighbor_stats`, returns everything those estimators need from the samples:

* ``rho[i]``: the distance from point i to its k-th nearest neighbour (i itself excluded) in the
  joint space of the variables ("groups") x, y, ... The joint distance is the maximum of the
  distances within each group, ``d(i, j) = max_g ||g_i - g_j||``, where ``||.||`` is the
  ``metric``: ``"chebyshev"`` (max-norm; then the joint distance is the max-norm of the stacked
  coordinates, as in Kraskov et al. 2004) or ``"euclidean"`` (Euclidean within each group, max
  across groups; KSG admits any norm within each marginal space).
* ``eps[i, g]`` (optional, for KSG estimator 2): the largest distance within group g from point i
  to any of its k nearest neighbours. When several points tie at distance ``rho[i]`` all of them
  are taken as neighbours, so the result never depends on how ties are broken.
* counts, one per :class:`CountSpec`: how many points j != i lie within a radius of i in the
  sub-space of some groups (joint distance over those groups), with a strict (``<``) or
  non-strict (``<=``) inequality, at the radius ``rho[i]``, ``eps[i, g]`` or 0.

Strategies (``strategy=``; ``"auto"`` picks one per call from N, the dimension, the metric and the
device):

``"tree"``
    a KD-tree (scikit-learn's) searched by small compiled kernels (:class:`_KernelTree`, built
    from ``_knn_kernels.c`` at install) for the joint k-NN search and the radius counts in 2+
    dimensions, under either metric; 1-D counts by sorting and galloping search. The searches
    and counts run as GIL-free jobs side by side on all CPUs, and the counts' sort orders and
    trees are built while the joint tree is. Fast when the joint dimension is low. Where nothing
    was compiled: scipy's ``cKDTree`` for the joint search, scikit-learn's tree counts and numpy
    binary searches, which need the max-norm (``"chebyshev"``; for 1-D groups both metrics
    coincide) or a single Euclidean group without counts (the KL entropy).
``"brute"``
    blocked brute force with torch on the samples' device (CPU or CUDA): for a block of B query
    rows, distances to all N points, then selection and counts in that block, so memory is about
    ``block_bytes`` whatever N (never an N x N matrix). ``"euclidean"`` squared distances come
    from one matrix product per block (GEMM, the fast choice in high dimension), in float32 by
    default (``gemm_dtype``). ``"chebyshev"`` distances on a CPU are exact float64 rows from the
    compiled kernel (SIMD over the points, four query rows at a time, in cache-sized blocks);
    on other devices, or where nothing was compiled, a coordinate-by-coordinate max of
    absolute differences in float32 by default (with ``gemm_dtype="float64"``, exact
    ``torch.cdist(p=inf)``). Float32 distances carry rounding error, so every comparison that
    a rigorous error bound cannot decide (the k-th neighbour itself, ties, near-ties) is re-done
    with exactly computed distances: the results are those of the exact distances, not
    approximations.

Exactness: all strategies compute a distance the same way (:func:`pair_distances`: differences
coordinate by coordinate, the max of their absolute values, or the square root of their squares
summed in coordinate order), and take strict / non-strict inequalities literally, so they return
identical counts, ties and duplicated points included. The radius counts by sorting find the exact
floating-point thresholds with ``np.nextafter`` rather than comparing ``x_j < x_i + r``.
"""

from __future__ import annotations

import ctypes
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np

from infolens._validation import InfoLensWarning, _is_tensor, unique_row_codes

METRICS = ("chebyshev", "euclidean")
STRATEGIES = ("auto", "tree", "brute")
#: Default working memory of one block of the brute-force strategy, in bytes.
BLOCK_BYTES = 256 * 2**20
#: Relative safety margin of the GEMM error bound (far above the unit roundoff 1.1e-16).
_MARGIN = 1e-12
#: Rows per chunk when tied neighbourhoods are listed explicitly.
_TIE_CHUNK = 2048
#: Leaf size of the kernels' KD-tree (:class:`_KernelTree`). KSG at N = 1e5 with leaves of
#: 16 / 30 / 50: 0.100 / 0.093 / 0.092 s at 1+1 dims, 2.57 / 2.71 / 3.17 s at 5+5.
_TREE_LEAF = 30


@dataclass(frozen=True)
class CountSpec:
    """A radius count to make around every point.

    Parameters
    ----------
    groups : tuple of int
        The groups spanning the sub-space (distance = max of the group distances).
    radius : {"rho", "eps", "zero"}
        The k-th neighbour distance ``rho[i]``, the per-group ``eps[i, g]`` of the single group in
        ``groups`` (KSG estimator 2), or 0 (points identical to point i in those groups).
    strict : bool
        Count ``d(i, j) < radius`` when True, ``d(i, j) <= radius`` when False.
    """

    groups: tuple[int, ...]
    radius: str = "rho"
    strict: bool = True


@dataclass(frozen=True)
class NeighborStats:
    """Output of :func:`neighbor_stats` (numpy arrays of length N; counts exclude i itself)."""

    rho: np.ndarray
    eps: np.ndarray | None
    counts: tuple[np.ndarray, ...]
    strategy: str


# ----------------------------------------------------------------------------- exact distances


def pair_distances(a: Any, b: Any, metric: str) -> Any:
    """Distances between rows ``a[m]`` and ``b[m]`` (numpy or torch arrays of shape (m, d)).

    The single definition used by every strategy: coordinate differences ``a - b``; for
    ``"chebyshev"`` (or d = 1) the max of their absolute values, for ``"euclidean"`` the square
    root of their squares summed in coordinate order. Elementwise IEEE operations only, so numpy,
    torch and the compiled kernels give bit-identical results; the square root of a CPU tensor
    is taken by numpy, since torch's float64 ``sqrt`` on a CPU is not always correctly rounded
    (found here: 1 ulp off for 0.5670692480015672 in the AVX-512 build of torch 2.13).
    """
    diff = a - b
    if diff.shape[1] == 1:
        return diff[:, 0].abs() if _is_tensor(diff) else np.abs(diff[:, 0])
    if metric == "chebyshev":
        return diff.abs().amax(dim=1) if _is_tensor(diff) else np.abs(diff).max(axis=1)
    total = diff[:, 0] * diff[:, 0]
    for c in range(1, diff.shape[1]):
        total = total + diff[:, c] * diff[:, c]
    if not _is_tensor(total):
        return np.sqrt(total)
    if total.device.type == "cpu":  # torch's CPU float64 sqrt can be 1 ulp off (AVX-512 build)
        import torch

        return torch.from_numpy(np.sqrt(total.numpy()))
    return total.sqrt()  # CUDA's double sqrt is correctly rounded


def _joint_pair_distances(groups: Sequence[Any], rows: Any, cols: Any, metric: str) -> Any:
    out = None
    for g in groups:
        d = pair_distances(g[rows], g[cols], metric)
        out = d if out is None else (np.maximum(out, d) if not _is_tensor(d) else out.maximum(d))
    return out


# ------------------------------------------------------------------------------ the entry point


def neighbor_stats(groups: Sequence[Any], k: int, counts: Sequence[CountSpec] = (), *,
                   metric: str = "chebyshev", group_eps: bool = False, strategy: str = "auto",
                   block_bytes: int = BLOCK_BYTES, gemm_dtype: str = "float32") -> NeighborStats:
    """k-th neighbour distances, optional per-group radii and radius counts; see the module doc.

    Parameters
    ----------
    groups : sequence of arrays of shape (n, d_g)
        float64 numpy arrays, or torch tensors (all on one device; a non-CPU device forces
        ``"brute"`` on that device).
    k : int
        Neighbour order, ``1 <= k < n``.
    counts : sequence of CountSpec
    metric : {"chebyshev", "euclidean"}
        The norm within each group; the joint distance is the max over groups.
    group_eps : bool
        Also return ``eps`` of shape (n, G).
    strategy : {"auto", "tree", "brute"}
    block_bytes : int
        Working memory of one brute-force block.
    gemm_dtype : {"float32", "float64"}
        Precision of the approximate distances of the brute force (GEMM for ``"euclidean"``,
        max-abs differences for ``"chebyshev"`` off the CPU kernel). It changes the speed only:
        undecided comparisons are re-done in float64 either way. ``"float64"`` with
        ``"chebyshev"`` uses exact distances.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    n = int(groups[0].shape[0])
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, n - 1], got k={k}, n={n}")
    for spec in counts:
        if spec.radius == "eps" and (len(spec.groups) != 1 or not group_eps):
            raise ValueError("radius='eps' needs group_eps=True and exactly one group")
    dims = [int(g.shape[1]) for g in groups]
    device_tensor = any(_is_tensor(g) and g.device.type != "cpu" for g in groups)
    chosen = choose_strategy(n, dims, metric, counts, device_tensor) if strategy == "auto" else strategy
    if chosen == "tree" and not _tree_supports(dims, metric, counts):
        raise ValueError("strategy='tree' needs metric='chebyshev' (or 1-D groups, or a single "
                         "group without counts) where the compiled kernels were not built")
    if chosen == "tree":
        arrays = [g.detach().cpu().numpy() if _is_tensor(g) else np.asarray(g) for g in groups]
        rho, eps, found = _tree_stats(arrays, k, counts, metric, group_eps)
    else:
        import torch

        dtype = {"float32": torch.float32, "float64": torch.float64}[gemm_dtype]
        rho, eps, found = _brute_stats(_as_tensors(groups), k, counts, metric, group_eps, block_bytes,
                                       dtype)
    return NeighborStats(rho=rho, eps=eps, counts=tuple(found), strategy=chosen)


def tree_max_dim(n: int, euclidean: bool = False) -> int:
    """Largest joint dimension for which the KD-tree beats blocked brute force at n points.

    A KD-tree prunes while N >> 2^d. Measured crossovers of KSG (2 cores), with the compiled
    kernels (tree vs exact brute force), max-norm: at N = 5,000 0.11 vs 0.18 s at 16 joint
    dimensions, 0.16 vs 0.17 s at 20; at N = 20,000 1.73 vs 2.28 s at 20, 4.3 vs ~2.5 s at 30;
    at N = 60,000 5.3 vs 19.9 s at 16; i.e. about ``1.6 log2(N)``. With Euclidean groups
    (``euclidean``; the brute force then uses GEMMs): at N = 5,000 0.15 vs 0.20 s at 12, 0.20 vs
    0.16 s at 16; at N = 20,000 2.2 vs 2.9 s at 16, 3.5 vs 2.7 s at 20; at N = 50,000 10.0 vs
    15.6 s at 16, 18.5 vs 14.3 s at 20; about ``1.2 log2(N)``. Without the kernels (scipy's
    ``cKDTree`` vs the float32 max-abs brute force): at N = 5,000 1.81 vs 0.81 s at 16, at
    N = 20,000 32.6 vs 15.6 s at 20; ``log2(N)``.
    """
    factor = 1.0 if _kernels() is None else 1.2 if euclidean else 1.6
    return max(4, int(factor * math.log2(max(n, 2))))


def choose_strategy(n: int, dims: Sequence[int], metric: str, counts: Sequence[CountSpec] = (),
                    on_device: bool = False) -> str:
    """The strategy ``"auto"`` picks: brute on a non-CPU device or in high dimension, else tree."""
    if on_device or not _tree_supports(dims, metric, counts):
        return "brute"
    euclidean = metric == "euclidean" and any(d > 1 for d in dims)
    return "tree" if sum(dims) <= tree_max_dim(n, euclidean) else "brute"


def _tree_supports(dims: Sequence[int], metric: str, counts: Sequence[CountSpec]) -> bool:
    """The max-norm, or any norm the compiled kernels serve; without them, one Euclidean group
    without counts (scipy's p = 2 tree)."""
    return (metric == "chebyshev" or all(d == 1 for d in dims) or _kernels_serve(sum(dims))
            or (len(dims) == 1 and not counts))


def _as_tensors(groups: Sequence[Any]) -> list[Any]:
    import torch

    out = []
    for g in groups:
        t = g if _is_tensor(g) else torch.from_numpy(np.ascontiguousarray(g, dtype=np.float64))
        out.append(t.detach().to(torch.float64).contiguous())
    return out


# ------------------------------------------------------------------------------- tree strategy


def _tree_stats(groups: list[np.ndarray], k: int, specs: Sequence[CountSpec], metric: str,
                group_eps: bool) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    from concurrent.futures import ThreadPoolExecutor

    n = groups[0].shape[0]
    joint = _stacked(groups)
    dims = [g.shape[1] for g in groups]
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # what the counts need besides the radii (sort orders, count trees, identical points) is
        # made on the pool while this thread builds the joint tree (both release the GIL); the
        # joint search follows on the same pool
        spaces = [_stacked([groups[g] for g in spec.groups]) for spec in specs]
        prepared = [pool.submit(_identical_counts, points) if spec.radius == "zero" else
                    pool.submit(_prepare_count, points, [dims[g] for g in spec.groups], metric)
                    for spec, points in zip(specs, spaces, strict=True)]
        n_query = min(k + 2 if group_eps else k + 1, n)  # one more to see ties at rho for eps
        dist, neighbours, ball, exact = _joint_neighbours(joint, dims, metric, n_query, pool, workers)
        # the kernels' distances follow the one exact definition; scipy's p=2 rounding differs
        rho = dist[:, k] if exact else _joint_pair_distances(groups, np.arange(n), neighbours[:, k], metric)
        eps = None
        if group_eps:
            eps = _tree_group_eps(ball, groups, joint, neighbours, rho, k, metric)
        found = _tree_counts(pool, workers, specs, spaces, [f.result() for f in prepared], rho, eps)
    return rho, eps, found


def _stacked(groups: Sequence[np.ndarray]) -> np.ndarray:
    """The groups' coordinates side by side, shape (n, sum of dims); one group is not copied."""
    return groups[0] if len(groups) == 1 else np.hstack(groups)


def _joint_neighbours(joint: np.ndarray, dims: Sequence[int], metric: str, n_query: int, pool: Any,
                      workers: int) -> tuple[np.ndarray, np.ndarray, Any, bool]:
    """Distances and indices of the ``n_query`` nearest points of every point (itself among them),
    nearest first, in row order; a ball query ``(centres, radii) -> [indices]`` on the same tree
    that returns at least the points within each radius; and whether the distances follow the
    engine's exact definition. The compiled kernels serve every norm; without them scipy's
    ``cKDTree`` (sliding-midpoint splits, queried in leaf order, all workers) serves the
    max-norm and a single Euclidean group (``p = 2``, whose rounding differs).
    """
    if _kernels_serve(joint.shape[1]):
        tree = _KernelTree(joint, dims, metric)
        return (*tree.nearest(n_query, pool, workers), tree.ball, True)
    from scipy.spatial import cKDTree

    p = 2.0 if metric == "euclidean" and len(dims) == 1 and dims[0] > 1 else np.inf
    ckd = cKDTree(joint, balanced_tree=False)
    order = ckd.indices  # query in leaf order: neighbouring queries touch the same memory
    dist, idx = ckd.query(joint[order], k=n_query, p=p, workers=-1)
    out_dist, out_idx = np.empty_like(dist), np.empty_like(idx)
    out_dist[order], out_idx[order] = dist, idx
    return out_dist, out_idx, partial(ckd.query_ball_point, p=p, workers=-1), p == np.inf


def _prepare_count(points: np.ndarray, dims: Sequence[int], metric: str) -> Any:
    """The radius-independent part of a count: a sort order (1-D) or a KD-tree (2+-D)."""
    if points.shape[1] == 1:
        return np.argsort(points[:, 0])  # any order of tied values gives the same counts
    return _KernelTree(points, dims, metric)


def _tree_counts(pool: Any, workers: int, specs: Sequence[CountSpec], spaces: list[np.ndarray],
                 prepared: list[Any], rho: np.ndarray, eps: np.ndarray | None) -> list[np.ndarray]:
    """Every radius count of the tree strategy, as single-threaded jobs on ``pool``.

    A 1-D count (sorting) is one job; a KD-tree count is split into one job per CPU over its
    queries. The jobs release the GIL (numpy searches, the compiled kernel through ctypes), so
    independent counts and query chunks run side by side.
    A ``"zero"`` count is already done: ``prepared`` holds it.
    """
    found: list[np.ndarray] = []
    jobs: list[Any] = []
    for spec, points, ready in zip(specs, spaces, prepared, strict=True):
        if spec.radius == "zero":
            found.append(ready)
            continue
        radius = rho if spec.radius == "rho" else eps[:, spec.groups[0]]  # type: ignore[index]
        out = np.zeros(len(points), dtype=np.int64)
        found.append(out)
        if points.shape[1] == 1:
            jobs.append(partial(_sorted_count_into, points[:, 0], radius, spec.strict, ready, out))
        else:
            jobs.extend(ready.count_jobs(radius, spec.strict, out, workers))
    for future in [pool.submit(job) for job in jobs]:
        future.result()
    return found


def _tree_group_eps(ball: Any, groups: list[np.ndarray], joint: np.ndarray, neighbours: np.ndarray,
                    rho: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Per-group max distance over all points within ``rho`` (ties included) of each point."""
    n, n_groups = len(rho), len(groups)
    rows = np.arange(n)
    eps = np.zeros((n, n_groups))
    tied = np.zeros(n, dtype=bool)
    if neighbours.shape[1] > k + 1:
        tied = _joint_pair_distances(groups, rows, neighbours[:, k + 1], metric) <= rho
    clear = (rho > 0) & ~tied
    for g, values in enumerate(groups):
        for c in range(k + 1):  # columns 0..k hold i itself and its k neighbours when rho > 0
            d = pair_distances(values[rows[clear]], values[neighbours[clear, c]], metric)
            eps[clear, g] = np.maximum(eps[clear, g], d)
    # rho == 0: every neighbour is a duplicate, eps stays 0; ties at rho: list the whole ball
    tied_rows = np.flatnonzero(tied & (rho > 0))
    for start in range(0, tied_rows.size, _TIE_CHUNK):
        chunk = tied_rows[start:start + _TIE_CHUNK]
        balls = ball(joint[chunk], rho[chunk])
        lengths = np.fromiter((len(b) for b in balls), dtype=np.int64, count=len(balls))
        members = np.concatenate([np.asarray(b, dtype=np.int64) for b in balls])
        owners = np.repeat(chunk, lengths)
        inside = _joint_pair_distances(groups, owners, members, metric) <= rho[owners]
        for g, values in enumerate(groups):
            d = np.where(inside, pair_distances(values[owners], values[members], metric), 0.0)
            np.maximum.at(eps[:, g], owners, d)
    return eps


def _identical_counts(points: np.ndarray) -> np.ndarray:
    """For each point (row), how many other points are identical to it."""
    codes = unique_row_codes(np.asarray(points))
    return np.bincount(codes)[codes] - 1


def _sorted_count_into(values: np.ndarray, radius: np.ndarray, strict: bool, order: np.ndarray,
                      out: np.ndarray) -> None:
    out[:] = sorted_count(values, radius, strict, order)


@lru_cache(maxsize=1)
def _kernels() -> Any:
    """The compiled kernels of ``_knn_kernels.c`` (a ctypes library), or None where it was not built
    (or where scikit-learn's tree arrays no longer have the layout the kernels read)."""
    try:
        from infolens.estimators import _knn_kernels
    except ImportError:
        return None
    lib = ctypes.CDLL(_knn_kernels.__file__)
    names = ("infolens_count_within", "infolens_nearest", "infolens_distance_rows",
             "infolens_sorted_count", "infolens_max_dim")
    if not all(hasattr(lib, name) for name in names):  # built from an older _knn_kernels.c
        warnings.warn(f"The compiled k-NN kernels in {_knn_kernels.__file__} are out of date; the "
                      "slower fallback is used. Reinstall infolens (pip install -e .) to rebuild them.",
                      InfoLensWarning, stacklevel=2)
        return None
    pointer, size, flag = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
    # points, dim, group_end, n_groups, euclidean, start, end, leaf, lo, hi, n_nodes
    tree = [pointer, size, pointer, size, flag, pointer, pointer, pointer, pointer, pointer, size]
    lib.infolens_count_within.argtypes = [*tree, pointer, pointer, size, flag, pointer]
    lib.infolens_nearest.argtypes = [*tree, pointer, size, pointer, pointer, size, pointer, pointer]
    lib.infolens_distance_rows.argtypes = [pointer, size, pointer, size, size, pointer]
    lib.infolens_sorted_count.argtypes = [pointer, pointer, size, flag, pointer]
    lib.infolens_max_dim.argtypes = []
    lib.infolens_max_dim.restype = size
    for name in names[:-1]:
        getattr(lib, name).restype = None
    from sklearn.neighbors import KDTree

    probe = KDTree(np.random.default_rng(0).standard_normal((500, 3)), leaf_size=_TREE_LEAF)
    return lib if _heap_ordered(probe.get_arrays()[2]) else None


def _kernels_serve(dim: int) -> bool:
    """Whether the compiled tree kernels exist and take points of dimension ``dim``."""
    lib = _kernels()
    return lib is not None and dim <= lib.infolens_max_dim()


class _KernelTree:
    """A KD-tree for k-NN searches and radius counts under the engine's norm (max-norm, or the
    max over groups of the Euclidean norm within each group).

    The tree is scikit-learn's (median splits, ``leaf_size`` :data:`_TREE_LEAF`), searched by the
    compiled kernels of ``_knn_kernels.c`` (built at install time where a C compiler exists) through
    its public arrays; ctypes releases the GIL during the calls, so chunks of queries run on all
    CPUs at once. The kernels skip nodes out of reach, add nodes that lie inside a count's ball
    without visiting their points, and scan leaves branch-free (max-norm).

    * :meth:`nearest` (kernels only): at N = 1e5, 10-D, k = 4, max-norm: 1.35 s on two threads
      against 3.1 s for scipy's ``cKDTree.query`` with two workers; 2-D: 22 ms against 46 ms.
    * :meth:`count_jobs`: at N = 1e5 in 5-D (~450 points per cube, ~3,900 points checked per
      query): 1.45 s on one thread, 0.73 s on two. Without the kernels (max-norm only),
      scikit-learn's ``query_radius(count_only=True)`` (non-strict, so ``d < r`` is asked as
      ``d <= nextafter(r, 0)``): 4.6 s on one thread, 1.2x on two (it holds the GIL part of the
      time); scipy's ``query_ball_point`` is slower still (5.9 s on two).
    * :meth:`ball`: a superset of the members of balls (a max-norm ball, which contains the
      Euclidean one), for the rare tied neighbourhoods; callers re-check membership.

    All compute distances with the engine's definition and decide nodes from bounds that are
    monotone in the coordinates, so results are exact.
    """

    def __init__(self, points: np.ndarray, dims: Sequence[int], metric: str) -> None:
        from sklearn.neighbors import KDTree

        self.points = points
        self.euclidean = metric == "euclidean" and any(d > 1 for d in dims)
        self.tree = KDTree(points, leaf_size=_TREE_LEAF, metric="chebyshev")
        _, index, nodes, bounds = self.tree.get_arrays()
        self.order = np.asarray(index, dtype=np.int64)
        self.kernels = _kernels() if _kernels_serve(points.shape[1]) else None
        if self.kernels is None:
            if self.euclidean:
                raise ValueError("Euclidean groups need the compiled kernels (see _tree_supports)")
            return
        in_order = np.ascontiguousarray(points[self.order], dtype=np.float64)
        arrays = (np.cumsum(dims, dtype=np.int64),
                  np.ascontiguousarray(nodes["idx_start"], dtype=np.int64),
                  np.ascontiguousarray(nodes["idx_end"], dtype=np.int64),
                  np.ascontiguousarray(nodes["is_leaf"], dtype=np.uint8),
                  np.ascontiguousarray(bounds[0], dtype=np.float64),
                  np.ascontiguousarray(bounds[1], dtype=np.float64))
        self.in_order = in_order
        self._keep = arrays  # the kernels read them through raw pointers
        group_end, start, end, leaf, lo, hi = (a.ctypes.data for a in arrays)
        self.tree_args = (in_order.ctypes.data, in_order.shape[1], group_end, len(dims),
                          int(self.euclidean), start, end, leaf, lo, hi, len(arrays[1]))

    def _chunks(self, n_jobs: int) -> list[tuple[int, int]]:
        """Query ranges in tree order (neighbouring queries touch the same nodes), never empty."""
        ends = np.linspace(0, len(self.order), max(1, min(n_jobs, len(self.order))) + 1).astype(int)
        return list(zip(ends[:-1].tolist(), ends[1:].tolist(), strict=True))

    def nearest(self, k: int, pool: Any, n_jobs: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the k nearest points of every point (itself among them), in
        row order, nearest first; needs the kernels."""
        n = len(self.order)
        dist = np.empty((n, k))
        neighbours = np.empty((n, k), dtype=np.int64)

        def job(a: int, b: int) -> None:  # the kernel writes each query's own row
            self.kernels.infolens_nearest(*self.tree_args, self.in_order[a:b].ctypes.data, b - a,
                                          self.order[a:b].ctypes.data, self.order.ctypes.data, k,
                                          dist.ctypes.data, neighbours.ctypes.data)

        for future in [pool.submit(job, a, b) for a, b in self._chunks(n_jobs)]:
            future.result()
        return dist, neighbours

    def ball(self, centres: np.ndarray, radius: np.ndarray) -> list[np.ndarray]:
        """Indices of (at least) the points within ``radius`` (<=) of each centre: the max-norm
        ball, widened by 1e-12 relative for the rounding of a Euclidean norm."""
        widened = radius * (1.0 + 1e-12) if self.euclidean else radius
        return list(self.tree.query_radius(centres, widened))

    def count_jobs(self, radius: np.ndarray, strict: bool, out: np.ndarray, n_jobs: int) -> list[Any]:
        """Jobs that fill ``out[i]`` with the count around point i (i excluded), strict (<) or not."""
        return [partial(self._count, a, b, radius, strict, out) for a, b in self._chunks(n_jobs)]

    def _count(self, a: int, b: int, radius: np.ndarray, strict: bool, out: np.ndarray) -> None:
        """Counts (i included) for the queries a..b in tree order, written as ``out[i]``."""
        rows = self.order[a:b]
        r = np.ascontiguousarray(radius[rows], dtype=np.float64)
        if self.kernels is not None:
            found = np.empty(b - a, dtype=np.int64)
            self.kernels.infolens_count_within(*self.tree_args, self.in_order[a:b].ctypes.data,
                                               r.ctypes.data, b - a, int(strict), found.ctypes.data)
        else:  # scikit-learn counts d <= r; for doubles d < r is d <= nextafter(r, 0)
            found = self.tree.query_radius(self.points[rows], np.nextafter(r, 0.0) if strict else r,
                                           count_only=True)
        out[rows] = found - 1
        if strict:  # strict with r = 0 counts nobody, not even i
            out[rows[r == 0]] = 0


def _heap_ordered(nodes: np.ndarray) -> bool:
    """Whether node i's children are 2i + 1 and 2i + 2, splitting its rows: what the kernel reads."""
    start, end = nodes["idx_start"], nodes["idx_end"]
    inner = np.flatnonzero(nodes["is_leaf"] == 0)
    if inner.size == 0:
        return True
    if 2 * inner.max() + 2 >= len(nodes):
        return False
    left, right = 2 * inner + 1, 2 * inner + 2
    return bool(np.all(start[left] == start[inner]) and np.all(end[left] == start[right])
                and np.all(end[right] == end[inner]))


# ----------------------------------------------------------------------- 1-D counts by sorting


_SIGN = np.int64(0x7FFFFFFFFFFFFFFF)


def _to_ordered(t: np.ndarray) -> np.ndarray:
    """Map doubles to int64 so that the order of the integers is the order of the doubles."""
    bits = np.ascontiguousarray(t, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, -(bits & _SIGN), bits)


def _from_ordered(o: np.ndarray) -> np.ndarray:
    bits = np.where(o < 0, (-o) | ~_SIGN, o)
    return bits.view(np.float64)


def _last_inside_above(v: np.ndarray, r: np.ndarray, strict: bool) -> np.ndarray:
    """The largest double t >= v with ``fl(t - v) < r`` (strict) or ``<= r``, exactly.

    ``fl(t - v)`` is monotone in t but flat over many ulps of t when ``|t| << |v|``, so the
    boundary is found by galloping from ``fl(v + r)`` (up if it is inside, down if not) over the
    ordered integer encoding of doubles, then bisecting the bracket: one or two probes for
    most points. Requires ``r > 0`` when strict (so that v itself is inside).
    """
    def inside(o: np.ndarray, rows: np.ndarray) -> np.ndarray:
        d = _from_ordered(o) - v[rows]
        return d < r[rows] if strict else d <= r[rows]

    every = np.arange(len(v))
    floor = _to_ordered(v)  # v itself is inside
    top = _to_ordered(np.full(len(v), np.inf))  # +inf is outside (r is finite)
    guess = np.clip(_to_ordered(v + r), floor, top)
    ok = inside(guess, every)
    low = np.where(ok, guess, floor)
    high = np.where(ok, top, guess)
    limit = np.int64(1) << 62
    # gallop up from an inside guess until outside; down from an outside one until inside
    for upward in (True, False):
        pending = np.flatnonzero(ok if upward else ~ok)
        step = np.ones(len(pending), dtype=np.int64)
        while pending.size:
            if upward:  # min(low + step, top) without int64 overflow
                cand = np.minimum(low[pending], top[pending] - step) + step
            else:  # max(high - step, floor)
                cand = np.maximum(high[pending], floor[pending] + step) - step
            ins = inside(cand, pending)
            low[pending[ins]] = cand[ins]
            high[pending[~ins]] = cand[~ins]
            keep = ~ins if not upward else ins
            pending, step = pending[keep], np.minimum(step[keep] * 2, limit)
    pending = np.flatnonzero(high > low + 1)
    while pending.size:
        a, b = low[pending], high[pending]
        mid = (a >> 1) + (b >> 1) + (a & b & 1)  # floor((a + b) / 2) without overflow
        ins = inside(mid, pending)
        low[pending[ins]] = mid[ins]
        high[pending[~ins]] = mid[~ins]
        pending = pending[high[pending] > low[pending] + 1]
    return _from_ordered(low)


def _index_range(sorted_values: np.ndarray, centers: np.ndarray, r: np.ndarray,
                 strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``[left, right)`` in ``sorted_values`` of the t with ``|fl(t - c)| < r`` (or <=).

    Exact for centres that are themselves among the values (needs ``r > 0`` when strict). The
    guess from ``c -+ r`` is kept where the values at its ends are inside and the values beyond
    them are not (``fl(t - c)`` is monotone in t, so the inside values are one run); the few
    rows it misses by rounding take the exact ends of :func:`_value_range`.
    """
    n = len(sorted_values)
    # strict: a value at exactly c -+ r (the k-th neighbour itself, often) is outside
    left = np.searchsorted(sorted_values, centers - r, side="right" if strict else "left")
    right = np.searchsorted(sorted_values, centers + r, side="left" if strict else "right")

    def inside(pos: np.ndarray) -> np.ndarray:
        d = np.abs(sorted_values[np.clip(pos, 0, n - 1)] - centers)
        return (d < r) if strict else (d <= r)

    exact = inside(left) & inside(right - 1)
    exact &= (left == 0) | ~inside(left - 1)
    exact &= (right == n) | ~inside(right)
    wrong = np.flatnonzero(~exact)
    if wrong.size:
        low, high = _value_range(centers[wrong], r[wrong], strict)
        left[wrong] = np.searchsorted(sorted_values, low, side="left")
        right[wrong] = np.searchsorted(sorted_values, high, side="right")
    return left, right


def sorted_count(values: np.ndarray, radius: np.ndarray, strict: bool,
                 order: np.ndarray | None = None) -> np.ndarray:
    """#{j != i : |fl(v_j - v_i)| < radius_i} (or <=) for 1-D ``values``, in O(N log N).

    Exact: the same floating-point comparisons as computing every difference (the interval ends
    are checked, or found by :func:`_value_range`, not taken from ``v_i +- r_i``); ties and
    duplicates included. Work is done in sorted order, so that the binary searches touch memory
    in order; ``order`` is a sorting permutation of ``values`` (``np.argsort``) when it is already
    known (how ties are ordered does not matter).
    """
    if order is None:
        order = np.argsort(values, kind="stable")
    v = np.ascontiguousarray(np.asarray(values, dtype=np.float64)[order])
    r = np.ascontiguousarray(np.asarray(radius, dtype=np.float64)[order])
    kernels = _kernels()
    if kernels is not None:  # galloping from the previous point's ends: 2-3x faster
        found = np.empty(len(v), dtype=np.int64)
        kernels.infolens_sorted_count(v.ctypes.data, r.ctypes.data, len(v), int(strict), found.ctypes.data)
    else:
        found = np.zeros(len(v), dtype=np.int64)
        rows = np.flatnonzero(r > 0) if strict else np.arange(len(v))  # strict, r = 0: nobody
        if rows.size:
            left, right = _index_range(v, v[rows], r[rows], strict)
            found[rows] = right - left - 1
    out = np.empty_like(found)
    out[order] = found
    return out


def _value_range(v: np.ndarray, r: np.ndarray, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """Exact [lower, upper] with {t : |fl(t - v)| < r (or <=)} = [lower, upper]; needs r > 0 if strict."""
    return -_last_inside_above(-v, r, strict), _last_inside_above(v, r, strict)


# ------------------------------------------------------------------------------ brute strategy


class _Blocks:
    """Distances from a block of query rows to all N points, one (b, N) matrix per group.

    Exact mode (every group 1-D, or the max-norm on a CPU with the compiled kernel, or
    ``dtype=float64`` with the max-norm): float64 distances from the kernel's
    ``infolens_distance_rows`` on a CPU, else ``torch.cdist(p=inf)``. Approximate modes, on
    centred data scaled by one power of two (exact) and stored in ``dtype`` (float32 by default:
    half the memory traffic, SIMD-wide, fast on GPUs); ``tol[i]`` bounds the error of every
    entry of row i on every group, with a factor of safety, and every comparison it cannot decide
    is re-done exactly by the callers:

    * ``"gemm"`` (``"euclidean"``): squared distances from one GEMM per group,
      ``[c_i, |c_i|^2, 1] . [-2 c_j, 1, |c_j|^2]``; rounding ``O(d u (|c_i|^2 + max_j |c_j|^2))``.
    * ``"maxabs"`` (``"chebyshev"``): ``max_c |c_ic - c_jc|`` coordinate by coordinate in
      ``dtype`` (``torch.cdist(p=inf)`` has no fast kernel: 2x slower in float64 at 40
      dimensions); rounding ``O(u (max_c |c_ic| + max_j,c |c_jc|))``, no growth with d.

    The diagonal (i itself) is set to +inf.
    """

    def __init__(self, groups: list[Any], metric: str, dtype: Any) -> None:
        import torch

        self.groups = groups
        self.metric = metric
        self.n = int(groups[0].shape[0])
        self.mode = "exact"
        self.columns: list[np.ndarray] | None = None
        on_cpu = groups[0].device.type == "cpu"
        if any(g.shape[1] > 1 for g in groups):
            if metric == "euclidean":
                self.mode = "gemm"
            elif dtype != torch.float64 and not (on_cpu and _kernels() is not None):
                self.mode = "maxabs"
        self.approximate = self.mode != "exact"
        self.dtype = dtype if self.approximate else torch.float64
        if not self.approximate:
            if on_cpu and _kernels() is not None:  # coordinates column by column for the kernel
                self.columns = [np.ascontiguousarray(g.numpy().T) for g in groups]
            return
        means = [g.mean(dim=0, keepdim=True) for g in groups]
        centred = [g - m for g, m in zip(groups, means, strict=True)]
        biggest = max(float(c.abs().max()) for c in centred)
        scale = 2.0 ** math.floor(math.log2(biggest)) if biggest > 0 else 1.0
        self.scale = scale
        unit = torch.finfo(dtype).eps
        self.margin = max(_MARGIN, 8.0 * unit)
        self.left, self.right = [], []
        self.tol = torch.zeros(self.n, dtype=torch.float64, device=groups[0].device)
        for g, m, c in zip(groups, means, centred, strict=True):
            c = c / scale
            if self.mode == "gemm":
                norms = (c * c).sum(dim=1, keepdim=True)
                ones = torch.ones_like(norms)
                self.left.append(torch.cat([c, norms, ones], dim=1).to(dtype))
                self.right.append(torch.cat([-2.0 * c, ones, norms], dim=1).to(dtype).T.contiguous())
                bound = (8.0 * (c.shape[1] + 2) + 64.0) * unit * (norms[:, 0] + norms.max())
            else:
                self.left.append(c.to(dtype).contiguous())
                self.right.append(c.to(dtype).T.contiguous())
                row_max = c.abs().amax(dim=1)
                # float conversion and subtraction, plus the float64 rounding of the centring
                centring = 4.0 * torch.finfo(torch.float64).eps * float(g.abs().max() + m.abs().max()) / scale
                bound = 8.0 * unit * (row_max + row_max.max()) + 8.0 * centring
            self.tol = torch.maximum(self.tol, bound)

    def __call__(self, start: int, stop: int) -> list[Any]:
        """Exact mode: float64 distances of rows start..stop to all points."""
        import torch

        if self.columns is None:
            mats = [torch.cdist(g[start:stop], g, p=float("inf")) for g in self.groups]
        else:
            mats = [torch.empty((stop - start, self.n), dtype=torch.float64) for _ in self.groups]
            for g, columns, m in zip(self.groups, self.columns, mats, strict=True):
                queries = g[start:stop].contiguous()
                _kernels().infolens_distance_rows(queries.data_ptr(), stop - start, columns.ctypes.data,
                                                  self.n, columns.shape[0], m.data_ptr())
        local = torch.arange(stop - start, device=mats[0].device)
        for m in mats:
            m[local, local + start] = math.inf
        return mats

    def tile(self, start: int, stop: int, c0: int, c1: int, rows: Any = None) -> list[Any]:
        """Approximate tile: rows start..stop (or the subset ``rows`` of them), columns c0..c1."""
        import torch

        mats = []
        for left, right in zip(self.left, self.right, strict=True):
            lhs = left[start:stop] if rows is None else left[start:stop][rows]
            if self.mode == "gemm":
                mats.append(torch.mm(lhs, right[:, c0:c1]))
                continue
            acc = (lhs[:, :1] - right[:1, c0:c1]).abs_()
            diff = torch.empty_like(acc)
            for col in range(1, lhs.shape[1]):
                torch.sub(lhs[:, col:col + 1], right[col:col + 1, c0:c1], out=diff)
                torch.maximum(acc, diff.abs_(), out=acc)
            mats.append(acc)
        own = torch.arange(start, stop, device=mats[0].device)
        if rows is not None:
            own = own[rows]
        hit = torch.nonzero((own >= c0) & (own < c1)).flatten()
        for m in mats:
            m[hit, own[hit] - c0] = math.inf
        return mats

    def bounds(self, radius: Any, start: int, stop: int) -> tuple[Any, Any]:
        """Thresholds in tile units: entries below ``low`` are surely < radius, above ``high`` surely >."""
        scaled = radius / self.scale
        if self.mode == "gemm":
            scaled = scaled * scaled
        tol = self.tol[start:stop]
        low = (scaled * (1.0 - self.margin) - tol).to(self.dtype)[:, None]
        high = (scaled * (1.0 + self.margin) + tol).to(self.dtype)[:, None]
        return low, high


def _brute_stats(groups: list[Any], k: int, specs: Sequence[CountSpec], metric: str,
                 group_eps: bool, block_bytes: int, dtype: Any = None,
                 ) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    """Blocked brute force over row blocks; on CPU the blocks run in parallel threads.

    On a CPU each of ``torch.get_num_threads()`` Python threads processes whole row blocks
    with single-threaded torch kernels (torch releases the GIL): independent workers keep
    running at full speed when other processes share the cores, where intra-op threading of
    these small kernels stalls at every barrier. The thread setting is restored afterwards.
    """
    import torch

    n = int(groups[0].shape[0])
    device = groups[0].device
    blocks = _Blocks(groups, metric, torch.float32 if dtype is None else dtype)
    workers = torch.get_num_threads() if device.type == "cpu" else 1
    if blocks.approximate:
        rows, cols = _tile_shape(n, blocks.dtype.itemsize * (len(groups) + 1) + 3,
                                 block_bytes // workers, device, blocks.mode)
    else:  # whole rows, so each distance is computed once; on a CPU few enough to stay in cache
        rows = max(1, min(n, block_bytes // workers // (n * (8 * (len(groups) + 1) + 3))))
        if device.type == "cpu":
            rows = min(rows, max(_MIN_EXACT_ROWS, CPU_TILE_ENTRIES["exact"] // n))
        cols = n
    rho = torch.empty(n, dtype=torch.float64, device=device)
    eps = torch.zeros((n, len(groups)), dtype=torch.float64, device=device) if group_eps else None
    found = [torch.zeros(n, dtype=torch.int64, device=device) for _ in specs]

    def run(start: int) -> None:
        stop = min(n, start + rows)
        rho_b, eps_b, counted = _brute_block(blocks, k, specs, group_eps, start, stop, cols,
                                             block_bytes // workers)
        rho[start:stop] = rho_b
        if eps is not None:
            eps[start:stop] = eps_b
        for out, c in zip(found, counted, strict=True):
            out[start:stop] = c

    starts = range(0, n, rows)
    if workers > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, starts))
        finally:
            torch.set_num_threads(workers)
    else:
        for start in starts:
            run(start)
    return (rho.cpu().numpy(), None if eps is None else eps.cpu().numpy(),
            [f.cpu().numpy() for f in found])


def _brute_block(blocks: _Blocks, k: int, specs: Sequence[CountSpec], group_eps: bool, start: int,
                 stop: int, cols: int, block_bytes: int) -> tuple[Any, Any, list[Any]]:
    """rho, eps and counts of the rows start..stop."""
    import torch

    if blocks.approximate:
        near = _approx_knn(blocks, start, stop, k, cols, block_bytes)
        rho_b, eps_b = near.rho, (near.eps() if group_eps else None)
    else:
        mats = blocks(start, stop)
        rho_b, eps_b = _exact_knn(mats, k, group_eps)
    radii = []
    for spec in specs:
        if spec.radius == "rho":
            radii.append(rho_b)
        elif spec.radius == "eps":
            radii.append(eps_b[:, spec.groups[0]])
        else:
            radii.append(torch.zeros(stop - start, dtype=torch.float64, device=rho_b.device))
    if blocks.approximate:
        return rho_b, eps_b, _approx_counts(blocks, specs, radii, start, stop, cols)
    return rho_b, eps_b, [_exact_count(mats, spec, r) for spec, r in zip(specs, radii, strict=True)]


#: Entries of one (rows x columns) tile of the brute force on a CPU, per mode: small enough that
#: the tile's matrices stay in cache between the distances and the selections and comparisons
#: that read them. The max-abs loop makes 3 passes per coordinate over its tile, so it wants it
#: in L2 (N = 5,000, 40 dims: 0.74 s with 2^21 entries, 0.49 s with 2^18, 1.1 s with 2^16); the
#: exact rows of the compiled kernel likewise (N = 5,000, 20 + 20 dims: 0.46 s with blocks of
#: 256 MiB, 0.16 s with 16 MiB, i.e. ~2^18 entries).
CPU_TILE_ENTRIES = {"gemm": 2**21, "maxabs": 2**18, "exact": 2**18}
#: Fewest rows of an exact block (each block costs a few dozen torch calls).
_MIN_EXACT_ROWS = 16


def _tile_shape(n: int, bytes_per_entry: int, block_bytes: int, device: Any,
                mode: str) -> tuple[int, int]:
    entries = max(1, block_bytes // bytes_per_entry)
    if device.type == "cpu":
        entries = min(entries, CPU_TILE_ENTRIES[mode])
    cols = min(n, max(64, entries // 256))
    rows = max(1, min(n, entries // cols))
    return rows, cols


def _row_count(mask: Any) -> Any:
    """Number of True entries per row (numpy's uint8 reduction is 2x faster on CPU)."""
    import torch

    if mask.device.type == "cpu":
        counts = np.add.reduce(mask.numpy().view(np.uint8), axis=1, dtype=np.int64)
        return torch.from_numpy(counts)
    return torch.count_nonzero(mask, dim=1)


def _joint_of(mats: list[Any], groups: Sequence[int]) -> Any:
    import torch

    joint = mats[groups[0]]
    for g in groups[1:]:
        joint = torch.maximum(joint, mats[g])
    return joint


def _exact_knn(mats: list[Any], k: int, group_eps: bool) -> tuple[Any, Any]:
    import torch

    joint = _joint_of(mats, range(len(mats)))
    rho = torch.topk(joint, k, dim=1, largest=False).values[:, k - 1]
    if not group_eps:
        return rho, None
    inside = joint <= rho[:, None]
    return rho, torch.stack([torch.where(inside, m, 0.0).amax(dim=1) for m in mats], dim=1)


def _exact_count(mats: list[Any], spec: CountSpec, radius: Any) -> Any:
    import torch

    hit = None
    for g in spec.groups:
        m = mats[g]
        g_hit = m < radius[:, None] if spec.strict else m <= radius[:, None]
        hit = g_hit if hit is None else hit & g_hit
    return torch.count_nonzero(hit, dim=1)


@dataclass
class _Candidates:
    """Points that can be among the k nearest of each block row, with exact distances."""

    index: Any  # (b, w) column indices, ascending approximate joint distance
    valid: Any  # (b, w) bool: a real candidate (rows have different numbers of them)
    exact: list[Any]  # per group (b, w) exact distances (inf where not valid)
    rho: Any  # (b,) exact k-th neighbour distance

    def eps(self) -> Any:
        import torch

        joint = self.exact[0]
        for d in self.exact[1:]:
            joint = torch.maximum(joint, d)
        inside = joint <= self.rho[:, None]
        return torch.stack([torch.where(inside, d, 0.0).amax(dim=1) for d in self.exact], dim=1)


_EXTRA = 8  # candidates beyond k kept per row; rows with more near-ties are widened


def _approx_knn(blocks: _Blocks, start: int, stop: int, k: int, cols: int,
                 block_bytes: int) -> _Candidates:
    """Exact k-th neighbour distances of rows start..stop from approximate tile distances.

    Every j whose exact joint distance can be <= rho_i satisfies ``J_ij <= J_(k) + 2 tol``
    (``J_(k)`` the k-th smallest approximate value): those are the candidates, usually k or a
    few more. Column tiles keep a running top ``k + _EXTRA``; rows whose candidates overflow it
    (ties) are collected by a second sweep. Exact distances of the candidates give rho and the
    per-group eps exactly.
    """
    import torch

    b, n = stop - start, blocks.n
    width = min(k + _EXTRA, n - 1)
    best_v = best_i = None
    for c0 in range(0, n, cols):
        joint = _joint_of(blocks.tile(start, stop, c0, min(n, c0 + cols)), range(len(blocks.groups)))
        v, i = torch.topk(joint, min(width, joint.shape[1]), dim=1, largest=False)
        i = i + c0
        if best_v is not None:
            v, pos = torch.topk(torch.cat([best_v, v], dim=1), width, dim=1, largest=False)
            i = torch.cat([best_i, i], dim=1).gather(1, pos)
        best_v, best_i = v, i
    values = best_v.to(torch.float64)
    tol = blocks.tol[start:stop]
    limit = (values[:, k - 1] + 2.0 * tol) * (1.0 + blocks.margin) + tol * blocks.margin
    n_cand = (values <= limit[:, None]).sum(dim=1)
    index = best_i
    crowded = torch.nonzero((n_cand == width) & (width < n - 1)).flatten()
    if crowded.numel():  # ties or near-ties beyond k + _EXTRA: collect all candidates
        lim = limit[crowded].to(blocks.dtype)[:, None]
        found_r, found_c = [], []
        for c0 in range(0, n, cols):
            tile = blocks.tile(start, stop, c0, min(n, c0 + cols), rows=crowded)
            r, c = torch.nonzero(_joint_of(tile, range(len(tile))) <= lim, as_tuple=True)
            found_r.append(r)
            found_c.append(c + c0)
        r, c = torch.cat(found_r), torch.cat(found_c)
        per_row = torch.bincount(r, minlength=len(crowded))
        more = int(per_row.max())
        if more > width:
            pad = torch.zeros((b, more), dtype=index.dtype, device=index.device)
            pad[:, :width] = index
            index, width = pad, more
        order = torch.argsort(r, stable=True)
        r, c = r[order], c[order]
        offsets = torch.cumsum(per_row, 0) - per_row
        slot = torch.arange(len(r), device=r.device) - offsets[r]
        index[crowded[r], slot] = c
        n_cand[crowded] = per_row
    valid = torch.arange(width, device=index.device)[None, :] < n_cand[:, None]
    exact = [torch.empty((b, width), dtype=torch.float64, device=index.device) for _ in blocks.groups]
    max_dim = max(int(g.shape[1]) for g in blocks.groups)
    chunk = max(1, block_bytes // (8 * width * (max_dim + 2)))
    rows = torch.arange(start, stop, device=index.device)
    for lo in range(0, b, chunk):
        hi = min(b, lo + chunk)
        owners = rows[lo:hi, None].expand(hi - lo, width).reshape(-1)
        cols_ = index[lo:hi].reshape(-1)
        for g, values_g in enumerate(blocks.groups):
            d = pair_distances(values_g[owners], values_g[cols_], blocks.metric).reshape(hi - lo, width)
            exact[g][lo:hi] = torch.where(valid[lo:hi], d, math.inf)
    joint_exact = exact[0]
    for d in exact[1:]:
        joint_exact = torch.maximum(joint_exact, d)
    rho = torch.topk(joint_exact, k, dim=1, largest=False).values[:, k - 1]
    return _Candidates(index=index, valid=valid, exact=exact, rho=rho)


def _approx_counts(blocks: _Blocks, specs: Sequence[CountSpec], radii: list[Any], start: int,
                    stop: int, cols: int) -> list[Any]:
    """#{j != i : d_S(i, j) < radius_i} (or <=) per spec, exact, from approximate tile distances.

    Per column tile: entries below the lower bound are surely inside, above the upper bound
    surely outside; the few in between (the k-th neighbour itself, ties, near-ties) are
    collected and decided with exactly computed distances at the end.
    """
    import torch

    n = blocks.n
    bounds = [blocks.bounds(r, start, stop) for r in radii]
    counts = [torch.zeros(stop - start, dtype=torch.int64, device=radii[0].device) for _ in specs]
    pending: list[list[tuple[Any, Any]]] = [[] for _ in specs]
    for c0 in range(0, n, cols):
        mats = blocks.tile(start, stop, c0, min(n, c0 + cols))
        for s, (spec, (low, high)) in enumerate(zip(specs, bounds, strict=True)):
            surely = maybe = None
            for g in spec.groups:
                s_g, m_g = mats[g] < low, mats[g] <= high
                surely = s_g if surely is None else surely.logical_and_(s_g)
                maybe = m_g if maybe is None else maybe.logical_and_(m_g)
            counts[s] += _row_count(surely).to(counts[s].device)
            r, c = torch.nonzero(maybe.logical_xor_(surely), as_tuple=True)  # surely implies maybe
            if r.numel():
                pending[s].append((r, c + c0))
    for s, spec in enumerate(specs):
        if not pending[s]:
            continue
        r = torch.cat([p[0] for p in pending[s]])
        c = torch.cat([p[1] for p in pending[s]])
        d = _joint_pair_distances([blocks.groups[g] for g in spec.groups], r + start, c, blocks.metric)
        inside = d < radii[s][r] if spec.strict else d <= radii[s][r]
        counts[s] += torch.bincount(r[inside], minlength=stop - start)
    return counts
