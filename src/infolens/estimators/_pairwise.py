"""Blocked Gaussian-kernel log-sums over pairwise squared distances, shared by KDE and SP.

Both the Kolchinsky-Tracey KDE bounds (:mod:`infolens.estimators.kde`) and the sample-propagation
estimator (:mod:`infolens.estimators.sample_propagation`) need, for each query row ``a_i``,

    L_k(i) = ln sum_j exp(-scale_k ||a_i - b_j||^2)

over the rows ``b_j`` of a set of centres, for one or a few scales. :func:`log_kernel_sums`
(queries = centres) and :class:`CentreKernels` (other queries) compute it in float64 blocks of
at most ``BLOCK x BLOCK`` distances with one GEMM per block (``||a||^2 + ||b||^2 - 2 a.b``), so
that memory beyond a centred copy of the inputs is O(BLOCK^2) (two 2 MiB buffers), never an
n x n matrix. Tensors stay on their device.

* :func:`log_kernel_sums` (the queries are the centres, KDE): each pair of blocks is visited once
  and its kernel values are added to both its rows and its columns. Every row sum contains its
  own ``j = i`` term, equal to 1, so sums lie in ``[1, n]`` and need no max-shift.
* :class:`CentreKernels` (SP: queries are noisy copies of the centres): a running (online)
  log-sum-exp per row, shifted by the largest term seen so far, so that no sum under- or
  overflows whatever the distances (``exp(-512)`` is a typical term for a 1,024-unit layer).

Distances are computed after centring on the centres' mean and dividing by the largest magnitude,
so squares neither overflow (activations of 1e300) nor lose every bit; a scale that would exceed
:data:`MAX_SCALE` in these units is capped, where every distinct pair already has a zero kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from infolens._validation import _is_tensor

#: Rows and columns per distance block (a block is BLOCK x BLOCK float64 values, 2 MiB).
BLOCK = 512
#: Cap of a kernel scale in unit-magnitude coordinates: a unit-scale distance of 1e-16 then
#: gives exp(-1e218) = 0, and no inf * 0 turns into NaN.
MAX_SCALE = 1e250


def as_float64(t: Any) -> torch.Tensor:
    """A float64 tensor of shape (n, d) on the input's device (CPU for numpy input)."""
    if _is_tensor(t):
        out = t.detach().to(torch.float64)
        return out[:, None] if out.ndim == 1 else out
    return torch.from_numpy(np.ascontiguousarray(t, dtype=np.float64))


def _exp_(t: torch.Tensor) -> torch.Tensor:
    """In-place exp; on the CPU through numpy's exp, about 1.5x faster than torch's for float64."""
    if t.device.type == "cpu":
        view = t.numpy()
        np.exp(view, out=view)
        return t
    return t.exp_()


def _unit_scale(t: torch.Tensor, magnitude: float, scales: Sequence[float]) -> list[float]:
    """Divide ``t`` in place by ``magnitude`` (when > 0); the scales in those units, capped at
    :data:`MAX_SCALE`."""
    if magnitude > 0:
        t.div_(magnitude)
    with np.errstate(over="ignore"):
        return [min(float(np.float64(magnitude) ** 2 * s), MAX_SCALE) for s in scales]


def _neg_sq_distances(a: torch.Tensor, b: torch.Tensor, sq_a: torch.Tensor, sq_b: torch.Tensor,
                      out: torch.Tensor) -> torch.Tensor:
    """``-||a_i - b_j||^2`` into ``out``, clipped at 0 against rounding."""
    torch.addmm(sq_b[None, :], a, b.T, beta=-1.0, alpha=2.0, out=out)
    return out.sub_(sq_a[:, None]).clamp_(max=0.0)


def log_kernel_sums(a: Any, scales: Sequence[float], *, block: int | None = None) -> torch.Tensor:
    """``L[k, i] = ln sum_j exp(-scales[k] ||a_i - a_j||^2)`` for every row of ``a`` (j = i counts).

    Parameters
    ----------
    a : array or tensor of shape (n, d)
        The rows, which are both the queries and the centres; each pair is computed once.
    scales : sequence of float
        Positive kernel scales, in 1 / (units of ``a``)^2 (``1 / (2 s)`` for a Gaussian of
        variance ``s``).
    block : int, optional
        Rows and columns per distance block; default :data:`BLOCK`.

    Returns
    -------
    tensor of shape (len(scales), n)
        float64, on the device of ``a``.
    """
    t = as_float64(a)
    t = t - t.mean(dim=0)  # a copy: centring reduces cancellation in |a|^2 + |b|^2 - 2 a.b
    units = _unit_scale(t, float(t.abs().max()) if t.numel() else 0.0, scales)
    return _symmetric(t, units, BLOCK if block is None else block)


