"""Resampling around one estimator: bootstrap and subsampling intervals, subsampled estimates,
permutation tests of independence.

Every function takes ``evaluate(rows, y_order=None) -> (value, details)``: the estimate in nats
(and method-specific details in nats) on the given rows of the samples (all rows when None), with
y's rows reordered by ``y_order``. The random draws come from one ``numpy.random.Generator`` in a
fixed order, so a seed gives the same interval and p-value on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

#: ``evaluate(rows, y_order=None) -> (value in nats, details in nats)``.
Evaluate = Callable[..., tuple[float, dict[str, float]]]
#: Confidence level of the interval of a subsampled estimate when none was asked for.
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class Resampled:
    """An estimate with its interval, on all samples or as the mean over subsamples.

    ``rows`` are the rows a permutation test must use (one subsample, so that observed and
    permuted estimates have the same size and bias; None for all rows); ``counts`` are details
    that are counts, not nats (``n_subsamples``).
    """

    value: float
    details: dict[str, float]
    interval: tuple[float, float] | None
    level: float | None
    n_used: int
    subsampled: bool = False
    rows: np.ndarray | None = None
    counts: dict[str, float] = field(default_factory=dict)


def resample(evaluate: Evaluate, n: int, *, max_samples: int | None, level: float | None,
             n_resamples: int, kind: str | None, rng: np.random.Generator) -> Resampled:
    """The estimate of ``evaluate`` on n samples, with an interval at ``level`` (None: none).

    Above ``max_samples`` samples: the mean over subsamples (:func:`subsampled`), always with an
    interval (at 95% unless ``level`` says otherwise). Otherwise the estimate on all samples and,
    when ``level`` is given, the interval of :func:`interval` of the given ``kind``.
    """
    if max_samples is not None and n > max_samples:
        level = level or DEFAULT_LEVEL
        value, bounds, details, counts = subsampled(evaluate, n, max_samples, rng, level)
        rows = np.sort(rng.choice(n, max_samples, replace=False))
        return Resampled(value, details, bounds, level, max_samples, subsampled=True, rows=rows,
                         counts=counts)
    value, details = evaluate(None)
    bounds = None if level is None else interval(evaluate, value, n, level, n_resamples, rng, kind)
    return Resampled(value, details, bounds, level if bounds is not None else None, n)


def interval(evaluate: Evaluate, value: float, n: int | tuple[int, ...], level: float,
             n_resamples: int, rng: np.random.Generator, kind: str | None) -> tuple[float, float]:
    """Percentile bootstrap (``kind="bootstrap"``), or subsampling (Politis & Romano 1994).

    Resampling with replacement duplicates points, which k-NN and KDE estimators read as
    zero distances; they use half-samples without replacement instead. For a statistic with
    variance ``s^2 / n``, a subsample of m of the n rows drawn without replacement deviates from
    the full-sample value with variance ``s^2 (1/m - 1/n)``, so the deviations are rescaled by
    ``sqrt(m / (n - m))`` (1 for half-samples) to the spread of the full-sample estimate.
    (Politis & Romano's ``sqrt(m / n)`` is the rate for subsamples small against n; applied to
    half-samples it made the intervals ``sqrt(2)`` too narrow.)

    ``n`` may be a tuple of sizes of independent samples (the two samples of a divergence): each
    is resampled on its own (a stratified resample) and ``evaluate`` receives a tuple of row
    arrays, one per sample; the half-sample rescaling uses the summed sizes.
    """
    sizes = (int(n),) if isinstance(n, (int, np.integer)) else tuple(int(s) for s in n)

    def rows(draws: list[np.ndarray]) -> np.ndarray | tuple[np.ndarray, ...]:
        return draws[0] if len(sizes) == 1 else tuple(draws)

    alpha = (1.0 - level) / 2.0
    if kind == "bootstrap":
        draws = np.array([evaluate(rows([rng.integers(0, s, s) for s in sizes]))[0]
                          for _ in range(n_resamples)])
        low, high = np.quantile(draws, [alpha, 1 - alpha])
        return float(low), float(high)
    halves = [max(s // 2, 2) for s in sizes]
    rescale = math.sqrt(sum(halves) / max(sum(sizes) - sum(halves), 1))
    deviations = np.array([evaluate(rows([rng.choice(s, m, replace=False)
                                          for s, m in zip(sizes, halves, strict=True)]))[0] - value
                           for _ in range(n_resamples)]) * rescale
    q_low, q_high = np.quantile(deviations, [alpha, 1 - alpha])
    return float(value - q_high), float(value - q_low)


def subsampled(evaluate: Evaluate, n: int, m: int, rng: np.random.Generator,
               level: float) -> tuple[float, tuple[float, float], dict[str, float], dict[str, float]]:
    """Mean of estimates (and of their details) on r subsamples of size m, with a t interval.

    With n >= r m the subsamples are disjoint and the interval is that of the mean; otherwise
    they overlap and the (wider) interval of a single size-m estimate is reported.
    """
    r = max(2, min(5, n // m))
    order = rng.permutation(n)
    disjoint = n >= r * m
    rows = [order[i * m:(i + 1) * m] if disjoint else rng.choice(n, m, replace=False)
            for i in range(r)]
    outputs = [evaluate(np.sort(idx)) for idx in rows]
    values = np.array([value for value, _ in outputs])
    details = {key: float(np.mean([d[key] for _, d in outputs])) for key, first in outputs[0][1].items()
               if isinstance(first, float)}  # text details (auto's choice) are not averaged
    mean = float(values.mean())
    spread = float(values.std(ddof=1)) / (math.sqrt(r) if disjoint else 1.0)
    half = float(stats.t.ppf(0.5 + level / 2, r - 1)) * spread
    return mean, (mean - half, mean + half), details, {"n_subsamples": float(r)}


def permutation_p_value(evaluate: Evaluate, rows: np.ndarray | None, m: int, n_permutations: int,
                        rng: np.random.Generator) -> float:
    """p-value of independence, ``(1 + #{I_perm >= I}) / (B + 1)``, permuting y against x.

    Observed and permuted estimates come from the same ``m`` rows (one subsample when
    ``max_samples`` applies), so both have the same sample size and bias.
    """
    observed = evaluate(rows)[0]
    exceed = sum(evaluate(rows, rng.permutation(m))[0] >= observed for _ in range(n_permutations))
    return (1 + exceed) / (n_permutations + 1)


__all__ = ["Resampled", "interval", "permutation_p_value", "resample", "subsampled"]
