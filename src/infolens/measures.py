"""Exact information measures on probability vectors and joint probability tables.

Every function takes numpy arrays (or nested lists) and returns a Python float, or takes torch
tensors and returns a 0-d tensor on the same device with autograd intact, so each measure can be a
training loss. Units are ``"bits"`` (default) or ``"nats"``; ``base=`` sets any other logarithm
base instead (``base=10`` or ``"dits"``, a number > 0 and != 1; see :mod:`infolens._units`).
The convention ``0 log 0 = 0`` holds throughout. Joint tables put X on axis 0, Y on axis 1 and Z on axis 2.

References
----------
T. M. Cover and J. A. Thomas, *Elements of Information Theory*, 2nd ed., Wiley, 2006, ch. 2.
J. Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37 (1991).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from infolens._backend import get_backend
from infolens._units import check_units, from_nats
from infolens._validation import _is_tensor, fail, to_numpy

#: How far the sum of a distribution may be from 1 before it is refused (unless ``normalize``).
SUM_TOLERANCE = 1e-6


def _distribution(p: Any, name: str, fn: str, ndim: int | tuple[int, ...], normalize: bool,
                  nx: Any, like: Any = None) -> Any:
    """Validate ``p`` as a probability table of the given dimensionality; return it on ``nx``."""
    try:
        values = to_numpy(p)
    except (TypeError, ValueError, RuntimeError) as err:
        raise fail(name, fn, "a numeric probability table", p) from err
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if values.dtype == object or not np.issubdtype(values.dtype, np.number) \
            or np.iscomplexobj(values):
        raise fail(name, fn, "a real numeric probability table", values)
    if values.ndim not in allowed:
        dims = " or ".join(f"{d}-D" for d in allowed)
        raise fail(name, fn, f"a {dims} probability table", values,
                   got=f"a {values.ndim}-D array of shape {values.shape}")
    if values.size == 0:
        raise fail(name, fn, "a non-empty probability table", values)
    if not np.isfinite(values).all():
        raise fail(name, fn, "finite (no NaN or inf)", values,
                   got=f"{int((~np.isfinite(values)).sum())} non-finite entries")
    if (values < 0).any():
        raise fail(name, fn, "non-negative", values, got=f"minimum entry {values.min():.6g}")
    if normalize:
        if not values.any():
            raise fail(name, fn, "a table with a positive sum", values, got="sum 0.0")
    else:
        total = float(values.sum(dtype=np.float64)) if float(values.max()) < 1e300 else np.inf
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise fail(name, fn, f"a distribution summing to 1 (within {SUM_TOLERANCE:g}); "
                       "pass normalize=True to rescale", values, got=f"sum {total:.8g}")
    arr = nx.asarray(p, like=like)
    if not normalize:
        return arr
    arr = arr / nx.max(arr)  # by the largest entry first: a sum of 1e308s would overflow
    return arr / nx.sum(arr)


def _neg_sum_plogp(p: Any, nx: Any) -> Any:
    return -nx.sum(nx.xlogy(p, p))


def _clip_rounding(value_nats: Any, table: Any, nx: Any) -> Any:
    """0 where an exact measure that is >= 0 came out negative by rounding only (nats)."""
    bound = 64 * float(np.finfo(np.float64).eps) * max(1.0, math.log(max(int(np.prod(table.shape)), 2)))
    return value_nats * 0.0 if -bound < float(value_nats) < 0 else value_nats


def _finish(value_nats: Any, units: str, nx: Any) -> Any:
    return nx.scalar(from_nats(value_nats, units) + 0.0)  # + 0.0 turns -0.0 into 0.0


def self_information(p: Any, units: str = "bits", *, base: Any = None) -> Any:
    """Information content ``-log p`` of events with probabilities ``p`` (elementwise).

    Parameters
    ----------
    p : float, array-like or tensor
        Probabilities in [0, 1]; ``p = 0`` gives ``+inf``.
    units : {"bits", "nats"}

    Returns
    -------
    float, ndarray or tensor of the shape of ``p``. A 1% event carries 6.644 bits.
    """
    fn = "self_information"
    units = check_units(units, fn, base)
    nx = get_backend(p)
    try:
        values = to_numpy(p)
    except (TypeError, ValueError, RuntimeError) as err:  # ragged lists, meta tensors
        raise fail("p", fn, "real probabilities", p) from err
    if not np.issubdtype(np.asarray(values).dtype, np.number) or np.iscomplexobj(values):
        raise fail("p", fn, "real probabilities", values)
    if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
        raise fail("p", fn, "probabilities in [0, 1]", values)
    arr = nx.asarray(p)
    out = from_nats(-nx.log(arr), units)
    return float(out) if np.ndim(values) == 0 and nx.name == "numpy" else out


def entropy(p: Any, units: str = "bits", *, base: Any = None,
            normalize: bool = False) -> Any:
    """Shannon entropy ``H(p) = -sum p log p`` of a probability vector.

    Parameters
    ----------
    p : array-like or tensor of shape (k,)
    units : {"bits", "nats"}
    base : float or str, optional
        The base of the logarithm instead of ``units``: a number > 0 and != 1, or ``"bits"``,
        ``"nats"``, ``"dits"``, ``"hartleys"`` (``base=10`` gives dits).
    normalize : bool
        Rescale ``p`` to sum to 1 instead of refusing a table whose sum is off.

    Examples
    --------
    >>> entropy([0.5, 0.5])
    1.0
    """
    fn = "entropy"
    units = check_units(units, fn, base)
    nx = get_backend(p)
    p = _distribution(p, "p", fn, 1, normalize, nx)
    return _finish(_neg_sum_plogp(p, nx), units, nx)


def joint_entropy(pxy: Any, units: str = "bits", *, base: Any = None,
            normalize: bool = False) -> Any:
    """Joint entropy ``H(X, Y, ...)`` of a joint table of any dimensionality >= 2."""
    fn = "joint_entropy"
    units = check_units(units, fn, base)
    nx = get_backend(pxy)
    pxy = _distribution(pxy, "pxy", fn, tuple(range(2, 33)), normalize, nx)
    return _finish(_neg_sum_plogp(pxy, nx), units, nx)


def conditional_entropy(pxy: Any, units: str = "bits", *, base: Any = None,
            normalize: bool = False) -> Any:
    """Conditional entropy ``H(X | Y) = H(X, Y) - H(Y)`` of a 2-D table, X on axis 0.

    A negative difference within floating-point rounding (``|h| <= 64 eps log(size)``, e.g.
    -3e-16 on a diagonal table) is returned as 0: the exact value is >= 0. Sample estimators
    are not clipped.
    """
    fn = "conditional_entropy"
    units = check_units(units, fn, base)
    nx = get_backend(pxy)
    pxy = _distribution(pxy, "pxy", fn, 2, normalize, nx)
    h = _neg_sum_plogp(pxy, nx) - _neg_sum_plogp(nx.sum(pxy, axis=0), nx)
    return _finish(_clip_rounding(h, pxy, nx), units, nx)


def mutual_information(pxy: Any, units: str = "bits", *, base: Any = None,
            normalize: bool = False) -> Any:
    """Mutual information ``I(X; Y) = H(X) + H(Y) - H(X, Y)`` of a 2-D joint table.

    A negative value within floating-point rounding (``|I| <= 64 eps log(size)``, e.g. -6e-16
    on an independent table) is returned as 0: the exact value is >= 0. Sample estimators are
    not clipped.
    """
    fn = "mutual_information"
    units = check_units(units, fn, base)
    nx = get_backend(pxy)
    pxy = _distribution(pxy, "pxy", fn, 2, normalize, nx)
    px = nx.sum(pxy, axis=1)
    py = nx.sum(pxy, axis=0)
    mi = _neg_sum_plogp(px, nx) + _neg_sum_plogp(py, nx) - _neg_sum_plogp(pxy, nx)
    return _finish(_clip_rounding(mi, pxy, nx), units, nx)


def conditional_mutual_information(pxyz: Any, units: str = "bits", *, base: Any = None,
                                   normalize: bool = False) -> Any:
    """Conditional MI ``I(X; Y | Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)`` of a 3-D table."""
    fn = "conditional_mutual_information"
    units = check_units(units, fn, base)
    nx = get_backend(pxyz)
    pxyz = _distribution(pxyz, "pxyz", fn, 3, normalize, nx)
    pxz = nx.sum(pxyz, axis=1)
    pyz = nx.sum(pxyz, axis=0)
    pz = nx.sum(pxz, axis=0)
    cmi = (_neg_sum_plogp(pxz, nx) + _neg_sum_plogp(pyz, nx)
           - _neg_sum_plogp(pxyz, nx) - _neg_sum_plogp(pz, nx))
    return _finish(cmi, units, nx)


def _pair(p: Any, q: Any, fn: str, normalize: bool) -> tuple[Any, Any, Any]:
    nx = get_backend(p, q)
    like = None if nx.name == "numpy" else p if _is_tensor(p) else q  # a numpy side joins the tensor
    p_arr = _distribution(p, "p", fn, tuple(range(1, 33)), normalize, nx, like)
    q_arr = _distribution(q, "q", fn, tuple(range(1, 33)), normalize, nx, like)
    if tuple(p_arr.shape) != tuple(q_arr.shape):
        raise fail("q", fn, f"of the same shape as 'p' {tuple(p_arr.shape)}", q_arr)
    return p_arr, q_arr, nx


def kl_divergence(p: Any, q: Any, units: str = "bits", *, base: Any = None,
            normalize: bool = False) -> Any:
    """Kullback-Leibler divergence ``KL(p || q) = sum p log(p / q)``.

    ``+inf`` where some ``q = 0 < p`` (p is not absolutely continuous with respect to q).
    Always >= 0 (Gibbs' inequality).
    """
    fn = "kl_divergence"
    units = check_units(units, fn, base)
    p, q, nx = _pair(p, q, fn, normalize)
    return _finish(nx.sum(nx.xlogy(p, p)) - nx.sum(nx.xlogy(p, q)), units, nx)


def cross_entropy(p: Any, q: Any, units: str = "bits", *, base: Any = None,
            normalize: bool = False) -> Any:
    """Cross-entropy ``H(p, q) = -sum p log q = H(p) + KL(p || q)``; ``+inf`` where q = 0 < p."""
    fn = "cross_entropy"
    units = check_units(units, fn, base)
    p, q, nx = _pair(p, q, fn, normalize)
    return _finish(-nx.sum(nx.xlogy(p, q)), units, nx)


def js_divergence(p: Any, q: Any = None, units: str = "bits", *, base: Any = None,
                  weights: Any = None, normalize: bool = False) -> Any:
    """Jensen-Shannon divergence ``H(sum_i w_i p_i) - sum_i w_i H(p_i)`` of weighted distributions.

    ``js_divergence(p, q)`` is ``KL(p || m)/2 + KL(q || m)/2`` with ``m = (p + q)/2``: symmetric,
    finite and at most 1 bit (ln 2 nats) (Lin 1991). ``js_divergence([p1, p2, ...],
    weights=[w1, w2, ...])`` is the generalized divergence of several distributions (dit's
    ``jensen_shannon_divergence(dists, weights)``), at most ``H(w)``.

    Parameters
    ----------
    p : array-like or tensor
        A distribution (with ``q``), or, without ``q``, a sequence of distributions of one shape
        (a list, or an array whose rows are the distributions).
    q : array-like or tensor, optional
        The second distribution, of the shape of ``p``.
    units : {"bits", "nats"}
    base : float or str, optional
        The base of the logarithm instead of ``units`` (see :func:`entropy`).
    weights : array-like, optional
        One non-negative weight per distribution, summing to 1; equal weights by default.
    normalize : bool
        Rescale each distribution to sum to 1 instead of refusing one whose sum is off.

    Examples
    --------
    >>> round(js_divergence([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], weights=[0.25, 0.75]), 4)
    0.4056
    """
    fn = "js_divergence"
    units = check_units(units, fn, base)
    if q is not None:
        p_arr, q_arr, nx = _pair(p, q, fn, normalize)
        dists = [p_arr, q_arr]
    else:
        dists, nx = _several(p, fn, normalize)
    w = _weights(weights, len(dists), fn)
    m = dists[0] * w[0]
    for weight, dist in zip(w[1:], dists[1:], strict=True):
        m = m + dist * weight
    js = _neg_sum_plogp(m, nx)
    for weight, dist in zip(w, dists, strict=True):
        js = js - weight * _neg_sum_plogp(dist, nx)
    return _finish(js, units, nx)


def _several(ps: Any, fn: str, normalize: bool) -> tuple[list[Any], Any]:
    """A sequence of distributions of one shape (a list, or the rows of an array), validated."""
    expected = "a sequence of at least 2 distributions of one shape when 'q' is not given"
    try:
        stacked = to_numpy(ps)
    except (TypeError, ValueError, RuntimeError):  # a ragged list: checked item by item below
        stacked = None
    if stacked is not None and (stacked.ndim < 2 or stacked.shape[0] < 2):
        raise fail("p", fn, expected, stacked)
    items = list(ps) if stacked is None or not _is_tensor(ps) else [ps[i] for i in range(len(ps))]
    if len(items) < 2:
        raise fail("p", fn, expected, got=f"{len(items)} distributions")
    nx = get_backend(*items)
    like = next((item for item in items if _is_tensor(item)), None)
    dists = [_distribution(item, "p", fn, tuple(range(1, 33)), normalize, nx, like) for item in items]
    for i, dist in enumerate(dists[1:], start=1):
        if tuple(dist.shape) != tuple(dists[0].shape):
            raise fail("p", fn, f"distributions of one shape {tuple(dists[0].shape)}",
                       got=f"distribution {i} of shape {tuple(dist.shape)}")
    return dists, nx


def _weights(weights: Any, count: int, fn: str) -> list[float]:
    """``count`` non-negative weights summing to 1 (within :data:`SUM_TOLERANCE`); equal if None."""
    if weights is None:
        return [1.0 / count] * count
    expected = f"{count} non-negative finite weights summing to 1 (one per distribution)"
    try:
        values = np.asarray(to_numpy(weights), dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise fail("weights", fn, expected, weights) from err
    if values.shape != (count,) or not np.isfinite(values).all() or (values < 0).any():
        raise fail("weights", fn, expected, values)
    if abs(float(values.sum()) - 1.0) > SUM_TOLERANCE:
        raise fail("weights", fn, expected, values, got=f"weights summing to {float(values.sum()):.8g}")
    return values.tolist()