class CentreKernels:
    """Kernel log-sums of query rows against fixed centres, the centres prepared once.

    ``CentreKernels(centres, scales, spread).log_sums(queries)`` gives
    ``L[k, i] = ln sum_j exp(-scales[k] ||q_i - c_j||^2)`` by a running (online) log-sum-exp per
    row, in blocks. ``spread`` is the typical distance of a query from its centre (sigma for
    noisy copies of the centres): coordinates are scaled by ``max(max|c - mean|, spread)``, so
    that no square overflows however large the centres or the noise.

    Parameters
    ----------
    centres : array or tensor of shape (m, d)
    scales : sequence of float
        Positive kernel scales, in 1 / (units of the centres)^2.
    spread : float
        Scale of the queries' distance from the centres, in the units of the centres.
    block : int, optional
        Rows and columns per distance block; default :data:`BLOCK`.
    """

    def __init__(self, centres: Any, scales: Sequence[float], spread: float = 0.0, *,
                 block: int | None = None) -> None:
        c = as_float64(centres)
        self.mean = c.mean(dim=0)
        c = c - self.mean
        self.magnitude = max(float(c.abs().max()) if c.numel() else 0.0, spread)
        self.units = _unit_scale(c, self.magnitude, scales)
        self.centres, self.sq = c, (c * c).sum(dim=1)
        self.block = BLOCK if block is None else block

    def log_sums(self, queries: Any) -> torch.Tensor:
        """``L`` of shape (len(scales), n_queries), float64 on the centres' device."""
        q = as_float64(queries).to(self.centres.device) - self.mean
        if self.magnitude > 0:
            q.div_(self.magnitude)
        return _online(q, (q * q).sum(dim=1), self.centres, self.sq, self.units, self.block)


def _symmetric(t: torch.Tensor, units: list[float], block: int) -> torch.Tensor:
    n = t.shape[0]
    sq = (t * t).sum(dim=1)
    sums = torch.zeros((len(units), n), dtype=t.dtype, device=t.device)
    size = min(block, n)
    dist = torch.empty((size, size), dtype=t.dtype, device=t.device)
    kern = torch.empty((size, size), dtype=t.dtype, device=t.device)
    for i in range(0, n, block):
        a = t[i:i + block]
        for j in range(i, n, block):
            b = t[j:j + block]
            d = _neg_sq_distances(a, b, sq[i:i + block], sq[j:j + block],
                                  dist[:a.shape[0], :b.shape[0]])
            if j == i:  # a point's distance to itself is 0 exactly, not a rounding residue
                d.diagonal().zero_()
            k_block = kern[:a.shape[0], :b.shape[0]]
            for k, scale in enumerate(units):
                _exp_(torch.mul(d, scale, out=k_block))
                sums[k, i:i + block] += k_block.sum(dim=1)
                if j != i:
                    sums[k, j:j + block] += k_block.sum(dim=0)
    return sums.log_()


def _online(a: torch.Tensor, sq_a: torch.Tensor, b: torch.Tensor, sq_b: torch.Tensor,
            units: list[float], block: int) -> torch.Tensor:
    n, m = a.shape[0], b.shape[0]
    out = torch.empty((len(units), n), dtype=a.dtype, device=a.device)
    dist = torch.empty((min(block, n), min(block, m)), dtype=a.dtype, device=a.device)
    kern = torch.empty_like(dist)
    for i in range(0, n, block):
        rows = a[i:i + block]
        peak = torch.full((len(units), rows.shape[0]), -math.inf, dtype=a.dtype, device=a.device)
        acc = torch.zeros_like(peak)
        for j in range(0, m, block):
            cols = b[j:j + block]
            d = _neg_sq_distances(rows, cols, sq_a[i:i + block], sq_b[j:j + block],
                                  dist[:rows.shape[0], :cols.shape[0]])
            k_block = kern[:rows.shape[0], :cols.shape[0]]
            for k, scale in enumerate(units):
                torch.mul(d, scale, out=k_block)
                new_peak = torch.maximum(peak[k], k_block.amax(dim=1))
                acc[k] *= torch.exp(peak[k] - new_peak)
                acc[k] += _exp_(k_block.sub_(new_peak[:, None])).sum(dim=1)
                peak[k] = new_peak
        out[:, i:i + block] = peak + acc.log()
    return out


__all__ = ["BLOCK", "MAX_SCALE", "CentreKernels", "as_float64", "log_kernel_sums"]
