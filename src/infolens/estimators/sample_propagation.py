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
in ``[0, ln n]``. The information plane (:func:`layer_information`) estimates both differences on
one set of draws, draw by draw, so the Monte Carlo noise of the entropies cancels. Each ``-ln g``
is a log-sum-exp over the n centres computed in blocks
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


def _stratified(n: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` indices into ``0 .. n-1`` running through random permutations (each used about equally)."""
    return np.concatenate([rng.permutation(n) for _ in range(-(-draws // n))])[:draws]


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
    order = _stratified(n, n_mc, rng)
    kernels = CentreKernels(centres, [scale], spread=sigma)
    values = np.empty(n_mc)
    for start in range(0, n_mc, CHUNK):
        index = torch.from_numpy(order[start:start + CHUNK]).to(centres.device)
        queries = torch.from_numpy(rng.standard_normal((len(index), d))).to(centres.device)
        queries.mul_(sigma).add_(centres[index])
        values[start:start + CHUNK] = (offset - kernels.log_sums(queries)[0]).cpu().numpy()
    return float(values.mean()), float(values.std(ddof=1)) / math.sqrt(n_mc)


def _own_log_mixture(own: torch.Tensor, member: torch.Tensor, noise: torch.Tensor,
                     scale: float) -> torch.Tensor:
    """``ln sum_r exp(-scale |q - c_r|^2)`` over each query's own input's k centres ``c_1 .. c_k``.

    ``own`` has shape (rows, k, d), ``member`` the centre (rows,) each query ``q = c_member + noise``
    was drawn around. The differences ``q - c_r = (c_member - c_r) + noise`` are formed directly,
    so no cancellation occurs however far the layer is from 0.
    """
    drawn = own[torch.arange(own.shape[0], device=own.device), member]
    diff = (drawn[:, None, :] - own).add_(noise[:, None, :])
    return torch.logsumexp(-scale * (diff * diff).sum(dim=2), dim=1)


def layer_information(centres: torch.Tensor, y: np.ndarray, n_classes: int, sigma: float,
                      n_mc: int | None, seed: int, *,
                      shuffled: np.ndarray | None = None) -> dict[str, float]:
    """``I(X;T)`` and ``I(T;Y)`` in nats of a noisy layer, with their Monte Carlo errors.

    Both are expectations over the noisy layer itself, estimated on the *same* draws
    ``t = c + sigma z`` (common random numbers; ``c`` a centre of a uniformly drawn input)::

        I(X;T) = E[ln g_X(t) - ln g(t)],   I(T;Y) = E[ln g_Y(t) - ln g(t)]

    where ``g`` is the mixture over all centres, ``g_X`` the mixture over the centres of the input
    the draw came from (the Gaussian ``phi_sigma(z)`` when k = 1) and ``g_Y`` the mixture over the
    centres of its class. This is ``h(T) - h(T|X)`` and ``h(T) - h(T|Y)`` of sample propagation
    (Goldfeld et al. 2019), but the noise of the three entropies cancels draw by draw: each
    summand is at most ``ln n`` (resp. ``-ln p(y)``), and the Monte Carlo error is that of a
    difference of log-densities, not of a differential entropy (which grows with the width d).

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
        Monte Carlo draws (default one per input, at least 1,000), spread evenly over the inputs.
    seed : int
        Seed of the draws.
    shuffled : int array of shape (n,), optional
        Other labels of the same inputs (a permutation of ``y``): their ``I(T;Y)`` on the same
        draws is returned too, as ``I_TY_shuffled`` (the shuffled-label baseline of the
        information plane). It reuses ``g`` and costs one more class mixture per draw: about
        ``1 + 1 / (C + 1)`` times the time for C balanced classes.

    Returns
    -------
    dict
        ``I_XT``, ``I_TY`` and their standard errors ``I_XT_stderr``, ``I_TY_stderr``, in nats
        (and ``I_TY_shuffled`` with ``shuffled``).
    """
    n, k, d = centres.shape
    rng = np.random.default_rng(seed)
    draws = n_mc or default_n_mc(n)
    scale = 1.0 / (2.0 * sigma * sigma)
    inputs = _stratified(n, draws, rng)
    members = rng.integers(0, k, draws)
    labels = np.asarray(y)
    everything = CentreKernels(centres.reshape(-1, d), [scale], spread=sigma)

    def classes_of(labels: np.ndarray) -> tuple[np.ndarray, dict[int, CentreKernels]]:
        counts = np.bincount(labels, minlength=n_classes)
        return counts, {int(c): CentreKernels(centres[torch.from_numpy(np.flatnonzero(labels == c)).to(
            centres.device)].reshape(-1, d), [scale], spread=sigma) for c in np.flatnonzero(counts)}

    labellings = [np.asarray(y)] + ([] if shuffled is None else [np.asarray(shuffled)])
    kernels_of = [classes_of(labels) for labels in labellings]
    # normalising constants: the Gaussian's cancels; the mixtures' weights 1/(n k), 1/k, 1/(n_y k)
    given_x = np.empty(draws)
    given = [np.empty(draws) for _ in labellings]
    for start in range(0, draws, CHUNK):
        stop = min(start + CHUNK, draws)
        index = torch.from_numpy(inputs[start:stop]).to(centres.device)
        member = torch.from_numpy(members[start:stop]).to(centres.device)
        noise = torch.from_numpy(rng.standard_normal((stop - start, d))).to(centres.device).mul_(sigma)
        own = centres[index]
        queries = own[torch.arange(stop - start, device=centres.device), member] + noise
        log_all = everything.log_sums(queries)[0].cpu().numpy() - math.log(n * k)
        given_x[start:stop] = _own_log_mixture(own, member, noise, scale).cpu().numpy() - math.log(k)
        given_x[start:stop] -= log_all
        for labels, (counts, by_class), given_y in zip(labellings, kernels_of, given, strict=True):
            classes = labels[inputs[start:stop]]
            for c, kernels in by_class.items():
                rows = np.flatnonzero(classes == c)
                if len(rows):
                    log_class = kernels.log_sums(queries[torch.from_numpy(rows).to(centres.device)])[0]
                    given_y[start + rows] = (log_class.cpu().numpy() - math.log(counts[c] * k)
                                             - log_all[rows])
    root = math.sqrt(draws)
    out = {"I_XT": float(given_x.mean()), "I_TY": float(given[0].mean()),
           "I_XT_stderr": float(given_x.std(ddof=1)) / root,
           "I_TY_stderr": float(given[0].std(ddof=1)) / root}
    if shuffled is not None:
        out["I_TY_shuffled"] = float(given[1].mean())
    return out


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


__all__ = ["CHUNK", "default_n_mc", "gaussian_mixture_entropy", "layer_information", "mixture_entropy_mc"]
