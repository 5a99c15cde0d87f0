"""Sample propagation (SP): the differential entropy of a Gaussian mixture by Monte Carlo.

A noisy layer ``T = S + Z`` with ``S`` uniform over n centres ``s_1 .. s_n`` (the noise-free
activations ``f(x_i)`` of the n inputs) and ``Z ~ N(0, sigma^2 I_d)`` has the density
``g(t) = 1/n sum_i phi_sigma(t - s_i)``, a mixture of n Gaussians. Goldfeld et al. (2019) estimate
its differential entropy by propagating noisy samples through the mixture::

    h(S + Z) = E[-ln g(T)]  ~  1/M sum_k -ln g(s_{j_k} + z_k),   z_k ~ N(0, sigma^2 I_d)

with ``M = n_mc`` Monte Carlo draws. The centres ``j_k`` run through a random permutation of the n
centres (repeated when ``M > n``), so every centre is used about equally; the reported standard
error ``std(-ln g) / sqrt(M)`` treats the draws as independent, which slightly overstates the
error of this stratified sum (a conservative interval). The estimate has no bias beyond the Monte
Carlo error: ``h`` is the entropy of the mixture on exactly these centres.

From it, with X uniform over the n inputs (``h(T | X) = h(Z)``)::

    I(X; T) = h(T) - d/2 ln(2 pi e sigma^2),   I(T; Y) = h(T) - sum_y p(y) h(T | Y = y)

where ``h(T | Y = y)`` is the entropy of the mixture on the centres of class y. ``I(X;T)`` lies
in ``[0, ln n]``. Each ``-ln g`` is a log-sum-exp over the n centres computed in blocks
(:class:`infolens.estimators._pairwise.CentreKernels`), so memory stays O(block^2 + M) beyond
the data: 5,000 samples of a 1,024-unit layer never form a 5,000 x 5,000 matrix.

References
----------
Z. Goldfeld, E. van den Berg, K. Greenewald, I. Melnyk, N. Nguyen, B. Kingsbury and Y. Polyanskiy,
"Estimating information flow in deep neural networks", ICML 2019.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import torch

from infolens._units import check_units, from_nats
from infolens._validation import (
    _is_tensor,
    as_samples,
    check_float,
    check_int,
    check_probability_level,
    check_seed,
    fail,
)
from infolens.estimators._pairwise import BLOCK, CentreKernels, as_float64
from infolens.estimators.kde import noise_entropy
from infolens.estimators.result import Estimate

#: Monte Carlo queries drawn and evaluated at a time (a chunk of CHUNK x d noise values).
CHUNK = 4 * BLOCK
#: Fewest Monte Carlo draws by default, so that a mixture of few centres still gets an error bar.
MIN_DEFAULT_MC = 1000


def default_n_mc(n: int) -> int:
    """Monte Carlo draws when ``n_mc`` is None: one per centre, at least :data:`MIN_DEFAULT_MC`."""
    return max(n, MIN_DEFAULT_MC)


def mixture_entropy_mc(centres: torch.Tensor, sigma: float, n_mc: int,
                       rng: np.random.Generator) -> tuple[float, float]:
    """``(h, stderr)`` in nats of the mixture of ``N(s_i, sigma^2 I)`` over the rows of ``centres``.

    ``n_mc >= 2`` draws. ``centres`` is a float64 tensor of shape (n, d) (any device); the noise
    is drawn from ``rng`` on the CPU, chunk by chunk, and moved to that device, so a seed gives
    the same draws everywhere.
    """
    n, d = centres.shape
    scale = 1.0 / (2.0 * sigma * sigma)
    # -ln g(t) = ln n + d/2 ln(2 pi sigma^2) - ln sum_i exp(-|t - s_i|^2 / (2 sigma^2))
    offset = math.log(n) + 0.5 * d * math.log(2.0 * math.pi * sigma * sigma)
    order = np.concatenate([rng.permutation(n) for _ in range(-(-n_mc // n))])[:n_mc]
    kernels = CentreKernels(centres, [scale], spread=sigma)
    values = np.empty(n_mc)
    for start in range(0, n_mc, CHUNK):
        index = torch.from_numpy(order[start:start + CHUNK]).to(centres.device)
        queries = torch.from_numpy(rng.standard_normal((len(index), d))).to(centres.device)
        queries.mul_(sigma).add_(centres[index])
        values[start:start + CHUNK] = (offset - kernels.log_sums(queries)[0]).cpu().numpy()
    return float(values.mean()), float(values.std(ddof=1)) / math.sqrt(n_mc)


def conditional_entropy_mc(centres: torch.Tensor, sigma: float, draws: int,
                           rng: np.random.Generator) -> tuple[float, float]:
    """``(1/n sum_i h(T | X = x_i), stderr)`` in nats, ``T | x_i`` the mixture of
    ``N(c_ir, sigma^2 I)`` over the k rows ``c_i1 .. c_ik`` of ``centres[i]`` (shape (n, k, d)).

    ``draws`` Monte Carlo draws per input, stratified over its k centres. Small mixtures, so the
    distances of a block of inputs are one batched GEMM of shape (rows, draws, k), after centring
    each input's centres on their own mean (no cancellation however far the layer is from 0).
    """
    n, k, d = centres.shape
    if k == 1:  # T | x is Gaussian: the entropy of the noise, exactly
        return noise_entropy(d, sigma * sigma), 0.0
    scale = 1.0 / (2.0 * sigma * sigma)
    offset = math.log(k) + 0.5 * d * math.log(2.0 * math.pi * sigma * sigma)
    which = torch.arange(draws, device=centres.device) % k
    values = np.empty((n, draws))
    rows = max(1, BLOCK * BLOCK // (draws * max(k, d)))
    for start in range(0, n, rows):
        c = centres[start:start + rows]
        c = c - c.mean(dim=1, keepdim=True)
        q = torch.from_numpy(rng.standard_normal((c.shape[0], draws, d))).to(c.device)
        q.mul_(sigma).add_(c[:, which, :])
        sq = torch.baddbmm((c * c).sum(dim=2)[:, None, :], q, c.transpose(1, 2), alpha=-2.0)
        sq.add_((q * q).sum(dim=2)[:, :, None]).clamp_(min=0.0)  # |q - c|^2, shape (rows, draws, k)
        values[start:start + rows] = (offset - torch.logsumexp(-scale * sq, dim=2)).cpu().numpy()
    return float(values.mean()), float(values.std(ddof=1)) / math.sqrt(values.size)


def layer_information(centres: torch.Tensor, y: np.ndarray, n_classes: int, sigma: float,
                      n_mc: int | None, seed: int) -> dict[str, float]:
    """``I(X;T)`` and ``I(T;Y)`` in nats of a noisy layer, with their Monte Carlo errors.

    Parameters
    ----------
    centres : float64 tensor of shape (n, k, d)
        ``k`` noise-free activations of each of the n inputs (k >= 1 recording passes of a network
        whose earlier layers are noisy; k = 1 for the first noisy layer, or a noise-free network).
    y : int array of shape (n,)
        Labels 0 .. n_classes - 1.
    sigma : float
        Standard deviation of the layer's own noise.
    n_mc : int or None
        Monte Carlo draws for ``h(T)`` and each ``h(T | Y = c)`` (default: one per input, at least
        1,000); ``h(T | X)`` takes ``max(k, 16)`` draws per input.
    seed : int
        Seed of the noise draws; each entropy draws from its own child of ``SeedSequence(seed)``.

    Returns
    -------
    dict
        ``I_XT``, ``I_TY`` and their standard errors ``I_XT_stderr``, ``I_TY_stderr``, in nats.
        ``I(X;T) = h(T) - 1/n sum_i h(T | x_i)`` and ``I(T;Y) = h(T) - sum_c p(c) h(T | c)``, each
        h the entropy of the mixture on the centres it conditions on.
    """
    n, k, d = centres.shape
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_classes + 2)]

    def entropy(rows: torch.Tensor, stream: np.random.Generator, n_inputs: int) -> tuple[float, float]:
        draws = n_mc or default_n_mc(n_inputs)
        return mixture_entropy_mc(rows.reshape(-1, d), sigma, draws, stream)

    h_t, se_t = entropy(centres, streams[0], n)
    h_tx, se_tx = conditional_entropy_mc(centres, sigma, max(k, 16), streams[1])
    weights = np.bincount(y, minlength=n_classes) / n
    h_ty = var_ty = 0.0
    for c in np.flatnonzero(weights):
        rows = centres[torch.from_numpy(np.flatnonzero(y == c)).to(centres.device)]
        h_c, se_c = entropy(rows, streams[c + 2], len(rows))
        h_ty += weights[c] * h_c
        var_ty += (weights[c] * se_c) ** 2
    return {"I_XT": h_t - h_tx, "I_TY": h_t - h_ty,
            "I_XT_stderr": math.hypot(se_t, se_tx), "I_TY_stderr": math.sqrt(se_t**2 + var_ty)}


def _check_centres(centres: Any, fn: str) -> torch.Tensor:
    """Centres as a finite float64 tensor of shape (n, d), n >= 1, on their own device."""
    if _is_tensor(centres):
        if centres.ndim not in (1, 2) or centres.shape[0] < 1 or centres.is_complex() \
                or centres.device.type == "meta" or (centres.ndim == 2 and centres.shape[1] == 0):
            raise fail("centres", fn, "a real tensor of shape (n,) or (n, d) with n >= 1", centres)
        tensor = as_float64(centres)
        if not bool(torch.isfinite(tensor).all()):
            raise fail("centres", fn, "finite (no NaN or inf)", centres)
        return tensor
    return as_float64(as_samples(centres, "centres", fn, min_samples=1))


def gaussian_mixture_entropy(centres: Any, sigma: float, *, n_mc: int | None = None,
                             random_state: int | None = None, units: str = "bits",
                             ci: float = 0.95) -> Estimate:
    """Differential entropy of ``S + Z`` by sample propagation (Goldfeld et al. 2019).

    ``S`` is uniform over the rows of ``centres`` and ``Z ~ N(0, sigma^2 I_d)``: the entropy of the
    noisy layer ``T = f(X) + Z`` of a network with :class:`~infolens.GaussianNoise`, when the
    centres are the noise-free activations ``f(x_i)``.

    Parameters
    ----------
    centres : array-like or tensor of shape (n,) or (n, d)
        Mixture centres (tensors are used on their own device, in float64).
    sigma : float
        Standard deviation of the Gaussian noise (> 0), in the units of ``centres``.
    n_mc : int, optional
        Monte Carlo draws (>= 2); default one per centre and at least 1,000. The standard error
        shrinks as ``1 / sqrt(n_mc)``; the cost is ``n_mc x n x d`` multiply-adds.
    random_state : int, optional
        Seed of the noise draws; None draws fresh noise on every call.
    units : {"bits", "nats"}
    ci : float
        Level of the reported normal interval ``value +- z * stderr`` (Monte Carlo error only:
        the centres are taken as the exact mixture).

    Returns
    -------
    Estimate
        ``value`` is ``h(S + Z)`` in ``units`` (a differential entropy: negative for small
        ``sigma``); ``ci`` the Monte Carlo interval; ``details`` hold ``stderr`` and
        ``noise_entropy`` (``d/2 log(2 pi e sigma^2)``) in ``units`` and ``n_mc``, so
        ``value - details["noise_entropy"]`` is ``I(X; T)`` for X uniform over the centres.

    Examples
    --------
    >>> import infolens as il
    >>> est = il.gaussian_mixture_entropy([[0.0], [100.0]], 1.0, random_state=0, units="nats")
    >>> round(est.value - est.details["noise_entropy"], 2)   # two far-apart centres: ln 2
    0.69
    """
    fn = "gaussian_mixture_entropy"
    units = check_units(units, fn)
    sigma = check_float("sigma", sigma, fn, minimum=0.0, strict_minimum=True)
    tensor = _check_centres(centres, fn)
    n, d = tensor.shape
    n_mc = default_n_mc(n) if n_mc is None else check_int("n_mc", n_mc, fn, minimum=2)
    seed = check_seed("random_state", random_state, fn, allow_none=True)
    level = check_probability_level("ci", ci, fn)
    h, stderr = mixture_entropy_mc(tensor, sigma, n_mc, np.random.default_rng(seed))
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return Estimate(
        value=float(from_nats(h, units)), units=units, quantity="entropy",
        method="sample_propagation",
        params={"sigma": sigma, "n_mc": n_mc, "random_state": seed}, n_samples=n, n_used=n,
        ci=(float(from_nats(h - z * stderr, units)), float(from_nats(h + z * stderr, units))),
        ci_level=level,
        details={"stderr": float(from_nats(stderr, units)), "n_mc": n_mc,
                 "noise_entropy": float(from_nats(noise_entropy(d, sigma * sigma), units))},
    )


__all__ = ["CHUNK", "conditional_entropy_mc", "default_n_mc", "gaussian_mixture_entropy",
           "layer_information", "mixture_entropy_mc"]
