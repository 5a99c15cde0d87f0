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
    a KD-tree (scikit-learn's) searched by small compiled kernels (:class:`tree.KernelTree`, built
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

Modules: :mod:`.base` (the count request, the result, the one distance), :mod:`.tree` (the tree
strategy), :mod:`.sorted_counts` (1-D counts by sorting), :mod:`.brute` (blocked brute force),
:mod:`.loader` (the compiled kernels, and the check of scikit-learn's tree layout they rely on).
This module picks a strategy and dispatches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from infolens._validation import _is_tensor
from infolens.estimators._neighbors import loader
from infolens.estimators._neighbors.base import CountSpec, NeighborStats, pair_distances
from infolens.estimators._neighbors.brute import brute_stats
from infolens.estimators._neighbors.sorted_counts import sorted_count
from infolens.estimators._neighbors.tree import tree_stats

__all__ = ["BLOCK_BYTES", "METRICS", "STRATEGIES", "CountSpec", "NeighborStats", "choose_strategy",
           "neighbor_stats", "pair_distances", "sorted_count", "tree_max_dim", "tree_supports"]

METRICS = ("chebyshev", "euclidean")
STRATEGIES = ("auto", "tree", "brute")
#: Default working memory of one block of the brute-force strategy, in bytes.
BLOCK_BYTES = 256 * 2**20


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
    if chosen == "tree" and not tree_supports(dims, metric, counts):
        raise ValueError("strategy='tree' needs metric='chebyshev' (or 1-D groups, or a single "
                         "group without counts) where the compiled kernels were not built")
    if chosen == "tree":
        arrays = [g.detach().cpu().numpy() if _is_tensor(g) else np.asarray(g) for g in groups]
        rho, eps, found = tree_stats(arrays, k, counts, metric, group_eps)
    else:
        import torch

        dtype = {"float32": torch.float32, "float64": torch.float64}[gemm_dtype]
        rho, eps, found = brute_stats(_as_tensors(groups), k, counts, metric, group_eps, block_bytes,
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
    factor = 1.0 if loader.kernels() is None else 1.2 if euclidean else 1.6
    return max(4, int(factor * math.log2(max(n, 2))))


def choose_strategy(n: int, dims: Sequence[int], metric: str, counts: Sequence[CountSpec] = (),
                    on_device: bool = False) -> str:
    """The strategy ``"auto"`` picks: brute on a non-CPU device or in high dimension, else tree."""
    if on_device or not tree_supports(dims, metric, counts):
        return "brute"
    euclidean = metric == "euclidean" and any(d > 1 for d in dims)
    return "tree" if sum(dims) <= tree_max_dim(n, euclidean) else "brute"


def tree_supports(dims: Sequence[int], metric: str, counts: Sequence[CountSpec]) -> bool:
    """The max-norm, or any norm the compiled kernels serve; without them, one Euclidean group
    without counts (scipy's p = 2 tree)."""
    return (metric == "chebyshev" or all(d == 1 for d in dims) or loader.serves(sum(dims))
            or (len(dims) == 1 and not counts))


def _as_tensors(groups: Sequence[Any]) -> list[Any]:
    import torch

    out = []
    for g in groups:
        t = g if _is_tensor(g) else torch.from_numpy(np.ascontiguousarray(g, dtype=np.float64))
        out.append(t.detach().to(torch.float64).contiguous())
    return out

