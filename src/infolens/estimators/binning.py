"""Quantizers that turn continuous samples into discrete symbols for binning estimators.

Binning estimators of information-plane studies quantize each unit of a layer and treat each
distinct row of bin indices as one symbol of T, then apply a discrete entropy estimator:

* fixed bins over a range (Shwartz-Ziv & Tishby 2017: 30 equal bins over the activation range);
* a fixed bin width (Saxe et al. 2018);
* adaptive equal-mass bins per unit (Chelombiev, Houghton & O'Donnell 2019).

Entropies computed this way are entropies of the *quantized* variable (in nats or bits), not
differential entropies: they depend on the bin size, and for a deterministic network I(X;T)
measured this way is H(binned T), a statement about the quantizer as much as about the network.
"""

from __future__ import annotations

import numpy as np


def quantize_fixed(x: np.ndarray, bins: int | None = 30, bin_width: float | None = None,
                   value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Bin indices of shape (n, d) for equal-width bins.

    Parameters
    ----------
    x : ndarray of shape (n, d)
    bins : int
        Number of equal bins spanning ``value_range`` (used when ``bin_width`` is None).
    bin_width : float, optional
        Fixed bin width; bins start at the lower end of ``value_range``.
    value_range : (low, high), optional
        Range shared by all columns; the data's own min and max when omitted. Values outside
        fall in the first or last bin.
    """
    low, high = value_range if value_range is not None else (float(x.min()), float(x.max()))
    if bin_width is not None:
        idx = np.floor((x - low) / bin_width)
        n_bins = max(int(np.ceil((high - low) / bin_width)), 1)
    else:
        span = high - low if high > low else 1.0
        n_bins = int(bins)
        idx = np.floor((x - low) / span * n_bins)
    return np.clip(idx, 0, n_bins - 1).astype(np.int64)


def quantize_equal_mass(x: np.ndarray, bins: int = 30) -> np.ndarray:
    """Per-column bin indices of shape (n, d) with (about) equal counts per bin.

    Edges are the column's empirical quantiles; tied values always share a bin, so a column
    with few distinct values gets fewer, unequal bins. Indices are ``0..k_j - 1`` in the order
    of the values, with ``k_j <= bins`` the number of non-empty bins of column j.
    """
    out = np.empty(x.shape, dtype=np.int64)
    qs = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    all_edges = np.quantile(x, qs, axis=0).reshape(len(qs), x.shape[1])  # one call for all columns
    for j in range(x.shape[1]):
        edges = np.unique(all_edges[:, j])
        # an edge equal to the minimum (ties) leaves bin 0 empty: renumber the non-empty bins
        idx = np.searchsorted(edges, x[:, j], side="right")
        occupied = np.bincount(idx, minlength=len(edges) + 1) > 0
        out[:, j] = (np.cumsum(occupied) - 1)[idx]
    return out
