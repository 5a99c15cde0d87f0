"""Tasks with known mutual information, for validating MI estimators.

The families follow Czyz et al. (2023), "Beyond Normal: On the Evaluation of Mutual Information
Estimators" (v1 and v2 of their benchmark); the parameters here are our own. Each task is a
:class:`KnownMITask`: ``task.sample(n, seed)`` returns ``(x, y)`` of shapes (n, dim_x) and
(n, dim_y), ``task.mi`` is the true MI in nats and ``task.mi_se`` its standard error (0 for a
closed form, the Monte Carlo standard error otherwise).

Families (``task.family``):

- ``gaussian``: jointly Gaussian X, Y; ``dense`` (every pair of the d_x + d_y coordinates has
  correlation ``rho``) or ``sparse`` (``corr(X_i, Y_i) = rho`` for the first ``k`` pairs only).
  ``I = 1/2 (ln det S_x + ln det S_y - ln det S)``.
- ``student_t``: multivariate Student-t with ``dof`` degrees of freedom and scale matrix S; the
  MI is the Gaussian MI of S plus ``g(d_x) + g(d_y) - g(d_x + d_y)``, with
  ``g(d) = ln Gamma(nu/2) - ln Gamma((nu+d)/2) + (nu+d)/2 (psi((nu+d)/2) - psi(nu/2))``
  (Arellano-Valle, Contreras-Reyes & Genton 2013). With S = I the variables are uncorrelated and
  still dependent (through the shared scale).
- ``transformed``: a Gaussian or Student-t task under a per-side injective smooth map, which
  leaves the MI unchanged: ``half_cube`` (``sign(x) |x|^1.5``), ``normal_cdf``, ``asinh``,
  ``wiggly`` (``x + 0.4 sin(x) + 0.2 sin(1.7 x + 1)``, strictly increasing), ``bimodal`` (the
  quantile map that turns N(0, 1) into an equal mixture of N(-1.5, 0.5^2) and N(1.5, 0.5^2)),
  ``spiral`` (a rotation of the first two coordinates by an angle growing with ``||x||^2``;
  invertible because it keeps the norm) and ``swiss_roll`` (1-D to 2-D: ``t (cos t, sin t)``
  with ``t = 1.5 pi (1 + 2 Phi(x))``).
- ``embedded``: a low-dimensional task padded with independent noise (or zeros) and mapped by a
  random invertible map into ``dim`` dimensions per side (:func:`embedded_task`; not in
  :func:`known_mi_tasks`).
- ``uniform_noise``: ``X ~ U(0, 1)``, ``Y = X + U(-eps, eps)``; ``I = eps - ln(2 eps)`` for
  ``eps <= 1/2`` and ``1 / (4 eps)`` above.
- ``mixture``: 2-D Gaussian mixtures with one-dimensional X and Y (shapes ``x``, ``waves``,
  ``galaxy``, ``concentric``, ``outliers``, ``ai``); the marginals are 1-D mixtures, so
  ``ln p(x, y) - ln p(x) - ln p(y)`` is exact and its mean over 200,000 draws is the truth,
  with its standard error.

References
----------
P. Czyz, F. Grabowski, J. E. Vogt, N. Beerenwinkel and A. Marx, "Beyond Normal: On the
Evaluation of Mutual Information Estimators", NeurIPS 2023.
G. Gowri, X. Lun, A. M. Klein and P. Yin, "Approximating mutual information of high-dimensional
variables using learned representations", NeurIPS 2024.
R. B. Arellano-Valle, J. E. Contreras-Reyes and M. G. Genton, "Shannon entropy and mutual
information for multivariate skew-elliptical distributions", Scand. J. Stat. 40 (2013) 42-62.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from infolens._validation import check_choice, check_float, check_int, fail

Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
Transform = Callable[[np.ndarray], np.ndarray]

#: Monte Carlo draws behind the truth of a mixture task.
MIXTURE_MC_DRAWS = 200_000


@dataclass(frozen=True)
class KnownMITask:
    """Samples of (X, Y) with a known mutual information.

    Attributes
    ----------
    name : str
    family : str
        ``gaussian``, ``student_t``, ``transformed``, ``embedded``, ``uniform_noise`` or ``mixture``.
    dim_x, dim_y : int
    mi : float
        The true MI in nats.
    mi_se : float
        Standard error of ``mi`` in nats (0 for a closed form).
    """

    name: str
    family: str
    dim_x: int
    dim_y: int
    mi: float
    mi_se: float = 0.0
    sampler: Sampler = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def sample(self, n: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` paired samples: ``x`` of shape (n, dim_x) and ``y`` of shape (n, dim_y)."""
        n = check_int("n", n, "KnownMITask.sample", minimum=1)
        x, y = self.sampler(n, np.random.default_rng(seed))
        return x.reshape(n, self.dim_x), y.reshape(n, self.dim_y)


