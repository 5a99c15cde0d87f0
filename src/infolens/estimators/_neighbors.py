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
    scipy's ``cKDTree`` with all CPU workers for the joint k-NN search (queries in leaf order for
    memory locality) and for radius counts in groups of 2+ dimensions; radius counts in 1-D groups
    by sorting and binary search (O(N log N)). Fast when the joint dimension is low. Needs the
    max-norm (``"chebyshev"``; for 1-D groups both metrics coincide); ``"euclidean"`` is accepted
    for a single group (the KL entropy).
``"brute"``
    blocked brute force with torch on the samples' device (CPU or CUDA): for a block of B query
    rows, distances to all N points, then selection and counts in that block, so memory is about
    ``block_bytes`` whatever N (never an N x N matrix). ``"chebyshev"`` distances come from
    ``torch.cdist(p=inf)`` (exact, but O(N^2 d) without matrix products); ``"euclidean"``
    squared distances come from one matrix product per block (GEMM, the fast choice in high
    dimension). GEMM distances carry rounding error, so every comparison that a rigorous error
    bound cannot decide (the k-th neighbour itself, ties, near-ties) is re-done with exactly
    computed distances: the results are those of the exact distances, not approximations.

Exactness: all strategies compute a distance the same way (:func:`pair_distances`: differences
coordinate by coordinate, the max of their absolute values, or the square root of their squares
summed in coordinate order), and take strict / non-strict inequalities literally, so they return
identical counts, ties and duplicated points included. The radius counts by sorting find the exact
floating-point thresholds with ``np.nextafter`` rather than comparing ``x_j < x_i + r``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from infolens._validation import _is_tensor, unique_row_codes

