"""``method="auto"`` for the MI of continuous or float-coded samples: a fixed rule on the data only.

The rule (deterministic given ``seed``; it never sees a true value):

1. **Ties.** If more than :data:`TIES_FRACTION` of the rows of x or of y are repeated values,
   the data are discrete or mixed: use the Gao et al. (2017) ``mixed`` k-NN estimator, which is
   consistent for discrete, continuous and mixed variables. (Integer arrays never reach this
   module: the API sends them to ``miller_madow`` when all inputs are integer and to ``mixed``
   when one is.)
2. **Candidates.** Otherwise compute these estimates, each of which is, up to estimation error,
   a lower bound of ``I(X; Y)`` in the situation where the others fail:

   * ``gaussian_copula`` with the digamma bias correction: exact for Gaussian dependence after
     any monotone per-coordinate maps, in any dimension; a lower bound for 1-D X and Y otherwise,
     and usually below the truth in more dimensions;
   * ``ksg_copula``, KSG (k = 3) on per-coordinate normal scores: consistent for any continuous
     dependence, insensitive to heavy tails, biased low when the joint dimension or the MI is
     high;
   * ``ksg_radial`` and ``ksg_radial_scores``, KSG between per-side robust radii of the data and
     of its normal scores (only when one side has more than one dimension): data-processing
     lower bounds, tight for elliptical dependence through a shared scale (multivariate
     Student-t), where the first two miss most of the MI; the second is invariant under
     monotone maps of the coordinates, the first is closer on untransformed data.

   The estimate is the **largest** of them, because every candidate errs low where it is wrong,
   with one exception: a k-NN candidate is chosen over the Gaussian copula only if it exceeds it
   by more than :data:`SIGNIFICANCE` standard errors of the difference (paired over shared
   half-samples, see 3); otherwise the data do not contradict the Gaussian copula, which has
   the lower variance and no bias on Gaussian dependence.
3. **Convergence and interval.** The candidates are re-run on :data:`N_HALVES` random
   half-samples of the data (the same half-samples for all; when a k-NN candidate is chosen,
   its half-sample value is the largest k-NN candidate on that half-sample; half-samples reuse
   the normal scores of all N rows, which costs one ranking in all). Half-samples
   drawn from one sample of size N vary by ``Var(m) (1 - m/N)``, which is ``Var(N)`` for
   ``m = N/2``: their standard deviation is the standard error of the estimate (subsampling,
   Politis & Romano 1994), and the sampling part of the interval is ``+- t se`` (t with
   N_HALVES - 1 degrees of freedom, for the uncertainty of se itself). The mean change from
   N/2 to N, ``trend``, measures the remaining finite-sample bias. Assuming the bias decays
   like ``N^-1/2`` the bias left at N is ``trend / (sqrt(2) - 1)``; the interval is widened by
   that amount in the direction of the trend. The point estimate itself is not extrapolated.
4. **Unreliable.** If the chosen estimate still rises or falls by more than
   :data:`UNRELIABLE_TREND` (relative) from N/2 to N, and by more than twice its standard error,
   the result carries the ``"unreliable"`` flag and an :class:`~infolens.InfoLensWarning`:
   the estimator has not converged at this sample size (on our suite: spirals in 3-5 dimensions
   per side, where the truth is 30-70% above the estimate).

``Estimate.details`` holds every candidate's value, the chosen one (``chosen``), why
(``reason``), the ``trend`` and the ``standard_error``. Time at N = 5,000: under a
second in a few dimensions, a few seconds at 50 x 50 (the k-NN search dominates). k-NN
candidates run on at most 100,000 / 20,000 / 5,000 random rows up to 4 / 10 / more joint
dimensions (:data:`KNN_ROW_CAPS`), which bounds the time at large N; in high dimension the k-NN
candidates only compete with the copula, which always uses every row.

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
from infolens.estimators.copula_knn import mi_ksg_radial
from infolens.estimators.gaussian import copula_normalize, mi_gaussian
from infolens.estimators.knn import mi_ksg, mi_mixed

#: Fraction of repeated rows of x or y above which the data are treated as discrete or mixed.
TIES_FRACTION = 0.01
#: Half-samples behind the interval, the comparison with the copula and the convergence check.
N_HALVES = 16
#: A k-NN candidate must exceed the Gaussian copula by this many standard errors to be chosen.
SIGNIFICANCE = 2.0
#: Relative change from N/2 to N above which the chosen estimate is flagged unreliable.
UNRELIABLE_TREND = 0.075
#: Bias left at N per unit of change from N/2 to N, for a bias decaying like N^-1/2.
EXTRAPOLATION = 1.0 / (math.sqrt(2.0) - 1.0)
#: Rows used by k-NN candidates: (largest joint dimension, row cap), first match wins.
KNN_ROW_CAPS = ((4, 100_000), (10, 20_000), (math.inf, 5_000))

Estimator = Callable[[np.ndarray, np.ndarray], float]

#: Candidate -> (whether it runs on the normal scores of x and y, the estimator applied to them).
#: The scores are computed once from all rows; half-samples and row subsets reuse them.
CANDIDATES: dict[str, tuple[bool, Estimator]] = {
    "gaussian_copula": (True, mi_gaussian),
    "ksg_copula": (True, mi_ksg),
    "ksg_radial": (False, mi_ksg_radial),
    "ksg_radial_scores": (True, mi_ksg_radial),
    "mixed": (False, mi_mixed),
}


def _distinct_columns(a: np.ndarray, name: str) -> tuple[np.ndarray, str]:
    """``a`` without the columns whose ranks repeat (or reverse) an earlier column's, and a note.

    A column that is a monotone function of another carries no information of its own: dropping it
    is an invertible map of the samples, which leaves I(X;Y) unchanged, and it would make the
    normal-score covariance of the Gaussian copula singular.
    """
    if a.shape[1] < 2:
        return a, ""
    ranks = np.argsort(np.argsort(a, axis=0, kind="stable"), axis=0)
    n = a.shape[0]
    seen: dict[bytes, int] = {}  # rank vector of a kept column (and its reversal) -> the column
    keep: list[int] = []
    dropped: list[str] = []
    for j in range(a.shape[1]):
        key = ranks[:, j].tobytes()
        if key in seen:
            dropped.append(f"{name} column {j} is a monotone function of column {seen[key]}")
            continue
        keep.append(j)
        seen[key] = j
        seen[(n - 1 - ranks[:, j]).tobytes()] = j
    if not dropped:
        return a, ""
    return a[:, keep], "; " + ", ".join(dropped) + " (left out: MI is unchanged)"


def _repeated_fraction(a: np.ndarray) -> float:
    sample = a[:100_000]
    return 1.0 - (int(unique_row_codes(sample).max()) + 1) / len(sample)


def _row_cap(name: str, joint_dim: int) -> float:
    if name == "gaussian_copula":
        return math.inf
    return next(cap for dim, cap in KNN_ROW_CAPS if joint_dim <= dim)


class _Runner:
    """Runs candidates on the whole data (or a fixed random subset for costly k-NN searches) and
    on half-samples shared by all candidates, so that differences between them are paired."""

    def __init__(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        self.x, self.y, self.rng = x, y, rng
        self.n, self.joint_dim = x.shape[0], x.shape[1] + y.shape[1]
        self.pools: dict[float, np.ndarray | None] = {}
        self.halves: dict[float, list[np.ndarray]] = {}
        self.scores: tuple[np.ndarray, np.ndarray] | None = None

    def _run(self, name: str, rows: np.ndarray | None) -> float:
        on_scores, estimator = CANDIDATES[name]
        if on_scores and self.scores is None:
            self.scores = (copula_normalize(self.x), copula_normalize(self.y))
        x, y = self.scores if on_scores else (self.x, self.y)  # type: ignore[misc]
        return estimator(x, y) if rows is None else estimator(x[rows], y[rows])

    def _pool(self, name: str) -> np.ndarray | None:
        cap = _row_cap(name, self.joint_dim)
        if cap not in self.pools:
            self.pools[cap] = (None if self.n <= cap
                               else np.sort(self.rng.choice(self.n, int(cap), replace=False)))
        return self.pools[cap]

    def full(self, name: str) -> float:
        return self._run(name, self._pool(name))

    def half(self, name: str) -> np.ndarray:
        pool = self._pool(name)
        size = self.n if pool is None else len(pool)
        key = float(size)
        if key not in self.halves:
            source = np.arange(self.n) if pool is None else pool
            self.halves[key] = [np.sort(self.rng.choice(source, size // 2, replace=False))
                                for _ in range(N_HALVES)]
        return np.array([self._run(name, rows) for rows in self.halves[key]])

    def rows_used(self, name: str) -> int:
        pool = self._pool(name)
        return self.n if pool is None else len(pool)


def _choose(runner: _Runner) -> tuple[str, str, dict[str, float], np.ndarray]:
    """The chosen candidate, the reason, every candidate's value (nats) and its half-samples."""
    x, y = runner.x, runner.y
    tied = max(_repeated_fraction(x), _repeated_fraction(y))
    if tied > TIES_FRACTION:
        return "mixed", f"{tied:.1%} repeated rows: discrete or mixed data", {}, runner.half("mixed")
    names = ["gaussian_copula", "ksg_copula"]
    if runner.joint_dim > 2:
        names += ["ksg_radial", "ksg_radial_scores"]
    values = {name: runner.full(name) for name in names}
    best = max(values, key=lambda name: values[name])
    copula_halves = runner.half("gaussian_copula")
    if best == "gaussian_copula":
        return best, "largest of the candidate lower bounds", values, copula_halves
    best_halves = runner.half(best)
    if runner.rows_used(best) == runner.n:  # paired half-samples: the difference's standard error
        excess_se = float(np.std(best_halves - copula_halves, ddof=1))
    else:
        excess_se = math.hypot(float(np.std(best_halves, ddof=1)), float(np.std(copula_halves, ddof=1)))
    if values[best] - values["gaussian_copula"] <= SIGNIFICANCE * excess_se:
        return ("gaussian_copula", f"{best} is within {SIGNIFICANCE:g} standard errors of the "
                "Gaussian copula, the lower-variance estimate", values, copula_halves)
    # the estimate is the largest k-NN candidate: its half-sample analogue is the largest on
    # each half-sample (the chosen one alone would read its selection as a trend)
    rivals = [runner.half(name) for name in names[1:] if name != best]
    return best, "largest of the candidate lower bounds", values, np.max([best_halves, *rivals], axis=0)


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
    x, x_note = _distinct_columns(x, "x")
    y, y_note = _distinct_columns(y, "y")
    runner = _Runner(x, y, np.random.default_rng(seed))
    chosen, reason, values, halves = _choose(runner)
    reason += x_note + y_note
    value = values[chosen] if values else runner.full(chosen)
    m = runner.rows_used(chosen) // 2
    trend = value - float(halves.mean())
    # half-samples of one sample of size n vary by Var(m) (1 - m/n) = Var(n) for m = n/2
    se = float(halves.std(ddof=1)) / math.sqrt(runner.rows_used(chosen) / m - 1.0)
    half_width = float(stats.t.ppf(0.5 + level / 2.0, N_HALVES - 1)) * se
    bias = EXTRAPOLATION * trend
    low = value - half_width - max(0.0, -bias)
    high = value + half_width + max(0.0, bias)
    trend_se = float(halves.std(ddof=1)) / math.sqrt(N_HALVES)
    unreliable = (chosen != "gaussian_copula" and abs(trend) > UNRELIABLE_TREND * max(abs(value), 0.05)
                  and abs(trend) > 2.0 * trend_se)
    if unreliable:
        warnings.warn(f"estimate_mi(method='auto'): the chosen estimator ({chosen}) moved by "
                      f"{trend:+.3f} nats from N/2 to N = {runner.n}; it has not converged and the "
                      "true MI may be well above it. More samples (or lower dimension) would help.",
                      InfoLensWarning, stacklevel=6)
    details: dict[str, Any] = {"chosen": chosen, "reason": reason, **values, "trend": trend,
                               "standard_error": se, "ci_low": low, "ci_high": high,
                               "flags": ("unreliable",) if unreliable else ()}
    return value, details