def _log_det(matrix: np.ndarray) -> float:
    return float(np.linalg.slogdet(matrix)[1])


def _gaussian_mi(cov: np.ndarray, dim_x: int) -> float:
    return 0.5 * (_log_det(cov[:dim_x, :dim_x]) + _log_det(cov[dim_x:, dim_x:]) - _log_det(cov))


def _scale_matrix(dim_x: int, dim_y: int, structure: str, rho: float, k: int, fn: str) -> np.ndarray:
    dim = dim_x + dim_y
    if structure == "dense":
        cov = np.full((dim, dim), rho)
        np.fill_diagonal(cov, 1.0)
    elif structure == "sparse":
        cov = np.eye(dim)
        for i in range(min(k, dim_x, dim_y)):
            cov[i, dim_x + i] = cov[dim_x + i, i] = rho
    else:
        cov = np.eye(dim)
    if np.linalg.eigvalsh(cov)[0] <= 0:
        raise fail("rho", fn, "a correlation giving a positive definite matrix", rho)
    return cov


def _check_dims(dim_x: int, dim_y: int, fn: str) -> tuple[int, int]:
    return check_int("dim_x", dim_x, fn, minimum=1), check_int("dim_y", dim_y, fn, minimum=1)


def gaussian_task(dim_x: int, dim_y: int, structure: str = "dense", rho: float = 0.5,
                  k: int = 2) -> KnownMITask:
    """Jointly Gaussian X (dim_x) and Y (dim_y) with unit variances.

    Parameters
    ----------
    structure : {"dense", "sparse"}
        ``dense``: every pair of coordinates has correlation ``rho``; ``sparse``: only
        ``(X_i, Y_i)`` for ``i < k``.
    """
    fn = "gaussian_task"
    dim_x, dim_y = _check_dims(dim_x, dim_y, fn)
    structure = check_choice("structure", structure, ["dense", "sparse"], fn)
    rho = check_float("rho", rho, fn, minimum=-0.999, maximum=0.999)
    k = check_int("k", k, fn, minimum=1)
    cov = _scale_matrix(dim_x, dim_y, structure, rho, k, fn)
    chol = np.linalg.cholesky(cov)

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, dim_x + dim_y)) @ chol.T
        return z[:, :dim_x], z[:, dim_x:]

    return KnownMITask(f"gaussian-{structure}-{dim_x}x{dim_y}", "gaussian", dim_x, dim_y,
                       _gaussian_mi(cov, dim_x), 0.0, sampler)


def _student_g(d: int, dof: float) -> float:
    half = 0.5 * dof
    return (float(special.gammaln(half) - special.gammaln(half + 0.5 * d))
            + (half + 0.5 * d) * float(special.digamma(half + 0.5 * d) - special.digamma(half)))


