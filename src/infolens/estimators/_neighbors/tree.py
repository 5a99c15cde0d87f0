"""The tree strategy: a KD-tree searched by the compiled kernels, 1-D counts by sorting.

The joint k-NN search and the radius counts in 2+ dimensions run on scikit-learn's KD-tree,
searched by the compiled kernels (:class:`KernelTree`); 1-D counts by sorting and galloping search
(:mod:`~infolens.estimators._neighbors.sorted_counts`). The searches and counts run as GIL-free
jobs side by side on all CPUs, and the counts' sort orders and trees are built while the joint tree
is. Where nothing was compiled: scipy's ``cKDTree`` for the joint search, scikit-learn's tree
counts and numpy binary searches (see :func:`infolens.estimators._neighbors.tree_supports`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from infolens._validation import unique_row_codes
from infolens.estimators._neighbors import loader
from infolens.estimators._neighbors.base import CountSpec, joint_pair_distances, pair_distances
from infolens.estimators._neighbors.sorted_counts import sorted_count

#: Rows per chunk when tied neighbourhoods are listed explicitly.
_TIE_CHUNK = 2048


def tree_stats(groups: list[np.ndarray], k: int, specs: Sequence[CountSpec], metric: str,
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
        rho = dist[:, k] if exact else joint_pair_distances(groups, np.arange(n), neighbours[:, k], metric)
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
    if loader.serves(joint.shape[1]):
        tree = KernelTree(joint, dims, metric)
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
    return KernelTree(points, dims, metric)


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
        tied = joint_pair_distances(groups, rows, neighbours[:, k + 1], metric) <= rho
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
        inside = joint_pair_distances(groups, owners, members, metric) <= rho[owners]
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


class KernelTree:
    """A KD-tree for k-NN searches and radius counts under the engine's norm (max-norm, or the
    max over groups of the Euclidean norm within each group).

    The tree is scikit-learn's (median splits, ``leaf_size`` :data:`loader.TREE_LEAF`), searched by the
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
        self.tree = KDTree(points, leaf_size=loader.TREE_LEAF, metric="chebyshev")
        _, index, nodes, bounds = self.tree.get_arrays()
        self.order = np.asarray(index, dtype=np.int64)
        self.kernels = loader.kernels() if loader.serves(points.shape[1]) else None
        if self.kernels is None:
            if self.euclidean:
                raise ValueError("Euclidean groups need the compiled kernels (see tree_supports)")
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

