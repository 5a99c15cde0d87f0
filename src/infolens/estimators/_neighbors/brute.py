"""The brute-force strategy: blocked distances with torch on the samples' device (CPU or CUDA).

For a block of B query rows, distances to all N points, then selection and counts in that block, so
memory is about ``block_bytes`` whatever N (never an N x N matrix). ``"euclidean"`` squared
distances come from one matrix product per block (GEMM), in float32 by default; ``"chebyshev"``
distances on a CPU are exact float64 rows from the compiled kernel, elsewhere a coordinate-by-
coordinate max of absolute differences. Every comparison that a rigorous error bound cannot decide
is re-done with exactly computed distances (:class:`Blocks`), so the results are those of the
exact distances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from infolens.estimators._neighbors import loader
from infolens.estimators._neighbors.base import CountSpec, joint_pair_distances, pair_distances

#: Relative safety margin of the GEMM error bound (far above the unit roundoff 1.1e-16).
_MARGIN = 1e-12

class Blocks:
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
            elif dtype != torch.float64 and not (on_cpu and loader.kernels() is not None):
                self.mode = "maxabs"
        self.approximate = self.mode != "exact"
        self.dtype = dtype if self.approximate else torch.float64
        if not self.approximate:
            if on_cpu and loader.kernels() is not None:  # coordinates column by column for the kernel
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
                loader.kernels().infolens_distance_rows(queries.data_ptr(), stop - start, columns.ctypes.data,
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


def brute_stats(groups: list[Any], k: int, specs: Sequence[CountSpec], metric: str,
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
    blocks = Blocks(groups, metric, torch.float32 if dtype is None else dtype)
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


def _brute_block(blocks: Blocks, k: int, specs: Sequence[CountSpec], group_eps: bool, start: int,
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


def _approx_knn(blocks: Blocks, start: int, stop: int, k: int, cols: int,
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


def _approx_counts(blocks: Blocks, specs: Sequence[CountSpec], radii: list[Any], start: int,
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
        d = joint_pair_distances([blocks.groups[g] for g in spec.groups], r + start, c, blocks.metric)
        inside = d < radii[s][r] if spec.strict else d <= radii[s][r]
        counts[s] += torch.bincount(r[inside], minlength=stop - start)
    return counts