def student_t_mi(dim_x: int, dim_y: int, dof: float, scale: np.ndarray | None = None) -> float:
    """MI in nats between the two blocks of a multivariate Student-t (Arellano-Valle et al. 2013).

    ``scale`` is the (dim_x + dim_y) scale matrix (identity if None).
    """
    cov = np.eye(dim_x + dim_y) if scale is None else np.asarray(scale, dtype=np.float64)
    return (_gaussian_mi(cov, dim_x) + _student_g(dim_x, dof) + _student_g(dim_y, dof)
            - _student_g(dim_x + dim_y, dof))


def student_t_task(dim_x: int, dim_y: int, dof: float = 2.0, structure: str = "identity",
                   rho: float = 0.5, k: int = 2) -> KnownMITask:
    """Multivariate Student-t (X, Y) with ``dof`` degrees of freedom: ``Z / sqrt(W / dof)``.

    ``structure`` is ``identity`` (uncorrelated, dependent only through the shared scale),
    ``dense`` or ``sparse`` (as in :func:`gaussian_task`) for the scale matrix.
    """
    fn = "student_t_task"
    dim_x, dim_y = _check_dims(dim_x, dim_y, fn)
    dof = check_float("dof", dof, fn, minimum=0.0, strict_minimum=True)
    structure = check_choice("structure", structure, ["identity", "dense", "sparse"], fn)
    scale = _scale_matrix(dim_x, dim_y, structure, rho, k, fn)
    chol = np.linalg.cholesky(scale)

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, dim_x + dim_y)) @ chol.T
        z /= np.sqrt(rng.chisquare(dof, size=(n, 1)) / dof)
        return z[:, :dim_x], z[:, dim_x:]

    label = "" if structure == "identity" else f"-{structure}"
    return KnownMITask(f"student-t{label}-dof{dof:g}-{dim_x}x{dim_y}", "student_t", dim_x, dim_y,
                       student_t_mi(dim_x, dim_y, dof, scale), 0.0, sampler)


