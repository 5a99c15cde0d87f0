"""Cross-entropy and Kullback-Leibler divergence between two samples (of P and of Q).

``x`` holds n samples of P and ``y`` m samples of Q, in the same space (n and m may differ).

* ``method="plugin"`` (discrete samples: integers or string labels): the empirical
  distributions of x and y over the union of their symbols, then ``H(p, q) = -sum p log q`` and
  ``KL(p || q) = sum p log(p / q)``, as :func:`infolens.cross_entropy` and
  :func:`infolens.kl_divergence` on those tables. Both are ``+inf`` when a symbol of x never
  occurs in y (flagged ``"unseen_in_y"``, with a warning): the plug-in answer, not clipped.
  Biased for small samples like every plug-in estimate.
* ``method="knn"`` (continuous samples): with ``rho_i`` the distance from x_i to its k-th
  nearest neighbour among the other x's and ``nu_i`` to its k-th nearest neighbour among the
  y's, the divergence of Wang, Kulkarni & Verdu (2009)
  ``KL = ln(m / (n - 1)) + (d / n) sum_i ln(nu_i / rho_i)`` (NPEET's ``kldiv``), and the
  cross-entropy of Leonenko, Pronzato & Savani (2008)
  ``H(p, q) = psi(m + 1) - psi(k) + ln V_d + (d / n) sum_i ln nu_i`` (``V_d`` the volume of the
  unit ball of the norm). Consistent for fixed k as n, m grow; like every k-NN estimator its bias
  grows with the dimension. The distances must be positive: a point repeated k or more times
  (ties) is refused, as it would read as an infinite density.

Every value is computed in nats and returned as an :class:`~infolens.estimators.result.Estimate`
in ``units`` (``n_samples`` is n, the samples of P; ``details`` hold ``n_y``). ``ci=`` gives an
interval from x and y resampled each on its own by :mod:`infolens.estimators._resampling`
(bootstrap for the plug-in, half-samples for k-NN).

References
----------
Q. Wang, S. R. Kulkarni and S. Verdu, "Divergence estimation for multidimensional densities via
k-nearest-neighbor distances", IEEE Trans. Inf. Theory 55 (2009) 2392-2405.
N. Leonenko, L. Pronzato and V. Savani, "A class of Renyi information estimators for
multidimensional densities", Ann. Statist. 36 (2008) 2153-2182.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from infolens._units import check_units, from_nats
from infolens._validation import (
    InfoLensWarning,
    as_samples,
    check_choice,
    check_int,
    check_probability_level,
    check_seed,
    fail,
    is_discrete,
    to_numpy,
    unique_row_codes,
)
from infolens.estimators import _resampling as resampling
from infolens.estimators.knn import log_unit_ball_volume
from infolens.estimators.result import Estimate

METRICS = ("chebyshev", "euclidean")
_P = {"chebyshev": math.inf, "euclidean": 2.0}


def _plugin_tables(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical distributions of x and y over the union of their symbols (rows)."""
    codes = unique_row_codes(np.vstack([x, y]))
    size = int(codes.max()) + 1
    p = np.bincount(codes[:len(x)], minlength=size) / len(x)
    q = np.bincount(codes[len(x):], minlength=size) / len(y)
    return p, q


def _neighbour_distances(x: np.ndarray, y: np.ndarray, k: int, metric: str,
                         fn: str) -> tuple[np.ndarray, np.ndarray]:
    """``rho``: k-th neighbour distances of x among the other x's; ``nu``: among the y's."""
    p = _P[metric]
    rho = cKDTree(x).query(x, k + 1, p=p)[0][:, k]
    nu = cKDTree(y).query(x, k, p=p)[0]
    nu = nu if nu.ndim == 1 else nu[:, k - 1]
    for name, dist in (("x", rho), ("y", nu)):
        if not (dist > 0).all():
            raise fail(name, fn, f"continuous samples for method='knn' (no point of 'x' with k = {k} "
                       f"or more copies in '{name}'); use method='plugin' for discrete samples",
                       got=f"{int((dist == 0).sum())} zero k-th neighbour distances")
    return rho, nu


