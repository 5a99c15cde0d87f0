"""NSB entropy of discrete samples (Nemenman, Shafee & Bialek 2002), computed in log space.

A symmetric Dirichlet prior with concentration ``beta`` on each of K symbols makes the entropy
almost fixed by ``beta`` a priori: its prior mean is ``xi(beta) = psi(K beta + 1) - psi(beta + 1)``.
NSB mixes these priors with the weight ``d xi / d beta = K psi_1(K beta + 1) - psi_1(beta + 1)``,
so that the prior on the entropy itself is nearly flat on [0, ln K]. With counts ``n_i`` summing
to N, the posterior on ``beta`` is proportional to

    d xi/d beta * Gamma(K beta) / Gamma(N + K beta) * prod_i Gamma(n_i + beta) / Gamma(beta),

and the estimate is the posterior mean of the entropy, the average over that posterior of the
Dirichlet posterior mean ``psi(N + K beta + 1) - sum_i (n_i + beta) / (N + K beta) psi(n_i + beta + 1)``.

Every factor is taken as a logarithm (``gammaln``), the one-dimensional integral runs over
``u = ln beta`` around the posterior mode, and the weights are normalised by their maximum, so
nothing overflows at any N (a direct product of Gamma functions overflows near N = 170 to 500).
Symbols never seen contribute ``Gamma(beta) / Gamma(beta) = 1`` to the product and enter only
through K. The estimate is in nats.

References
----------
I. Nemenman, F. Shafee and W. Bialek, "Entropy and inference, revisited", NIPS 14 (2002).
I. Nemenman, W. Bialek and R. de Ruyter van Steveninck, "Entropy and information in neural spike
trains: progress on the sampling problem", Phys. Rev. E 69 (2004) 056111.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, special

#: Below this log-weight (relative to the mode) the posterior on ln beta is treated as zero.
_LOG_TAIL = -40.0


def _log_posterior(u: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """ln of the (unnormalised) posterior density of ``u = ln beta``, vectorised over u."""
    beta = np.exp(np.asarray(u, dtype=np.float64))[..., None]
    n = counts.sum()
    kb = k * beta[..., 0]
    prior = k * special.polygamma(1, kb + 1.0) - special.polygamma(1, beta[..., 0] + 1.0)
    likelihood = (special.gammaln(kb) - special.gammaln(n + kb)
                  + np.sum(special.gammaln(counts + beta) - special.gammaln(beta), axis=-1))
    return np.log(np.maximum(prior, np.finfo(float).tiny)) + likelihood + np.log(beta[..., 0])


def _posterior_mean_entropy(u: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Posterior mean of the entropy under a Dirichlet(beta) prior, ``beta = exp(u)``."""
    beta = np.exp(np.asarray(u, dtype=np.float64))[..., None]
    n = counts.sum()
    total = n + k * beta[..., 0]
    seen = np.sum((counts + beta) * special.digamma(counts + beta + 1.0), axis=-1)
    unseen = (k - counts.size) * beta[..., 0] * special.digamma(beta[..., 0] + 1.0)
    return special.digamma(total + 1.0) - (seen + unseen) / total


def _support(counts: np.ndarray, k: int) -> tuple[float, float, float]:
    """Mode of the log posterior in u and a range around it where it lies above ``_LOG_TAIL``."""
    result = optimize.minimize_scalar(lambda u: -float(_log_posterior(np.array(u), counts, k)),
                                      bounds=(-30.0, 30.0), method="bounded",
                                      options={"xatol": 1e-6})
    mode = float(result.x)
    peak = float(_log_posterior(np.array(mode), counts, k))
    ends = []
    for direction in (-1.0, 1.0):
        step = 0.01
        while step < 60.0 and float(_log_posterior(np.array(mode + direction * step), counts, k)) - peak > _LOG_TAIL:
            step *= 2.0
        ends.append(mode + direction * step)
    return mode, ends[0], ends[1]


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
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts > 0]
    k = counts.size if alphabet_size is None else max(int(alphabet_size), counts.size)
    if k <= 1:
        return 0.0
    mode, low, high = _support(counts, k)
    peak = float(_log_posterior(np.array(mode), counts, k))

    def weight(u: float) -> float:
        return math.exp(float(_log_posterior(np.array(u), counts, k)) - peak)

    def weighted_entropy(u: float) -> float:
        return weight(u) * float(_posterior_mean_entropy(np.array(u), counts, k))

    norm = integrate.quad(weight, low, high, points=[mode], limit=200)[0]
    total = integrate.quad(weighted_entropy, low, high, points=[mode], limit=200)[0]
    return total / norm


def entropy_nsb(codes: np.ndarray) -> float:
    """NSB entropy in nats of integer symbol codes (shape (n,)), with K the observed symbols."""
    return nsb_from_counts(np.bincount(np.asarray(codes, dtype=np.int64).ravel()))
