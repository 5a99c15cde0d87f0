"""What every neighbour strategy shares: the count request, the result, and the one distance.

All strategies compute a distance with :func:`pair_distances` (differences coordinate by
coordinate, the max of their absolute values, or the square root of their squares summed in
coordinate order), so they return identical results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from infolens._validation import _is_tensor


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


def joint_pair_distances(groups: Sequence[Any], rows: Any, cols: Any, metric: str) -> Any:
    out = None
    for g in groups:
        d = pair_distances(g[rows], g[cols], metric)
        out = d if out is None else (np.maximum(out, d) if not _is_tensor(d) else out.maximum(d))
    return out