def _half_cube(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.abs(x) ** 1.5


def _wiggly(x: np.ndarray) -> np.ndarray:
    return x + 0.4 * np.sin(x) + 0.2 * np.sin(1.7 * x + 1.0)  # derivative >= 1 - 0.4 - 0.34 > 0


_BIMODAL_GRID = np.linspace(-5.0, 5.0, 4001)
_BIMODAL_CDF = 0.5 * (special.ndtr((_BIMODAL_GRID + 1.5) / 0.5) + special.ndtr((_BIMODAL_GRID - 1.5) / 0.5))


def _bimodal(x: np.ndarray) -> np.ndarray:
    """The quantile function of 0.5 N(-1.5, 0.25) + 0.5 N(1.5, 0.25) at Phi(x) (interpolated)."""
    return np.interp(special.ndtr(x), _BIMODAL_CDF, _BIMODAL_GRID)


def _spiral(x: np.ndarray, speed: float = 0.5) -> np.ndarray:
    """Rotate the first two coordinates by ``speed * ||x||^2`` radians (norm preserved)."""
    angle = speed * np.sum(x**2, axis=1)
    out = x.copy()
    out[:, 0] = np.cos(angle) * x[:, 0] - np.sin(angle) * x[:, 1]
    out[:, 1] = np.sin(angle) * x[:, 0] + np.cos(angle) * x[:, 1]
    return out


def _swiss_roll(x: np.ndarray) -> np.ndarray:
    t = 1.5 * math.pi * (1.0 + 2.0 * special.ndtr(x[:, 0]))
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 10.0


#: Per-side maps that keep the MI: name -> (map, output dimension for a given input dimension).
TRANSFORMS: dict[str, tuple[Transform, Callable[[int], int]]] = {
    "half_cube": (_half_cube, lambda d: d),
    "normal_cdf": (special.ndtr, lambda d: d),
    "asinh": (np.arcsinh, lambda d: d),
    "wiggly": (_wiggly, lambda d: d),
    "bimodal": (_bimodal, lambda d: d),
    "spiral": (_spiral, lambda d: d),
    "swiss_roll": (_swiss_roll, lambda d: 2),
}


def transformed_task(base: KnownMITask, transform: str, sides: str = "both") -> KnownMITask:
    """``base`` with a per-side MI-preserving map (see :data:`TRANSFORMS`) applied to X, Y or both.

    ``spiral`` needs at least 2 dimensions on a transformed side; ``swiss_roll`` exactly 1.
    """
    fn = "transformed_task"
    transform = check_choice("transform", transform, list(TRANSFORMS), fn)
    sides = check_choice("sides", sides, ["x", "y", "both"], fn)
    mapping, out_dim = TRANSFORMS[transform]
    on_x, on_y = sides in ("x", "both"), sides in ("y", "both")
    for side, dim, mapped in (("x", base.dim_x, on_x), ("y", base.dim_y, on_y)):
        if mapped and ((transform == "spiral" and dim < 2) or (transform == "swiss_roll" and dim != 1)):
            raise fail("base", fn, f"a {transform}-compatible dimension on side {side}",
                       got=f"dimension {dim}")

    offset = zlib.crc32(f"{transform}{sides}".encode())  # each transform gets its own draws

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = base.sample(n, seed=(int(rng.integers(2**32)) + offset) % 2**32)
        return (mapping(x) if on_x else x), (mapping(y) if on_y else y)

    side_label = "" if sides == "both" else f"[{sides}]"
    return KnownMITask(f"{transform}{side_label}({base.name})", "transformed",
                       out_dim(base.dim_x) if on_x else base.dim_x,
                       out_dim(base.dim_y) if on_y else base.dim_y, base.mi, base.mi_se, sampler)


def _random_embedding(dim: int, rng: np.random.Generator) -> Transform:
    """A random invertible map of R^dim: rotation, :func:`_wiggly` per coordinate, scaled rotation."""
    first = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    second = np.linalg.qr(rng.standard_normal((dim, dim)))[0] * rng.uniform(0.5, 2.0, dim)
    return lambda u: _wiggly(u @ first) @ second


def embedded_task(base: KnownMITask, dim: int = 100, seed: int = 0,
                  padding: str = "noise") -> KnownMITask:
    """``base`` embedded in ``dim`` dimensions on each side by a random invertible map.

    Each side's sample is padded up to ``dim`` coordinates and passed through its own random map
    (a rotation, the strictly increasing :func:`_wiggly` on every coordinate, a rotation with
    scales in [0.5, 2]), which is a bijection of R^dim, so the MI is ``base.mi``.

    ``padding="noise"`` pads with independent N(0, 1) coordinates: the data fill all ``dim``
    dimensions and the dependence hides in one nonlinear direction among them, where k-NN
    estimators fail. ``padding="zeros"`` pads with zeros: the data lie on a ``base.dim_x``-
    dimensional curved manifold of R^dim (the setting of Gowri et al. 2024, whose latent MI
    assumes low intrinsic dimension). ``seed`` fixes the maps.
    """
    fn = "embedded_task"
    dim = check_int("dim", dim, fn, minimum=max(base.dim_x, base.dim_y))
    padding = check_choice("padding", padding, ["noise", "zeros"], fn)
    maps = np.random.default_rng(check_int("seed", seed, fn, minimum=0))
    map_x, map_y = _random_embedding(dim, maps), _random_embedding(dim, maps)
    pad = (lambda rng, shape: rng.standard_normal(shape)) if padding == "noise" else (
        lambda rng, shape: np.zeros(shape))

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = base.sample(n, seed=int(rng.integers(2**32)))
        pad_x, pad_y = pad(rng, (n, dim - base.dim_x)), pad(rng, (n, dim - base.dim_y))
        return map_x(np.hstack([x, pad_x])), map_y(np.hstack([y, pad_y]))

    label = "" if padding == "noise" else "-curve"
    return KnownMITask(f"embedded{dim}{label}({base.name})", "embedded", dim, dim, base.mi,
                       base.mi_se, sampler)


def uniform_noise_task(eps: float = 0.1) -> KnownMITask:
    """``X ~ U(0, 1)`` and ``Y = X + N`` with ``N ~ U(-eps, eps)``: I = eps - ln(2 eps) (eps <= 1/2)
    or 1 / (4 eps) (eps >= 1/2), in nats."""
    eps = check_float("eps", eps, "uniform_noise_task", minimum=0.0, strict_minimum=True)
    mi = eps - math.log(2.0 * eps) if eps <= 0.5 else 1.0 / (4.0 * eps)

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, n)
        return x, x + rng.uniform(-eps, eps, n)

    return KnownMITask(f"uniform-noise-eps{eps:g}", "uniform_noise", 1, 1, mi, 0.0, sampler)


