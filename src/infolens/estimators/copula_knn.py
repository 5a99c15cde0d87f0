"""KSG after per-coordinate normal scores, and KSG between per-side radii.

``ksg_copula``: replace every column by its normal scores ``Phi^-1(rank / (n + 1))`` (as
:func:`~infolens.estimators.gaussian.copula_normalize`) and run KSG (:func:`mi_ksg`). MI is
invariant under strictly monotone maps of each coordinate, so the target is unchanged, while the
k-NN geometry no longer sees heavy tails or wildly different scales: on our known-MI suite
(``benchmarks/mi_accuracy.py``, N = 5,000) it lifts KSG on Student-t in 2 x 2 dimensions from
35% to 9% below the truth and matches plain KSG elsewhere. It keeps KSG's bias in high dimension
(about 25% low at 5 x 5 correlated Gaussians, 90% low at 25 x 25 sparse ones). Assumptions:
continuous marginals (ties get average ranks). References: Kraskov, Stoegbauer & Grassberger
(2004), who note the invariance and recommend rank transforms for skewed marginals; Czyz et al.
(2023) on heavy tails hurting k-NN estimators.

``ksg_radial``: KSG between the per-side radii ``r_x = ||(x - median) / MAD||_2`` and ``r_y``
(each column centred at its median and scaled by its median absolute deviation), after normal
scores of the two radii. By the data-processing inequality ``I(r_x; r_y) <= I(X; Y)`` for any
data, so it is a lower bound up to estimation error, computed by KSG in two dimensions where KSG
is accurate. It is tight for spherically symmetric dependence such as a multivariate Student-t
with identity scale, where X and Y depend on each other only through a shared scale (direction
and radius of each side are then independent); it misses everything that is not radial (it is
near 0 for correlated Gaussians). Used as one candidate of ``method="auto"``.

All values are in nats; inputs are float64 arrays of shape (n, d).
"""

from __future__ import annotations

import numpy as np

from infolens.estimators.gaussian import copula_normalize
from infolens.estimators.knn import mi_ksg


def mi_ksg_copula(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """KSG MI (estimator 1, max-norm) of the per-column normal scores of x and y, in nats."""
    return mi_ksg(copula_normalize(x), copula_normalize(y), k)


def robust_radius(x: np.ndarray) -> np.ndarray:
    """``||(x - median) / MAD||_2`` per row of ``x`` (n, d), shape (n, 1); a zero MAD counts as 1."""
    centred = x - np.median(x, axis=0)
    mad = np.median(np.abs(centred), axis=0)
    scaled = centred / np.where(mad > 0, mad, 1.0)
    return np.sqrt(np.sum(scaled**2, axis=1, keepdims=True))


def mi_ksg_radial(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """KSG MI between the robust radii of x and y (a data-processing lower bound), in nats."""
    return mi_ksg_copula(robust_radius(x), robust_radius(y), k)
