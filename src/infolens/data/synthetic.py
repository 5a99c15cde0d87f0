"""Generated data with known information content, for tests and benchmarks."""

from __future__ import annotations

import math

import numpy as np

from infolens._validation import check_float, check_int, check_seed, fail


def correlated_gaussians(n: int, dim: int = 1, rho: float = 0.6, *, seed: int | None = 0,
                         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Samples of X, Y in R^dim with ``corr(X_i, Y_i) = rho`` and independent pairs across i.

    Returns
    -------
    x, y : ndarray of shape (n, dim)
    mi : float
        The exact mutual information ``-dim/2 * ln(1 - rho^2)`` in nats.
    """
    fn = "correlated_gaussians"
    n = check_int("n", n, fn, minimum=1)
    dim = check_int("dim", dim, fn, minimum=1)
    rho = check_float("rho", rho, fn, minimum=-0.999999, maximum=0.999999)
    rng = np.random.default_rng(check_seed("seed", seed, fn, allow_none=True))
    x = rng.standard_normal((n, dim))
    y = rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, dim))
    return x, y, -0.5 * dim * math.log(1.0 - rho**2)


def gaussian_entropy(cov: np.ndarray) -> float:
    """Differential entropy ``0.5 ln det(2 pi e cov)`` in nats of a Gaussian with covariance ``cov``."""
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    sign, logdet = np.linalg.slogdet(2.0 * math.pi * math.e * cov)
    if sign <= 0:
        raise fail("cov", "gaussian_entropy", "a positive definite covariance matrix", cov)
    return 0.5 * float(logdet)
