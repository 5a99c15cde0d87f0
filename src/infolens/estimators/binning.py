"""Quantizers that turn continuous samples into discrete symbols for binning estimators.

Binning estimators of information-plane studies quantize each unit of a layer and treat each
distinct row of bin indices as one symbol of T, then apply a discrete entropy estimator:

* fixed bins over a range (Shwartz-Ziv & Tishby 2017: 30 equal bins over the activation range);
* a fixed bin width (Saxe et al. 2018);
* adaptive bins (Chelombiev, Houghton & O'Donnell 2019): equal-mass bins per unit
  (``scope="unit"``), or their entropy-based adaptive binning (EBAB, ``scope="layer"``): one set
  of edges for the whole layer, each bin holding the same number of *distinct* activation values
  of the layer (all units pooled), as in the authors' code (github.com/ivansche/
  adaptive_estimators, ``set_up_bins`` with ``maxentropy=True``). Without ties the two differ
  only by pooling; with ties (the exact zeros of ReLU) EBAB counts a repeated value once.

Entropies computed this way are entropies of the *quantized* variable (in nats or bits), not
differential entropies: they depend on the bin size, and for a deterministic network I(X;T)
measured this way is H(binned T), a statement about the quantizer as much as about the network.
"""

from __future__ import annotations

import numpy as np

from infolens._validation import fail

#: Most bins per unit: indices stay exact and rows of them cheap to encode.
MAX_BINS = 2**31
#: Spans of the data outside this range are rescaled before binning (see quantize_fixed).
_NORMAL_SPAN = (1e-300, 1e300)


def quantize_fixed(x: np.ndarray, bins: int | None = 30, bin_width: float | None = None,
                   value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Bin indices of shape (n, d) for equal-width bins.

    Parameters
    ----------
    x : ndarray of shape (n, d)
    bins : int
        Number of equal bins spanning ``value_range`` (used when ``bin_width`` is None), at most
        :data:`MAX_BINS`.
    bin_width : float, optional
        Fixed bin width; bins start at the lower end of ``value_range``. A width that would make
        more than :data:`MAX_BINS` bins over the range raises :class:`InfoLensError` (indices
        beyond it would no longer be exact).
    value_range : (low, high), optional
        Range shared by all columns; the data's own min and max when omitted. Values outside
        fall in the first or last bin.

    Spans outside ``[1e-300, 1e300]`` (activations near the float64 limits) are rescaled by the
    largest magnitude first, so that ``x - low`` neither overflows nor loses every bit.
    """
    low, high = value_range if value_range is not None else (float(x.min()), float(x.max()))
    scale = 1.0
    with np.errstate(over="ignore"):
        span = high - low
    if not _NORMAL_SPAN[0] < span < _NORMAL_SPAN[1] and max(abs(low), abs(high)) > 0:
        scale = max(abs(low), abs(high))
        x, low, high = x / scale, low / scale, high / scale
    if bin_width is not None:
        width = bin_width / scale
        with np.errstate(over="ignore"):
            count = (high - low) / width
        if not count <= MAX_BINS:
            raise fail("bin_width", "binning", f"at least 1/{MAX_BINS} of the data range "
                       f"({(high - low) * scale:.3g}); it would make {count:.3g} bins", bin_width)
        idx = np.floor((x - low) / width)
        n_bins = max(int(np.ceil(count)), 1)
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


#: Scopes of adaptive binning: per-unit equal-mass bins, or EBAB over the whole layer.
ADAPTIVE_SCOPES = ("unit", "layer")


def quantize_distinct_levels(x: np.ndarray, bins: int = 30) -> np.ndarray:
    """Bin indices of shape (n, d) from edges shared by all columns (EBAB, Chelombiev et al. 2019).

    The distinct values of the whole array, sorted, are cut into ``bins`` runs of (about) equal
    length: bin ``k`` holds the values from the ``floor(k U / bins)``-th to just below the
    ``floor((k + 1) U / bins)``-th of the ``U`` distinct values. Equal values share a bin.
    """
    levels = np.unique(x)
    cuts = np.unique((np.arange(1, bins) * len(levels)) // bins)
    edges = levels[cuts[cuts > 0]]
    return np.searchsorted(edges, x, side="right").astype(np.int64)


def quantize_adaptive(x: np.ndarray, bins: int = 30, scope: str = "unit") -> np.ndarray:
    """Adaptive bin indices: :func:`quantize_equal_mass` per unit, or EBAB over the layer."""
    return quantize_distinct_levels(x, bins) if scope == "layer" else quantize_equal_mass(x, bins)
