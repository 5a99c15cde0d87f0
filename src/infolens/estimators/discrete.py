"""Entropy of discrete samples: plug-in, Miller-Madow and Chao-Shen.

Each function takes integer symbol codes of shape (n,) (one code per sample; a multivariate
discrete sample is one symbol per distinct row) and returns an entropy in nats. Mutual and
conditional information follow by the entropy identities in :mod:`infolens.estimators.api`.

References
----------
G. A. Miller, "Note on the bias of information estimates", 1955.
A. Chao and T.-J. Shen, "Nonparametric estimation of Shannon's index of diversity when there are
unseen species in sample", Environ. Ecol. Stat. 10 (2003) 429-443.
L. Paninski, "Estimation of entropy and mutual information", Neural Comput. 15 (2003).
"""

from __future__ import annotations

import numpy as np


def symbol_counts(codes: np.ndarray) -> np.ndarray:
    """Counts of each observed symbol (zeros dropped)."""
    counts = np.bincount(codes)
    return counts[counts > 0]


def entropy_plugin(codes: np.ndarray) -> float:
    """Maximum-likelihood ("plug-in") entropy ``-sum p_i log p_i`` of the empirical frequencies.

    Biased downwards by about ``(K - 1) / (2 n)`` nats for K symbols with non-zero probability;
    badly so when n is not much larger than K.
    """
    counts = symbol_counts(codes)
    n = counts.sum()
    p = counts / n
    return float(-np.sum(p * np.log(p))) + 0.0  # + 0.0 turns -0.0 (one symbol) into 0.0


def entropy_miller_madow(codes: np.ndarray) -> float:
    """Plug-in entropy plus the Miller-Madow correction ``(K_obs - 1) / (2 n)`` nats.

    Removes the first-order bias; still biased downwards when many symbols are unseen.
    """
    counts = symbol_counts(codes)
    return entropy_plugin(codes) + (counts.size - 1) / (2.0 * counts.sum())


def entropy_chao_shen(codes: np.ndarray) -> float:
    """Chao-Shen coverage-adjusted entropy for undersampled data.

    The Good-Turing sample coverage ``C = 1 - f1 / n`` (f1 singletons) shrinks the frequencies to
    ``C p_i``, and a Horvitz-Thompson weight ``1 / (1 - (1 - C p_i)^n)`` accounts for unseen
    symbols. When every sample is a singleton, ``f1`` is set to ``n - 1`` so that C > 0 (as in
    Chao & Shen 2003). Finite for every input: computed in logs, no overflow at any n.
    """
    counts = symbol_counts(codes).astype(np.float64)
    n = counts.sum()
    singletons = float(np.sum(counts == 1))
    if singletons == n:
        singletons = n - 1
    coverage = 1.0 - singletons / n
    pa = coverage * counts / n
    # 1 - (1 - pa)^n computed stably as -expm1(n log1p(-pa)); pa = 1 (one symbol) gives 1
    with np.errstate(divide="ignore"):
        inclusion = -np.expm1(n * np.log1p(-pa))
    return float(-np.sum(pa * np.log(pa) / inclusion)) + 0.0