METRICS = ("chebyshev", "euclidean")
STRATEGIES = ("auto", "tree", "brute")
#: Default working memory of one block of the brute-force strategy, in bytes.
BLOCK_BYTES = 256 * 2**20
#: Relative safety margin of the GEMM error bound (far above the unit roundoff 1.1e-16).
_MARGIN = 1e-12
#: Rows per chunk when tied neighbourhoods are listed explicitly.
_TIE_CHUNK = 2048


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
    torch CPU and CUDA give bit-identical results.
    """
    diff = a - b
    if metric == "chebyshev" or diff.shape[1] == 1:
        return diff.abs().amax(dim=1) if _is_tensor(diff) else np.abs(diff).max(axis=1)
    total = diff[:, 0] * diff[:, 0]
    for c in range(1, diff.shape[1]):
        total = total + diff[:, c] * diff[:, c]
    return total.sqrt() if _is_tensor(total) else np.sqrt(total)


def _joint_pair_distances(groups: Sequence[Any], rows: Any, cols: Any, metric: str) -> Any:
    out = None
    for g in groups:
        d = pair_distances(g[rows], g[cols], metric)
        out = d if out is None else (np.maximum(out, d) if not _is_tensor(d) else out.maximum(d))
    return out


# ------------------------------------------------------------------------------ the entry point


def neighbor_stats(groups: Sequence[Any], k: int, counts: Sequence[CountSpec] = (), *,
                   metric: str = "chebyshev", group_eps: bool = False, strategy: str = "auto",
                   block_bytes: int = BLOCK_BYTES) -> NeighborStats:
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
                         "group without counts)")
    if chosen == "tree":
        arrays = [g.detach().cpu().numpy() if _is_tensor(g) else np.asarray(g) for g in groups]
        rho, eps, found = _tree_stats(arrays, k, counts, metric, group_eps)
    else:
        rho, eps, found = _brute_stats(_as_tensors(groups), k, counts, metric, group_eps, block_bytes)
    return NeighborStats(rho=rho, eps=eps, counts=tuple(found), strategy=chosen)


def tree_max_dim(n: int) -> int:
    """Largest joint dimension for which the KD-tree beats blocked brute force at n points.

    A KD-tree prunes well while N >> 2^d; the rule ``d <= log2(N) - 4`` (at least 4) follows
    the crossover measured in ``benchmarks/knn_scaling.py``.
    """
    return max(4, int(math.log2(max(n, 2))) - 4)


def choose_strategy(n: int, dims: Sequence[int], metric: str, counts: Sequence[CountSpec] = (),
                    on_device: bool = False) -> str:
    """The strategy ``"auto"`` picks: brute on a non-CPU device or in high dimension, else tree."""
    if on_device or not _tree_supports(dims, metric, counts):
        return "brute"
    return "tree" if sum(dims) <= tree_max_dim(n) else "brute"


def _tree_supports(dims: Sequence[int], metric: str, counts: Sequence[CountSpec]) -> bool:
    return metric == "chebyshev" or all(d == 1 for d in dims) or (len(dims) == 1 and not counts)


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
    from scipy.spatial import cKDTree

    n = groups[0].shape[0]
    joint = groups[0] if len(groups) == 1 else np.hstack(groups)
    # max-norm on the stacked coordinates, except the Euclidean norm of a single group
    p = 2.0 if metric == "euclidean" and len(groups) == 1 and joint.shape[1] > 1 else np.inf
    tree = cKDTree(joint)
    order = tree.indices  # query in leaf order: neighbouring queries touch the same memory
    n_query = min(k + 2, n)
    _, idx = tree.query(joint[order], k=n_query, p=p, workers=-1)
    neighbours = np.empty_like(idx)
    neighbours[order] = idx
    rows = np.arange(n)
    # distances recomputed with the one exact definition (the tree's p=2 rounding differs)
    rho = _joint_pair_distances(groups, rows, neighbours[:, k], metric)
    eps = None
    if group_eps:
        eps = _tree_group_eps(tree, groups, joint, neighbours, rho, k, metric, p)
    found = []
    for spec in specs:
        sub = [groups[g] for g in spec.groups]
        if spec.radius == "zero":
            found.append(_identical_counts(sub))
            continue
        radius = rho if spec.radius == "rho" else eps[:, spec.groups[0]]  # type: ignore[index]
        points = sub[0] if len(sub) == 1 else np.hstack(sub)
        found.append(_tree_count(points, radius, spec.strict))
    return rho, eps, found


def _tree_group_eps(tree: Any, groups: list[np.ndarray], joint: np.ndarray, neighbours: np.ndarray,
                    rho: np.ndarray, k: int, metric: str, p: float) -> np.ndarray:
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
        balls = tree.query_ball_point(joint[chunk], rho[chunk], p=p, workers=-1)
        lengths = np.fromiter((len(b) for b in balls), dtype=np.int64, count=len(balls))
        members = np.concatenate([np.asarray(b, dtype=np.int64) for b in balls])
        owners = np.repeat(chunk, lengths)
        inside = _joint_pair_distances(groups, owners, members, metric) <= rho[owners]
        for g, values in enumerate(groups):
            d = np.where(inside, pair_distances(values[owners], values[members], metric), 0.0)
            np.maximum.at(eps[:, g], owners, d)
    return eps


def _identical_counts(groups: Sequence[Any]) -> np.ndarray:
    """For each point, how many other points are identical to it in all ``groups``."""
    joint = groups[0] if len(groups) == 1 else np.hstack(groups)
    codes = unique_row_codes(np.asarray(joint))
    return np.bincount(codes)[codes] - 1


def _tree_count(points: np.ndarray, radius: np.ndarray, strict: bool) -> np.ndarray:
    """#{j != i : max-norm ||p_j - p_i|| < radius_i} (or <=), by sorting in 1-D, else a KD-tree."""
    if points.shape[1] == 1:
        return sorted_count(points[:, 0], radius, strict)
    from scipy.spatial import cKDTree

    tree = cKDTree(points)
    order = tree.indices
    r = radius[order]
    # d <= nextafter(r, 0) is d < r for doubles; strict with r = 0 counts nothing
    query_r = np.nextafter(r, 0.0) if strict else r
    found = tree.query_ball_point(points[order], query_r, p=np.inf, workers=-1,
                                  return_length=True) - 1
    if strict:
        found[r == 0] = 0
    out = np.empty(len(points), dtype=np.int64)
    out[order] = found
    return out


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
    boundary is found by galloping and bisection over the ordered integer encoding of doubles,
    starting from ``fl(v + r)`` (usually one or two steps). Requires ``r > 0`` when strict.
    """
    def inside(o: np.ndarray, rows: np.ndarray) -> np.ndarray:
        d = _from_ordered(o) - v[rows]
        return d < r[rows] if strict else d <= r[rows]

    every = np.arange(len(v))
    low = _to_ordered(v)  # v itself is inside
    top = _to_ordered(np.full(len(v), np.inf))  # +inf is outside (r is finite)
    guess = np.clip(_to_ordered(v + r), low, top)
    ok = inside(guess, every)
    high = np.where(ok, top, guess)
    low = np.where(ok, guess, low)
    # gallop upward from an inside guess until a point outside is met
    pending = np.flatnonzero(ok)
    step = np.ones(len(pending), dtype=np.int64)
    while pending.size:
        # min(low, top - step) + step == min(low + step, top) without int64 overflow
        cand = np.minimum(low[pending], top[pending] - step) + step
        ins = inside(cand, pending)
        low[pending[ins]] = cand[ins]
        high[pending[~ins]] = cand[~ins]
        pending, step = pending[ins], np.minimum(step[ins] * 2, np.int64(1) << 62)
    # bisection (the downward case starts here directly: low = v inside, high = guess outside)
    pending = np.flatnonzero(high > low + 1)
    while pending.size:
        a, b = low[pending], high[pending]
        mid = (a >> 1) + (b >> 1) + (a & b & 1)  # floor((a + b) / 2) without overflow
        ins = inside(mid, pending)
        low[pending[ins]] = mid[ins]
        high[pending[~ins]] = mid[~ins]
        pending = pending[high[pending] > low[pending] + 1]
    return _from_ordered(low)


def sorted_count(values: np.ndarray, radius: np.ndarray, strict: bool) -> np.ndarray:
    """#{j != i : |fl(v_j - v_i)| < radius_i} (or <=) for 1-D ``values``, in O(N log N).

    Exact: the same floating-point comparisons as computing every difference (the interval ends
    come from :func:`_last_inside_above`, not from ``v_i +- r_i``); ties and duplicates included.
    Below v, ``fl(v - t) = fl((-t) - (-v))``, so the lower end is the mirrored upper one.
    """
    v = np.asarray(values, dtype=np.float64)
    r = np.asarray(radius, dtype=np.float64)
    ordered = np.sort(v)
    found = np.zeros(len(v), dtype=np.int64)
    rows = np.flatnonzero(r > 0) if strict else np.arange(len(v))  # strict, r = 0: nobody
    if rows.size:
        upper = _last_inside_above(v[rows], r[rows], strict)
        lower = -_last_inside_above(-v[rows], r[rows], strict)
        found[rows] = (np.searchsorted(ordered, upper, side="right")
                       - np.searchsorted(ordered, lower, side="left") - 1)
    return found


# ------------------------------------------------------------------------------ brute strategy


class _BlockDistances:
    """Distances from a block of query rows to all points, one (b, n) matrix per group.

    Exact groups (max-norm, or 1-D) hold distances. With ``"euclidean"`` groups of 2+
    dimensions hold GEMM squared distances ``v`` with a per-row error bound ``tol``: the
    exactly computed squared distance lies in ``[v - tol, v + tol]``.
    """

    def __init__(self, groups: list[Any], metric: str, block_bytes: int) -> None:
        import torch

        self.groups = groups
        self.metric = metric
        self.block_bytes = block_bytes
        self.approx = [metric == "euclidean" and g.shape[1] > 1 for g in groups]
        self.squared = any(self.approx)  # compare on the squared scale when any group is GEMM
        self.centered, self.norms, self.scale = [], [], []
        for g, approx in zip(groups, self.approx, strict=True):
            if approx:
                c = g - g.mean(dim=0, keepdim=True)
                norms = (c * c).sum(dim=1)
                self.centered.append(c)
                self.norms.append(norms)
                # error of GEMM distances plus that of the exact reference sum, both O(d u |.|^2)
                self.scale.append((4.0 * g.shape[1] + 32.0) * torch.finfo(torch.float64).eps)
            else:
                self.centered.append(None)
                self.norms.append(None)
                self.scale.append(0.0)

    def block(self, start: int, stop: int) -> tuple[list[Any], Any]:
        """Group matrices (distances, or squared distances when ``self.squared``) and tolerance."""
        import torch

        mats, tol = [], None
        for g, c, norms, scale, approx in zip(self.groups, self.centered, self.norms, self.scale,
                                               self.approx, strict=True):
            if approx:
                v = torch.addmm(norms[None, :], c[start:stop], c.T, alpha=-2.0)
                v += norms[start:stop, None]
                v.clamp_(min=0.0)
                t = scale * (norms[start:stop] + norms.max())
                tol = t if tol is None else torch.maximum(tol, t)
                mats.append(v)
            else:
                d = torch.cdist(g[start:stop], g, p=float("inf"))
                mats.append(d * d if self.squared else d)
        if tol is None:
            tol = torch.zeros(stop - start, dtype=torch.float64, device=self.groups[0].device)
        return mats, tol


def _brute_stats(groups: list[Any], k: int, specs: Sequence[CountSpec], metric: str,
                 group_eps: bool, block_bytes: int,
                 ) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    import torch

    n = int(groups[0].shape[0])
    device = groups[0].device
    dist = _BlockDistances(groups, metric, block_bytes)
    n_matrices = len(groups) + 4
    rows_per_block = max(1, min(n, block_bytes // (8 * n * n_matrices)))
    rho = torch.empty(n, dtype=torch.float64, device=device)
    eps = torch.zeros((n, len(groups)), dtype=torch.float64, device=device) if group_eps else None
    found = [torch.zeros(n, dtype=torch.int64, device=device) for _ in specs]
    for start in range(0, n, rows_per_block):
        stop = min(n, start + rows_per_block)
        mats, tol = dist.block(start, stop)
        local = torch.arange(stop - start, device=device)
        rho_b, eps_b = _block_knn(dist, mats, tol, start, stop, k, group_eps)
        rho[start:stop] = rho_b
        if eps is not None:
            eps[start:stop] = eps_b
        for spec, out in zip(specs, found, strict=True):
            if spec.radius == "rho":
                radius = rho_b
            elif spec.radius == "eps":
                radius = eps_b[:, spec.groups[0]]
            else:
                radius = torch.zeros(stop - start, dtype=torch.float64, device=device)
            out[start:stop] = _block_count(dist, mats, tol, spec, radius, start, local)
        del mats
    return (rho.cpu().numpy(), None if eps is None else eps.cpu().numpy(),
            [f.cpu().numpy() for f in found])


def _block_knn(dist: _BlockDistances, mats: list[Any], tol: Any, start: int, stop: int, k: int,
               group_eps: bool) -> tuple[Any, Any]:
    """Exact k-th neighbour distance (and per-group eps) for the rows start..stop."""
    import torch

    b = stop - start
    local = torch.arange(b, device=tol.device)
    joint = mats[0].clone()
    for m in mats[1:]:
        torch.maximum(joint, m, out=joint)
    joint[local, local + start] = math.inf  # i is not its own neighbour
    if not dist.squared:  # exact distances: select directly
        rho = torch.topk(joint, k, dim=1, largest=False).values[:, k - 1]
        eps = None
        if group_eps:
            inside = joint <= rho[:, None]
            eps = torch.stack([torch.where(inside, m, 0.0).amax(dim=1) for m in mats], dim=1)
        return rho, eps
    # GEMM distances: every point whose exact distance can be <= rho is a candidate
    approx_kth = torch.topk(joint, k, dim=1, largest=False).values[:, k - 1]
    limit = (approx_kth + 2.0 * tol) * (1.0 + _MARGIN) + tol * _MARGIN
    n_cand = (joint <= limit[:, None]).sum(dim=1)
    width = int(n_cand.max())
    cand = torch.topk(joint, width, dim=1, largest=False).indices
    valid = torch.arange(width, device=tol.device)[None, :] < n_cand[:, None]
    del joint
    max_dim = max(int(g.shape[1]) for g in dist.groups)
    chunk = max(1, dist.block_bytes // (8 * width * (max_dim + len(dist.groups) + 2)))
    rho = torch.empty(b, dtype=torch.float64, device=tol.device)
    eps = torch.zeros((b, len(dist.groups)), dtype=torch.float64, device=tol.device) if group_eps else None
    for lo in range(0, b, chunk):
        hi = min(b, lo + chunk)
        owners = (local[lo:hi] + start)[:, None].expand(hi - lo, width).reshape(-1)
        cols = cand[lo:hi].reshape(-1)
        per_group = [pair_distances(g[owners], g[cols], dist.metric).reshape(hi - lo, width)
                     for g in dist.groups]
        exact = per_group[0]
        for d in per_group[1:]:
            exact = torch.maximum(exact, d)
        exact = torch.where(valid[lo:hi], exact, math.inf)
        rho[lo:hi] = torch.topk(exact, k, dim=1, largest=False).values[:, k - 1]
        if eps is not None:
            inside = exact <= rho[lo:hi, None]
            eps[lo:hi] = torch.stack([torch.where(inside, d, 0.0).amax(dim=1) for d in per_group], dim=1)
    return rho, eps


def _block_count(dist: _BlockDistances, mats: list[Any], tol: Any, spec: CountSpec, radius: Any,
                 start: int, local: Any) -> Any:
    """#{j != i : d_S(i, j) < radius_i} (or <=) for the block rows, exact.

    On the exact scale each pair is decided directly. On the squared scale each group says
    "certainly inside" (below ``r^2`` minus the error bound), "certainly outside" (above ``r^2``
    plus the bound) or neither; a pair is inside when every group is, outside when one group is,
    and the rest (the k-th neighbour itself, ties, near-ties) is re-decided with exact distances.
    """
    import torch

    r2 = radius * radius
    inside = outside = None
    for g in spec.groups:
        m = mats[g]
        if not dist.squared:
            g_in = m < radius[:, None] if spec.strict else m <= radius[:, None]
            inside = g_in if inside is None else inside & g_in
            continue
        t = tol if dist.approx[g] else 0.0
        g_in = m < (r2 * (1.0 - _MARGIN) - t)[:, None]
        g_out = m > (r2 * (1.0 + _MARGIN) + t)[:, None]
        inside = g_in if inside is None else inside & g_in
        outside = g_out if outside is None else outside | g_out
    inside[local, local + start] = False  # i itself is never counted
    found = inside.sum(dim=1)
    if outside is not None:
        undecided = ~(inside | outside)
        undecided[local, local + start] = False
        rows, cols = undecided.nonzero(as_tuple=True)
        if rows.numel():
            exact = _joint_pair_distances([dist.groups[g] for g in spec.groups], rows + start, cols,
                                          dist.metric)
            ok = exact < radius[rows] if spec.strict else exact <= radius[rows]
            found += torch.bincount(rows[ok], minlength=len(radius))
    return found
