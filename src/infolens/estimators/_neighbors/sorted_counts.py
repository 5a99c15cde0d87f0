"""Radius counts in one dimension by sorting: exact, O(N log N).

The counts find the exact floating-point thresholds (``np.nextafter`` walks over the ordered
integer encoding of doubles) rather than comparing ``x_j < x_i + r``, so they equal the counts of
every pairwise difference, ties and duplicates included. The compiled kernel gallops from the
previous point's ends; numpy's binary searches are the fallback.
"""

from __future__ import annotations

import numpy as np

from infolens.estimators._neighbors import loader

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
    kernels = loader.kernels()
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