def _mixture_log_pdf(points: np.ndarray, weights: np.ndarray, means: np.ndarray,
                     covs: np.ndarray) -> np.ndarray:
    """ln of a Gaussian mixture density at ``points`` (n, d); components (K,), (K, d), (K, d, d)."""
    d = points.shape[1]
    terms = np.empty((len(weights), len(points)))
    for i, (w, m, c) in enumerate(zip(weights, means, covs, strict=True)):
        centred = points - m
        mahalanobis = np.einsum("ni,ij,nj->n", centred, np.linalg.inv(c), centred)
        terms[i] = math.log(w) - 0.5 * (mahalanobis + _log_det(c) + d * math.log(2.0 * math.pi))
    peak = terms.max(axis=0)
    return peak + np.log(np.exp(terms - peak).sum(axis=0))


def mixture_task(name: str, weights: np.ndarray, means: np.ndarray, covs: np.ndarray,
                 mc_draws: int = MIXTURE_MC_DRAWS, mc_seed: int = 12345) -> KnownMITask:
    """A 2-D Gaussian mixture (X, Y) with a Monte Carlo truth and its standard error.

    Parameters
    ----------
    weights : array of shape (K,), positive, summing to 1
    means : array of shape (K, 2)
    covs : array of shape (K, 2, 2), positive definite
    """
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    means = np.asarray(means, dtype=np.float64)
    covs = np.asarray(covs, dtype=np.float64)
    chols = np.linalg.cholesky(covs)

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        comp = rng.choice(len(weights), size=n, p=weights)
        z = means[comp] + np.einsum("nij,nj->ni", chols[comp], rng.standard_normal((n, 2)))
        return z[:, 0], z[:, 1]

    x, y = sampler(mc_draws, np.random.default_rng(mc_seed))
    joint = _mixture_log_pdf(np.stack([x, y], axis=1), weights, means, covs)
    log_px = _mixture_log_pdf(x[:, None], weights, means[:, :1], covs[:, :1, :1])
    log_py = _mixture_log_pdf(y[:, None], weights, means[:, 1:], covs[:, 1:, 1:])
    pmi = joint - log_px - log_py
    return KnownMITask(f"mixture-{name}", "mixture", 1, 1, float(pmi.mean()),
                       float(pmi.std(ddof=1) / math.sqrt(mc_draws)), sampler)


def _isotropic(k: int, var: float) -> np.ndarray:
    return np.repeat((var * np.eye(2))[None], k, axis=0)


def _correlated(var_x: float, var_y: float, rho: float) -> np.ndarray:
    cov = rho * math.sqrt(var_x * var_y)
    return np.array([[var_x, cov], [cov, var_y]])


