"""KSG MI and Frenzel-Pompe CMI with the discrete metric on discrete variables (semi-discrete).

A discrete variable (integer label codes) is given the discrete metric: distance 0 between
samples with the same value, infinite between different values; continuous variables keep the
norm of :mod:`infolens.estimators.knn`. With it, the k-th neighbour of a sample lies among the
samples sharing all its discrete values, and every radius count is restricted to the samples
sharing the discrete values of its sub-space. This is Ross's (2014) estimator for the MI of a
discrete and a continuous variable, and its conditional form in ennemi (Laarne, Zaidan & Nieminen
2021, ``estimate_mi(..., discrete_y=True, cond=...)``): with Y discrete,

``I(X; Y | Z) = psi(k) - < psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1) >``,

``rho_i`` the k-th neighbour distance in (x, z) among the samples of i's class, ``n_xz`` and
``n_z`` counted over all samples, ``n_yz`` over i's class only. With Z discrete the same formula
is exactly ``sum_z p(z) I_KSG(X; Y | Z = z)``, the KSG estimate within each group weighted by its
frequency (and, when X is discrete too, Ross's estimate within each group). Any mix of
discrete and continuous variables is covered, as long as one is continuous (all-discrete data
take the plug-in or Miller-Madow CMI of :mod:`infolens.estimators.discrete`).

Implementation: the discrete metric is embedded exactly in the shared neighbour engine
(:func:`infolens.estimators._neighbors.neighbor_stats`, through :func:`~infolens.estimators.knn.mi_ksg`
and :func:`~infolens.estimators.knn.cmi_ksg`): each discrete variable becomes one column of its
label codes times a power of two ``C`` larger than any distance within the continuous variables,
so two different labels are farther apart than any two samples of one label. The products and
their differences are exact in float64, so the counts are those of the discrete metric.

Assumptions and bias: as KSG's, within each group of samples that share the discrete values.
Every such group needs more than k samples (the k-th neighbour must lie in the group);
:func:`smallest_group` reports the smallest.

References
----------
Ross (2014), PLoS ONE 9(2): e87357 ("Mutual information between discrete and continuous data sets").
Frenzel & Pompe (2007), Phys. Rev. Lett. 99, 204101.
Laarne, Zaidan & Nieminen (2021), J. Open Source Softw. 6(61), 3084 (ennemi).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from infolens._validation import InfoLensError, unique_row_codes
from infolens.estimators.knn import cmi_ksg, mi_ksg

#: Largest binary exponent of the label spacing ``C``: codes times C stay far below the float64
#: range (samples spread over more than 2**900 have no meaningful neighbour distances anyway).
MAX_EXPONENT = 900


def _is_labels(a: np.ndarray) -> bool:
    return bool(np.issubdtype(a.dtype, np.integer))


def smallest_group(arrays: Sequence[np.ndarray]) -> int | None:
    """The size of the smallest group of samples sharing the values of every discrete (integer)
    array, or None when no array is discrete."""
    labels = [a.reshape(len(a), -1) for a in arrays if _is_labels(a)]
    if not labels:
        return None
    codes = unique_row_codes(np.hstack(labels))
    return int(np.bincount(codes).min())


def embed_discrete_metric(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Float64 arrays whose per-variable distances give the discrete metric on integer arrays.

    Continuous (float) arrays of shape (n, d) are returned as they are; an integer array of
    shape (n,) or (n, d) becomes one column, its row label codes times ``C``, a power of two
    above the sum of the ranges of every continuous column (which bounds every Chebyshev and
    Euclidean distance within a continuous variable).
    """
    spread = sum(float(np.ptp(a, axis=0).sum()) for a in arrays if not _is_labels(a))
    exponent = math.frexp(2.0 * spread + 1.0)[1] if math.isfinite(spread) else MAX_EXPONENT + 1
    if exponent > MAX_EXPONENT:
        raise InfoLensError(f"The continuous samples span {spread:.3g}, too wide to keep discrete "
                            "labels apart in float64; rescale them.")
    scale = math.ldexp(1.0, exponent)
    return [unique_row_codes(a.reshape(len(a), -1)).astype(np.float64)[:, None] * scale
            if _is_labels(a) else a for a in arrays]


def _check_groups(arrays: Sequence[np.ndarray], k: int) -> None:
    if all(_is_labels(a) for a in arrays):
        raise InfoLensError("The semi-discrete k-NN estimator needs at least one continuous "
                            "variable; all-discrete samples take method='plugin' or 'miller_madow'.")
    smallest = smallest_group(arrays)
    if smallest is not None and smallest <= k:
        raise InfoLensError(f"The 'k' parameter of the semi-discrete k-NN estimator must be below "
                            f"the size of every group of samples sharing their discrete values. "
                            f"Got k={k} with a group of {smallest} samples instead (where the data's "
                            "groups are larger, this is a half-sample of ci= or a subsample of "
                            "max_samples=: use a smaller k, more samples, or no interval).")


def mi_ksg_discrete(x: np.ndarray, y: np.ndarray, k: int = 3, metric: str = "chebyshev") -> float:
    """KSG estimator 1 of ``I(X; Y)`` in nats, integer arrays under the discrete metric.

    With Y discrete: Ross (2014), ``psi(N) + psi(k) - <psi(n_x + 1)> - <psi(N_y)>``, ``N_y``
    the size of i's class and ``rho_i`` its k-th neighbour distance within the class.

    Parameters
    ----------
    x, y : arrays of shape (n, d) (float, continuous) or (n,) / (n, d) (integer labels, discrete)
    k : int
        Neighbour order; every group of samples sharing the discrete values needs more than k.
    metric : {"chebyshev", "euclidean"}
        Norm within each continuous variable.

    Returns
    -------
    float
        Nats (never clipped).
    """
    _check_groups([x, y], k)
    return mi_ksg(*embed_discrete_metric([x, y]), k=k, metric=metric)


def cmi_ksg_discrete(x: np.ndarray, y: np.ndarray, z: np.ndarray, k: int = 3,
                     metric: str = "chebyshev") -> float:
    """Frenzel-Pompe ``I(X; Y | Z)`` in nats, integer arrays under the discrete metric.

    Z discrete: ``sum_z p(z) I_KSG(X; Y | Z = z)``; Y (or X) discrete: ennemi's conditional
    semi-discrete estimator (module docstring).

    Parameters
    ----------
    x, y, z : arrays of shape (n, d) (float, continuous) or (n,) / (n, d) (integer labels)
    k : int
        Neighbour order; every group of samples sharing the discrete values needs more than k.
    metric : {"chebyshev", "euclidean"}

    Returns
    -------
    float
        Nats (never clipped).
    """
    _check_groups([x, y, z], k)
    return cmi_ksg(*embed_discrete_metric([x, y, z]), k=k, metric=metric)