def _value(quantity: str, method: str, xs: np.ndarray, ys: np.ndarray, k: int, metric: str,
           fn: str) -> float:
    """The estimate in nats from validated samples (``+inf`` for a plug-in with a symbol of x
    unseen in y)."""
    if method == "plugin":
        p, q = _plugin_tables(xs, ys)
        if np.any((p > 0) & (q == 0)):
            return math.inf
        seen = p > 0
        if quantity == "cross_entropy":
            return float(-np.sum(p[seen] * np.log(q[seen])))
        return float(np.sum(p[seen] * np.log(p[seen] / q[seen])))
    n, d = xs.shape
    m = len(ys)
    rho, nu = _neighbour_distances(xs, ys, k, metric, fn)
    if quantity == "kl_divergence":
        return math.log(m) - math.log(n - 1) + d * float(np.mean(np.log(nu) - np.log(rho)))
    return float(digamma(m + 1) - digamma(k) + log_unit_ball_volume(d, metric) + d * np.mean(np.log(nu)))


def _divergence(quantity: str, fn: str, x: Any, y: Any, method: str, units: str, base: Any,
                k: int, metric: str, ci: float | None, n_resamples: int,
                random_state: int | None) -> Estimate:
    units = check_units(units, fn, base)
    method = check_choice("method", method, ("auto", "plugin", "knn"), fn)
    k = check_int("k", k, fn, minimum=1)
    metric = check_choice("metric", metric, METRICS, fn)
    ci = None if ci is None else check_probability_level("ci", ci, fn)
    n_resamples = check_int("n_resamples", n_resamples, fn, minimum=10)
    random_state = check_seed("random_state", random_state, fn, allow_none=True)
    discrete = is_discrete(x) and is_discrete(y)
    method = ("plugin" if discrete else "knn") if method == "auto" else method
    labels = method == "plugin"
    minimum = 1 if labels else k + 1
    xs = as_samples(x, "x", fn, min_samples=minimum, labels=labels)
    ys = as_samples(y, "y", fn, min_samples=1 if labels else k, labels=labels)
    if xs.shape[1] != ys.shape[1]:
        raise fail("y", fn, f"samples with the {xs.shape[1]} columns of 'x' (the same space)",
                   got=f"{ys.shape[1]} columns")
    if labels:  # one coding of the symbols of both samples (string labels are coded per array)
        rows = [v.reshape(len(v), -1) for v in (to_numpy(x), to_numpy(y))]
        joint = as_samples(np.concatenate(rows), "y", fn, labels=True)
        xs, ys = joint[:len(xs)], joint[len(xs):]
    elif ci is not None and (len(xs) // 2 < k + 1 or len(ys) // 2 < k):
        raise fail("ci", fn, f"None, or samples enough for half-sample intervals (at least "
                   f"{2 * (k + 1)} of 'x' and {2 * k} of 'y' for k = {k})",
                   got=f"ci={ci} with {len(xs)} and {len(ys)} samples")
    flags: list[str] = []
    params: dict[str, Any] = {} if labels else {"k": k, "metric": metric}
    value = _value(quantity, method, xs, ys, k, metric, fn)
    if math.isinf(value):
        p, q = _plugin_tables(xs, ys)
        unseen = int(np.sum((p > 0) & (q == 0)))
        warnings.warn(f"{fn}: {unseen} symbols of 'x' never occur in 'y': the plug-in "
                      "estimate is infinite; use more samples of Q.", InfoLensWarning, stacklevel=3)
        flags.append("unseen_in_y")
    if quantity == "kl_divergence" and value < 0:
        flags.append("negative")
    bounds = None
    if ci is not None and math.isfinite(value):
        def evaluate(rows: tuple[np.ndarray, np.ndarray]) -> tuple[float, dict[str, float]]:
            return _value(quantity, method, xs[rows[0]], ys[rows[1]], k, metric, fn), {}

        with np.errstate(invalid="ignore"):  # quantiles between infinite resamples are NaN
            low, high = resampling.interval(evaluate, value, (len(xs), len(ys)), ci, n_resamples,
                                            np.random.default_rng(random_state),
                                            "bootstrap" if labels else "subsample")
        # a resample in which a symbol of x is unseen in y is infinite: the bound is +inf
        bounds = tuple(math.inf if math.isnan(b) else b for b in (low, high))
    return Estimate(value=float(from_nats(value, units)), units=units, quantity=quantity,
                    method=method, params=params, n_samples=len(xs), n_used=len(xs),
                    ci=None if bounds is None else (float(from_nats(bounds[0], units)),
                                                    float(from_nats(bounds[1], units))),
                    ci_level=None if bounds is None else ci,
                    flags=tuple(flags), details={"n_y": len(ys)})


_DOC = """
    Parameters
    ----------
    x : array-like or tensor of shape (n,) or (n, d)
        Samples of P.
    y : array-like or tensor of shape (m,) or (m, d)
        Samples of Q, in the space of x (m may differ from n).
    method : {"auto", "plugin", "knn"}
        ``"auto"`` is ``"plugin"`` when both samples are discrete (integers, booleans or string
        labels), else ``"knn"``. See :mod:`infolens.estimators.divergence`.
    units : {"bits", "nats"}
    base : float or str, optional
        The base of the logarithm instead of ``units`` (a number > 0 and != 1, or ``"bits"``,
        ``"nats"``, ``"dits"``, ``"hartleys"``).
    k : int
        Neighbours for ``"knn"``.
    metric : {"chebyshev", "euclidean"}
        The norm of ``"knn"`` (the estimate does not depend on it asymptotically).
    ci : float, optional
        Confidence level of an interval from resamples of x and of y, each on its own: the
        percentile bootstrap for ``"plugin"`` (an upper bound of ``inf`` when resamples leave a
        symbol of x unseen in y; no interval when the estimate itself is infinite), half-samples
        without replacement for ``"knn"`` (duplicated points would read as zero distances), as
        in :func:`infolens.estimators._resampling.interval`.
    n_resamples : int
        Resamples for ``ci``.
    random_state : int, optional
        Seed of the resamples.

    Returns
    -------
    Estimate
"""


def estimate_kl_divergence(x: Any, y: Any, method: str = "auto", *, units: str = "bits",
                           base: Any = None, k: int = 3, metric: str = "chebyshev",
                           ci: float | None = None, n_resamples: int = 200,
                           random_state: int | None = None) -> Estimate:
    """Estimate ``KL(P || Q)`` from samples x of P and y of Q.

    Examples
    --------
    >>> estimate_kl_divergence(["a", "a", "b", "b"], ["a", "b", "b", "b"]).value  # KL([.5, .5] || [.25, .75])
    0.20751874963942196
    """
    return _divergence("kl_divergence", "estimate_kl_divergence", x, y, method, units, base, k, metric,
                       ci, n_resamples, random_state)


def estimate_cross_entropy(x: Any, y: Any, method: str = "auto", *, units: str = "bits",
                           base: Any = None, k: int = 3, metric: str = "chebyshev",
                           ci: float | None = None, n_resamples: int = 200,
                           random_state: int | None = None) -> Estimate:
    """Estimate the cross-entropy ``H(P, Q) = -E_P log q`` from samples x of P and y of Q."""
    return _divergence("cross_entropy", "estimate_cross_entropy", x, y, method, units, base, k, metric,
                       ci, n_resamples, random_state)


for _public in (estimate_kl_divergence, estimate_cross_entropy):
    _head, _sep, _examples = (_public.__doc__ or "").partition("\n    Examples")
    _public.__doc__ = _head.rstrip() + "\n" + _DOC + (_sep + _examples if _sep else "")
