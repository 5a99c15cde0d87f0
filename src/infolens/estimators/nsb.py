"""NSB entropy of discrete samples (Nemenman, Shafee & Bialek 2002), computed in log space.

A symmetric Dirichlet prior with concentration ``beta`` on each of K symbols makes the entropy
almost fixed by ``beta`` a priori: its prior mean is ``xi(beta) = psi(K beta + 1) - psi(beta + 1)``.
NSB mixes these priors with the weight ``d xi / d beta = K psi_1(K beta + 1) - psi_1(beta + 1)``,
so that the prior on the entropy itself is nearly flat on [0, ln K]. With counts ``n_i`` summing
to N, the posterior on ``beta`` is proportional to

    d xi/d beta * Gamma(K beta) / Gamma(N + K beta) * prod_i Gamma(n_i + beta) / Gamma(beta),

and the estimate is the posterior mean of the entropy, the average over that posterior of the
Dirichlet posterior mean ``psi(N + K beta + 1) - sum_i (n_i + beta) / (N + K beta) psi(n_i + beta + 1)``.

Every factor is taken as a logarithm (ratios of Gamma functions as ``ln Gamma(a + n) -
ln Gamma(a)``, by Stirling's series for large a, so large beta loses no precision), the
one-dimensional integral runs over ``u = ln beta`` by the trapezoid rule on the range around the
posterior mode where the posterior is within ``e^-40`` of its peak, and the weights are
normalised by their maximum, so nothing overflows at any N (a direct product of Gamma functions
overflows near N = 170 to 500). Counts enter through their distinct values and multiplicities.
Symbols never seen contribute ``Gamma(beta) / Gamma(beta) = 1`` to the product and enter only
through K. The estimate is in nats.

References
----------
I. Nemenman, F. Shafee and W. Bialek, "Entropy and inference, revisited", NIPS 14 (2002).
I. Nemenman, W. Bialek and R. de Ruyter van Steveninck, "Entropy and information in neural spike
trains: progress on the sampling problem", Phys. Rev. E 69 (2004) 056111.
"""

from __future__ import annotations

import numpy as np
from scipy import special

#: Below this log-weight (relative to the mode) the posterior on ln beta is treated as zero.
_LOG_TAIL = -40.0
#: Range of ``u = ln beta`` searched (beyond 25 the prior weight loses precision and is negligible).
_U_RANGE = (-30.0, 25.0)
#: Points of the trapezoid rule over the support (the integrand is smooth and decays fast).
_N_POINTS = 4001
#: Above this ``a``, ``ln Gamma(a + n) - ln Gamma(a)`` uses Stirling's series (no cancellation).
_STIRLING_FROM = 1e4


def _log_rising(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``ln Gamma(a + n) - ln Gamma(a)`` for a > 0, n >= 0, accurate for any size of a."""
    a, n = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64))
    safe = np.maximum(a, _STIRLING_FROM)
    stirling = ((safe - 0.5) * np.log1p(n / safe) + n * np.log(safe + n) - n
                + 1.0 / (12.0 * (safe + n)) - 1.0 / (12.0 * safe))
    return np.where(a >= _STIRLING_FROM, stirling, special.gammaln(a + n) - special.gammaln(a))


def _log_posterior(u: np.ndarray, values: np.ndarray, mult: np.ndarray, k: int) -> np.ndarray:
    """ln of the (unnormalised) posterior density of ``u = ln beta``, vectorised over u.

    ``values`` are the distinct nonzero counts and ``mult`` how many symbols have each.
    """
    beta = np.exp(np.asarray(u, dtype=np.float64))
    n = float(np.dot(values, mult))
    prior = k * special.polygamma(1, k * beta + 1.0) - special.polygamma(1, beta + 1.0)
    likelihood = (-_log_rising(k * beta, n)
                  + np.sum(mult * _log_rising(beta[..., None], values), axis=-1))
    return np.log(np.maximum(prior, np.finfo(float).tiny)) + likelihood + u


def _posterior_mean_entropy(u: np.ndarray, values: np.ndarray, mult: np.ndarray,
                            k: int) -> np.ndarray:
    """Posterior mean of the entropy under a Dirichlet(beta) prior, ``beta = exp(u)``."""
    beta = np.exp(np.asarray(u, dtype=np.float64))
    total = float(np.dot(values, mult)) + k * beta
    alpha = values + beta[..., None]
    seen = np.sum(mult * alpha * special.digamma(alpha + 1.0), axis=-1)
    unseen = (k - mult.sum()) * beta * special.digamma(beta + 1.0)
    return special.digamma(total + 1.0) - (seen + unseen) / total


def _support(values: np.ndarray, mult: np.ndarray, k: int) -> tuple[float, float]:
    """A range of u around the global mode of the posterior where it lies above ``_LOG_TAIL``.

    The mode is located on a grid and the range extended in doubling steps from it, within
    ``_U_RANGE``.
    """
    grid = np.linspace(*_U_RANGE, 1101)
    log_post = _log_posterior(grid, values, mult, k)
    best = int(np.argmax(log_post))
    mode, peak = float(grid[best]), float(log_post[best])
    ends = []
    for direction in (-1.0, 1.0):
        step = 0.01
        while True:
            u = min(max(mode + direction * step, _U_RANGE[0]), _U_RANGE[1])
            if u in _U_RANGE or float(_log_posterior(np.array([u]), values, mult, k)[0]) - peak < _LOG_TAIL:
                break
            step *= 2.0
        ends.append(u)
    return ends[0], ends[1]


def nsb_from_counts(counts: np.ndarray, alphabet_size: int | None = None) -> float:
    """NSB entropy in nats from symbol counts.

    Parameters
    ----------
    counts : array of int
        Counts of the observed symbols (zeros allowed).
    alphabet_size : int, optional
        K, the number of possible symbols (at least the number of observed ones); None uses the
        number of observed symbols, which makes the estimate lower when symbols go unseen.
    """
    counts = np.asarray(counts, dtype=np.int64).ravel()
    values, mult = np.unique(counts[counts > 0], return_counts=True)
    observed = int(mult.sum())
    k = observed if alphabet_size is None else max(int(alphabet_size), observed)
    if k <= 1:
        return 0.0
    values, mult = values.astype(np.float64), mult.astype(np.float64)
    low, high = _support(values, mult, k)
    u = np.linspace(low, high, _N_POINTS)
    log_post = _log_posterior(u, values, mult, k)
    weight = np.exp(log_post - log_post.max())
    return float(np.trapezoid(weight * _posterior_mean_entropy(u, values, mult, k), u)
                 / np.trapezoid(weight, u))


def entropy_nsb(codes: np.ndarray, alphabet_size: int | None = None) -> float:
    """NSB entropy in nats of integer symbol codes (shape (n,)); K is ``alphabet_size`` when
    known (``estimate_entropy(x, method="nsb", K=...)``), else the observed symbols."""
    return nsb_from_counts(np.bincount(np.asarray(codes, dtype=np.int64).ravel()), alphabet_size)