@functools.cache
def _mixtures() -> tuple[KnownMITask, ...]:
    arms = np.linspace(0.3, 3.0, 10)
    galaxy = np.concatenate([np.stack([arms * np.cos(arms + a), arms * np.sin(arms + a)], axis=1)
                             for a in (0.0, math.pi)])
    angles = np.linspace(0.0, 2 * math.pi, 12, endpoint=False)
    rings = np.concatenate([r * np.stack([np.cos(angles), np.sin(angles)], axis=1) for r in (1.0, 3.0)])
    wave_x = np.linspace(-3.0, 3.0, 13)
    waves = np.stack([wave_x, np.sin(2.0 * wave_x)], axis=1)
    letters = np.array([[-3.0, -2.0], [-2.5, -1.0], [-2.0, 0.0], [-1.5, 1.0], [-1.0, 2.0], [-0.5, 1.0],
                        [0.0, 0.0], [0.5, -1.0], [1.0, -2.0], [-1.75, 0.0], [-0.25, 0.0],
                        [2.5, -2.0], [2.5, -1.0], [2.5, 0.0], [2.5, 1.0], [2.5, 2.0]])
    return (
        mixture_task("x", [0.5, 0.5], [[0, 0], [0, 0]],
                     np.stack([_correlated(1.0, 1.0, 0.9), _correlated(1.0, 1.0, -0.9)])),
        mixture_task("waves", np.ones(13), waves, _isotropic(13, 0.05)),
        mixture_task("galaxy", np.ones(len(galaxy)), galaxy, _isotropic(len(galaxy), 0.04)),
        mixture_task("concentric", np.ones(len(rings)), rings, _isotropic(len(rings), 0.05)),
        mixture_task("ai", np.ones(len(letters)), letters, _isotropic(len(letters), 0.03)),
        mixture_task("outliers", [0.9, 0.1], [[0, 0], [0, 0]],
                     np.stack([_correlated(1.0, 1.0, 0.8), _correlated(9.0, 9.0, 0.0)])),
    )


def known_mi_tasks() -> list[KnownMITask]:
    """The standard suite (46 tasks, 1 to 50 dimensions per side) used by ``benchmarks/mi_accuracy.py``.

    The mixture truths (Monte Carlo averages over 200,000 draws) are computed once per process.
    """
    gaussians = [gaussian_task(d, d, "dense", 0.5) for d in (1, 2, 3, 5, 10, 25, 50)]
    gaussians.append(gaussian_task(5, 25, "dense", 0.3))
    sparse = [gaussian_task(d, d, "sparse", 0.8, k=2) for d in (2, 3, 5, 10, 25, 50)]
    students = [student_t_task(1, 1, 1.0), student_t_task(2, 2, 1.0), student_t_task(2, 2, 2.0),
                student_t_task(3, 3, 2.0), student_t_task(5, 5, 2.0), student_t_task(5, 5, 3.0),
                student_t_task(3, 3, 3.0, "sparse", rho=0.8), student_t_task(2, 2, 3.0, "dense")]
    base_1 = gaussian_task(1, 1, "dense", 0.75)
    base_3 = gaussian_task(3, 3, "sparse", 0.8)
    base_25 = gaussian_task(25, 25, "sparse", 0.8)
    transformed = [transformed_task(base, name) for base in (base_1, base_3)
                   for name in ("half_cube", "normal_cdf", "asinh")]
    transformed += [transformed_task(base_25, "half_cube"), transformed_task(base_25, "asinh"),
                    transformed_task(students[0], "asinh"), transformed_task(students[3], "normal_cdf"),
                    transformed_task(base_1, "wiggly"), transformed_task(base_1, "bimodal"),
                    transformed_task(base_1, "swiss_roll", sides="x"),
                    transformed_task(gaussian_task(2, 2, "sparse", 0.8), "spiral"),
                    transformed_task(base_3, "spiral"),
                    transformed_task(gaussian_task(5, 5, "sparse", 0.8), "spiral")]
    noise = [uniform_noise_task(0.1), uniform_noise_task(0.75)]
    return [*gaussians, *sparse, *students, *transformed, *noise, *_mixtures()]
