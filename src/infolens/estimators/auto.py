"""``method="auto"`` for the MI of continuous or float-coded samples: a fixed rule on the data only.

The rule (deterministic given ``seed``; it never sees a true value):

1. **Ties.** If more than :data:`TIES_FRACTION` of the rows of x or of y are repeated values,
   the data are discrete or mixed: use the Gao et al. (2017) ``mixed`` k-NN estimator, which is
   consistent for discrete, continuous and mixed variables. (Integer arrays never reach this
   module: the API sends them to ``miller_madow`` when all inputs are integer and to ``mixed``
   when one is.)
2. **Candidates.** Otherwise compute three estimates, each of which is, up to estimation error,
   a lower bound of ``I(X; Y)`` in the situation where the others fail:

   * ``gaussian_copula`` with the digamma bias correction: exact for Gaussian dependence after
     any monotone per-coordinate maps, in any dimension; a lower bound for 1-D X and Y otherwise,
     and usually below the truth in more dimensions;
   * ``ksg_copula``, KSG (k = 3) on per-coordinate normal scores: consistent for any continuous
     dependence, insensitive to heavy tails, biased low when the joint dimension or the MI is
     high;
   * ``ksg_radial``, KSG between per-side robust radii (only when one side has more than one
     dimension): a data-processing lower bound, tight for elliptical dependence through a shared
     scale (multivariate Student-t), where the first two miss most of the MI.

   The estimate is the **largest** of them. Because every candidate errs low where it is wrong,
   the largest is the closest on every family we measured (``benchmarks/mi_accuracy.py``); its
   cost is a small upward bias (about one standard error) when all are right.
3. **Convergence and interval.** The chosen estimator is re-run on :data:`N_HALVES` random
   half-samples of the data. Half-samples drawn from one sample of size N vary by
   ``Var(m) (1 - m/N)``, which is ``Var(N)`` for ``m = N/2``: their standard deviation is the
   standard error of the estimate (subsampling, Politis & Romano 1994), and the sampling part of
   the interval is the normal one, ``+- z se``. The mean change from N/2 to N, ``trend``,
   measures the remaining finite-sample bias. Assuming the bias decays like ``N^-1/2`` the
   bias left at N is ``trend / (sqrt(2) - 1)``; the interval is widened by that amount in the
   direction of the trend. The point estimate itself is not extrapolated.
4. **Unreliable.** If the chosen estimate still rises or falls by more than
   :data:`UNRELIABLE_TREND` (relative) from N/2 to N, and by more than twice its standard error,
   the result carries the ``"unreliable"`` flag and an :class:`~infolens.InfoLensWarning`:
   the estimator has not converged at this sample size (on our suite: spirals in 3-5 dimensions
   per side, where the truth is 30-70% above the estimate).

``Estimate.details`` holds every candidate's value, the chosen one (``chosen``), why
(``reason``), the ``trend`` and the ``standard_error``. Time at N = 5,000: under a
second in a few dimensions, a few seconds at 50 x 50 (the k-NN search dominates); k-NN
candidates run on at most :data:`KNN_MAX_ROWS` rows when the joint dimension exceeds
:data:`KNN_LOW_DIMENSION`.

References
----------
R. A. A. Ince et al., Human Brain Mapping 38 (2017) 1541-1573 (Gaussian copula MI).
A. Kraskov, H. Stoegbauer and P. Grassberger, Phys. Rev. E 69 (2004) 066138 (KSG).
W. Gao, S. Kannan, S. Oh and P. Viswanath, NeurIPS 30 (2017) (mixed estimator).
D. N. Politis and J. P. Romano, Ann. Statist. 22 (1994) 2031-2050 (subsampling).
P. Czyz et al., "Beyond Normal", NeurIPS 2023 (the task families the rule was measured on).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from infolens._validation import InfoLensWarning, unique_row_codes
from infolens.estimators.copula_knn import mi_ksg_copula, mi_ksg_radial
from infolens.estimators.gaussian import mi_gaussian_copula
from infolens.estimators.knn import mi_mixed

#: Fraction of repeated rows of x or y above which the data are treated as discrete or mixed.
TIES_FRACTION = 0.01
#: Half-samples behind the interval and the convergence check.
N_HALVES = 10
#: Relative change from N/2 to N above which the chosen estimate is flagged unreliable.
UNRELIABLE_TREND = 0.05
#: Bias left at N per unit of change from N/2 to N, for a bias decaying like N^-1/2.
EXTRAPOLATION = 1.0 / (math.sqrt(2.0) - 1.0)
#: Joint dimension up to which k-NN candidates use every row.
KNN_LOW_DIMENSION = 10
#: Rows used by k-NN candidates above ``KNN_LOW_DIMENSION`` joint dimensions.
KNN_MAX_ROWS = 20_000

Estimator = Callable[[np.ndarray, np.ndarray], float]
CANDIDATES: dict[str, Estimator] = {
    "gaussian_copula": mi_gaussian_copula,
    "ksg_copula": mi_ksg_copula,
    "ksg_radial": mi_ksg_radial,
    "mixed": mi_mixed,
}


def _repeated_fraction(a: np.ndarray) -> float:
    sample = a[:100_000]
    return 1.0 - (int(unique_row_codes(sample).max()) + 1) / len(sample)


def _rows_for(name: str, n: int, joint_dim: int, rng: np.random.Generator) -> np.ndarray | None:
    """Rows a candidate runs on: all (None), or a sorted random subset for costly k-NN searches."""
    if name == "gaussian_copula" or joint_dim <= KNN_LOW_DIMENSION or n <= KNN_MAX_ROWS:
        return None
    return np.sort(rng.choice(n, KNN_MAX_ROWS, replace=False))


def _run(name: str, x: np.ndarray, y: np.ndarray, rows: np.ndarray | None) -> float:
    return CANDIDATES[name](x, y) if rows is None else CANDIDATES[name](x[rows], y[rows])


def _choose(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[str, str, dict[str, float]]:
    """The chosen candidate, the reason, and every candidate's value in nats."""
    tied = max(_repeated_fraction(x), _repeated_fraction(y))
    if tied > TIES_FRACTION:
        return "mixed", f"{tied:.1%} repeated rows: discrete or mixed data", {}
    n, joint_dim = x.shape[0], x.shape[1] + y.shape[1]
    names = ["gaussian_copula", "ksg_copula"] + (["ksg_radial"] if joint_dim > 2 else [])
    values = {name: _run(name, x, y, _rows_for(name, n, joint_dim, rng)) for name in names}
    chosen = max(values, key=lambda name: values[name])
    return chosen, "largest of the candidate lower bounds", values


