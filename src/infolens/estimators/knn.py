"""k-nearest-neighbour estimators: Kozachenko-Leonenko entropy, KSG MI, Frenzel-Pompe CMI, mixed MI.

All return nats and receive float64 arrays of shape (n, d) (validated by
:mod:`infolens.estimators.api`) or torch tensors, which are searched on their own device. The
neighbour searches all go through :func:`infolens.estimators._neighbors.neighbor_stats`, which
picks a KD-tree, sorting, or blocked brute force per call and gives identical answers with each.

Norms. Distances within one variable use ``metric``: ``"chebyshev"`` (max-norm, the default and
Kraskov et al.'s choice) or ``"euclidean"``. In a joint space (x, y) the distance is always the
maximum of the per-variable distances, ``max(||x_i - x_j||, ||y_i - y_j||)``; with
``"chebyshev"`` this is the max-norm of the stacked coordinates. Both are valid choices for KSG
(its derivation only needs the max across variables); they give slightly different finite-sample
bias. Both use a KD-tree in low dimension; ``"chebyshev"`` is the faster one there (up to about
``1.6 log2 N`` joint dimensions, against ``1.2 log2 N`` for ``"euclidean"``), ``"euclidean"``
in high dimension (its brute-force distances come from matrix products).

Assumptions and bias. The estimators assume continuous densities (except :func:`mi_mixed`).
They are consistent for fixed k as N grows; their bias grows quickly with the dimension (MI is
typically underestimated when it is large or the dimension is high), and smaller k means less
bias and more variance. Repeated values (ties) violate the continuity assumption: nothing
crashes, but KL entropy becomes -inf when a point has k duplicates, and KSG reads duplicates as
infinitely close neighbours; use :func:`mi_mixed` or a discrete estimator for such data.

References
----------
Kozachenko & Leonenko (1987), Probl. Peredachi Inf. 23(2):9-16.
Kraskov, Stoegbauer & Grassberger (2004), Phys. Rev. E 69, 066138.
Frenzel & Pompe (2007), Phys. Rev. Lett. 99, 204101.
Gao, Kannan, Oh & Viswanath (2017), NeurIPS 30 ("Estimating mutual information for
discrete-continuous mixtures").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from infolens.estimators._neighbors import CountSpec, neighbor_stats


def _n(x: Any) -> int:
    return int(x.shape[0])


def log_unit_ball_volume(d: int, metric: str) -> float:
    """ln of the volume of the unit ball in R^d: ``d ln 2`` (max-norm cube) or the Euclidean d-ball."""
    if metric == "chebyshev":
        return d * math.log(2.0)
    return 0.5 * d * math.log(math.pi) - float(gammaln(0.5 * d + 1.0))


def entropy_kl(x: Any, k: int = 3, metric: str = "chebyshev", *, strategy: str = "auto") -> float:
    """Kozachenko-Leonenko differential entropy in nats.

    ``H = psi(N) - psi(k) + ln V_d + (d / N) sum_i ln rho_i``, with ``rho_i`` the distance from
    sample i to its k-th nearest neighbour and ``V_d`` the volume of the unit ball of the norm
    (``2^d`` for ``"chebyshev"``, ``pi^(d/2) / Gamma(d/2 + 1)`` for ``"euclidean"``).

    Parameters
    ----------
    x : array of shape (n, d)
    k : int
        Neighbour order (1 <= k < n).
    metric : {"chebyshev", "euclidean"}
    strategy : {"auto", "tree", "brute"}
        Neighbour search (see :mod:`infolens.estimators._neighbors`); the value does not depend
        on it.

    Returns
    -------
    float
        Nats. ``-inf`` when some sample has k exact duplicates (the differential entropy of a
        distribution with atoms is -inf).

    Notes
    -----
    Consistent for fixed k (Kozachenko & Leonenko 1987); the bias grows with the dimension and
    near the boundary of a bounded support.
    """
    n, d = _n(x), int(x.shape[1])
    stats = neighbor_stats([x], k, metric=metric, strategy=strategy)
    with np.errstate(divide="ignore"):
        mean_log = float(np.mean(np.log(stats.rho)))
    return float(digamma(n) - digamma(k) + log_unit_ball_volume(d, metric) + d * mean_log)


def mi_ksg(x: Any, y: Any, k: int = 3, variant: int = 1, metric: str = "chebyshev", *,
           strategy: str = "auto") -> float:
    """Kraskov-Stoegbauer-Grassberger mutual information ``I(X; Y)`` in nats.

    With ``rho_i`` the distance to the k-th neighbour of sample i in the joint space
    (``max(||dx||, ||dy||)``, norm ``metric`` within each variable):

    * ``variant=1``: ``psi(k) + psi(N) - <psi(n_x + 1) + psi(n_y + 1)>`` where ``n_x`` counts
      the j != i with ``||x_j - x_i|| < rho_i`` (strictly);
    * ``variant=2``: ``psi(k) - 1/k + psi(N) - <psi(n_x) + psi(n_y)>`` where ``n_x`` counts the
      j != i with ``||x_j - x_i|| <= eps_x,i``, the largest x-distance among the k neighbours
      (all points tied at ``rho_i`` count as neighbours, so ties never depend on ordering).

    Parameters
    ----------
    x, y : arrays of shape (n, d_x), (n, d_y)
    k : int
    variant : {1, 2}
    metric : {"chebyshev", "euclidean"}
        Norm within each variable (the joint norm is always the max of the two).
    strategy : {"auto", "tree", "brute"}

    Returns
    -------
    float
        Nats; can be slightly negative for independent variables (never clipped).
    """
    n = _n(x)
    if variant == 1:
        specs = [CountSpec((0,), "rho", strict=True), CountSpec((1,), "rho", strict=True)]
        stats = neighbor_stats([x, y], k, specs, metric=metric, strategy=strategy)
        n_x, n_y = stats.counts
        return float(digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1)))
    specs = [CountSpec((0,), "eps", strict=False), CountSpec((1,), "eps", strict=False)]
    stats = neighbor_stats([x, y], k, specs, metric=metric, group_eps=True, strategy=strategy)
    n_x, n_y = stats.counts
    return float(digamma(k) - 1.0 / k + digamma(n) - np.mean(digamma(n_x) + digamma(n_y)))


def cmi_ksg(x: Any, y: Any, z: Any, k: int = 3, metric: str = "chebyshev", *,
            strategy: str = "auto") -> float:
    """Frenzel-Pompe conditional mutual information ``I(X; Y | Z)`` in nats.

    ``psi(k) - <psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1)>``, where ``rho_i`` is the k-th
    neighbour distance in the joint (x, y, z) space (max of the per-variable norms) and
    ``n_xz`` counts the j != i with ``max(||dx||, ||dz||) < rho_i`` (strictly), and likewise.

    Parameters
    ----------
    x, y, z : arrays of shape (n, d_x), (n, d_y), (n, d_z)
    k : int
    metric : {"chebyshev", "euclidean"}
    strategy : {"auto", "tree", "brute"}

    Returns
    -------
    float
        Nats (never clipped).
    """
    specs = [CountSpec((0, 2), "rho", strict=True), CountSpec((1, 2), "rho", strict=True),
             CountSpec((2,), "rho", strict=True)]
    stats = neighbor_stats([x, y, z], k, specs, metric=metric, strategy=strategy)
    n_xz, n_yz, n_z = stats.counts
    return float(digamma(k) - np.mean(digamma(n_xz + 1) + digamma(n_yz + 1) - digamma(n_z + 1)))


def mi_mixed(x: Any, y: Any, k: int = 3, *, strategy: str = "auto") -> float:
    """Gao, Kannan, Oh & Viswanath (2017) MI for discrete, continuous or mixed variables, in nats.

    ``<psi(k_i) + ln N - psi(m_x,i) - psi(m_y,i)>`` with ``rho_i`` the k-th neighbour distance
    in the joint space (max-norm):

    * ``rho_i > 0``: ``k_i = k`` and ``m_x,i`` counts the samples (i included) with
      ``||x_j - x_i||_inf < rho_i`` (strictly), likewise ``m_y,i``;
    * ``rho_i = 0`` (sample i sits on an atom with k or more copies): ``k_i`` counts all samples
      at joint distance 0 from i (i included), ``m_x,i`` those at x-distance 0, likewise y.

    This is the estimator as the authors implemented and evaluated it (their released code);
    the printed algorithm writes ``ln(n + 1)`` with non-strict counts instead of ``psi``, which
    agrees asymptotically (k -> infinity) but carries a bias of order ``ln k - psi(k)`` at
    fixed k. On continuous data it coincides with KSG estimator 1 up to ``ln N - psi(N)``
    (< 1/N); on purely discrete data it approaches the plug-in MI.

    Parameters
    ----------
    x, y : arrays of shape (n, d_x), (n, d_y)
        Discrete columns are given as (integer-valued) floats.
    k : int
    strategy : {"auto", "tree", "brute"}

    Returns
    -------
    float
        Nats (never clipped). Consistent for discrete-continuous mixtures (Gao et al. 2017).
    """
    n = _n(x)
    specs = [CountSpec((0,), "rho", strict=True), CountSpec((1,), "rho", strict=True),
             CountSpec((0,), "zero", strict=False), CountSpec((1,), "zero", strict=False),
             CountSpec((0, 1), "zero", strict=False)]
    stats = neighbor_stats([x, y], k, specs, metric="chebyshev", strategy=strategy)
    n_x, n_y, same_x, same_y, same_xy = stats.counts
    atom = stats.rho == 0
    k_i = np.where(atom, same_xy + 1, k)
    m_x = np.where(atom, same_x, n_x) + 1
    m_y = np.where(atom, same_y, n_y) + 1
    return float(np.mean(digamma(k_i) + math.log(n) - digamma(m_x) - digamma(m_y)))