def mi_auto(x: np.ndarray, y: np.ndarray, level: float = 0.95,
            seed: int | None = 0) -> tuple[float, dict[str, Any]]:
    """MI in nats by the rule of the module docstring, with details and its interval.

    Parameters
    ----------
    x, y : float64 arrays of shape (n, d_x), (n, d_y)
    level : float
        Confidence level of the interval returned as ``ci_low`` / ``ci_high``.
    seed : int, optional
        Seed of the half-samples (and of the rows of costly k-NN candidates).

    Returns
    -------
    value : float
    details : dict
        ``chosen``, ``reason`` (str), each candidate's value, ``trend``, ``standard_error``,
        ``ci_low``, ``ci_high`` (nats) and ``flags`` (a tuple, ``("unreliable",)`` or empty).
    """
    rng = np.random.default_rng(seed)
    n, joint_dim = x.shape[0], x.shape[1] + y.shape[1]
    chosen, reason, values = _choose(x, y, rng)
    rows = _rows_for(chosen, n, joint_dim, rng)
    value = values.get(chosen, math.nan) if values else _run(chosen, x, y, rows)
    m = (n if rows is None else len(rows)) // 2
    pool = np.arange(n) if rows is None else rows
    halves = np.array([_run(chosen, x, y, np.sort(rng.choice(pool, m, replace=False)))
                       for _ in range(N_HALVES)])
    trend = value - float(halves.mean())
    # half-samples of one sample of size n vary by Var(m) (1 - m/n) = Var(n) for m = n/2
    se = float(halves.std(ddof=1)) / math.sqrt(n / m - 1.0)
    half_width = float(stats.norm.ppf(0.5 + level / 2.0)) * se
    bias = EXTRAPOLATION * trend
    low = value - half_width - max(0.0, -bias)
    high = value + half_width + max(0.0, bias)
    trend_se = float(halves.std(ddof=1)) / math.sqrt(N_HALVES)
    unreliable = (chosen != "gaussian_copula" and abs(trend) > UNRELIABLE_TREND * max(abs(value), 0.05)
                  and abs(trend) > 2.0 * trend_se)
    if unreliable:
        warnings.warn(f"estimate_mi(method='auto'): the chosen estimator ({chosen}) moved by "
                      f"{trend:+.3f} nats from N/2 to N = {n}; it has not converged and the true "
                      "MI may be well above it. More samples (or lower dimension) would help.",
                      InfoLensWarning, stacklevel=6)
    details: dict[str, Any] = {"chosen": chosen, "reason": reason, **values, "trend": trend,
                               "standard_error": se,
                               "ci_low": low, "ci_high": high,
                               "flags": ("unreliable",) if unreliable else ()}
    return value, details
