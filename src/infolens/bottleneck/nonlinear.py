"""The nonlinear information bottleneck (Kolchinsky, Tracey & Wolpert 2019).

A deterministic network computes ``h = f(x)``; the bottleneck variable is ``T = h + eps`` with
``eps ~ N(0, sigma^2 I)`` and a *trainable* noise variance (:class:`GaussianNoise`). For the
empirical distribution (X uniform over the N inputs of a batch), ``T`` is a mixture of N Gaussians
and ``I(X; T) = H(T) - H(T | X)`` is bounded above by the pairwise-distance (KL) estimator of
Kolchinsky & Tracey (2017)::

    I(X; T) <= -1/N sum_i log 1/N sum_j exp(-||h_i - h_j||^2 / (2 sigma^2))      (nats)

(:func:`kde_mi_upper_bound`; at most ``log N``), which is differentiable in ``h`` and ``sigma``.
A decoder ``q(y | t)`` gives ``I(T; Y) >= H(Y) - CE``. :class:`NonlinearIBLoss` minimizes
``CE + beta * I_hat(X; T)``, or ``CE + beta * I_hat(X; T)^2`` (the *squared* IB): when Y is a
deterministic function of X, the IB curve is a straight line up to ``H(Y)`` and the plain
Lagrangian only finds its two ends, whereas the squared functional (any strictly convex function of
I(X;T)) reaches every point of the curve as beta varies (Kolchinsky, Tracey & Van Kuyk 2019).

The same bound without gradients, on whole data sets, is :func:`infolens.estimators.kde.mi_identity_kde`
(the KDE information plane of Saxe et al. 2018); the tests check that the two agree.

References
----------
A. Kolchinsky, B. D. Tracey and D. H. Wolpert, "Nonlinear information bottleneck", Entropy 21
(2019) 1181.
A. Kolchinsky and B. D. Tracey, "Estimating mixture entropy with pairwise distances", Entropy 19
(2017) 361.
A. Kolchinsky, B. D. Tracey and S. Van Kuyk, "Caveats for information bottleneck in deterministic
scenarios", ICLR 2019.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from infolens._units import LN2
from infolens._validation import check_finite_loss, check_float, check_tensor, fail, to_numpy
from infolens.measures import entropy

__all__ = ["GaussianNoise", "NonlinearIBLoss", "NonlinearIBTerms", "kde_mi_upper_bound"]


class GaussianNoise(nn.Module):
    """Adds isotropic Gaussian noise ``N(0, exp(log_var) I)`` with a trainable log-variance.

    Noise is added in training and evaluation alike: the bottleneck variable is the noisy one.

    Parameters
    ----------
    init_log_var : float
        Initial ``log sigma^2`` (natural log).
    trainable : bool
        Learn the variance (the nonlinear IB does), or keep it fixed.
    """

    def __init__(self, init_log_var: float = 0.0, trainable: bool = True) -> None:
        super().__init__()
        value = torch.tensor(check_float("init_log_var", init_log_var, "GaussianNoise"))
        if trainable:
            self.log_var = nn.Parameter(value)
        else:
            self.register_buffer("log_var", value)

    def forward(self, h: Tensor) -> Tensor:
        """``h + sigma * eps`` with ``eps ~ N(0, I)`` (reparameterized)."""
        std = torch.exp(0.5 * self.log_var).to(h.dtype)
        return h + std * torch.randn_like(h)


def kde_mi_upper_bound(h: Tensor, log_var: Tensor | float) -> Tensor:
    """Pairwise-KL upper bound on ``I(X; h + N(0, sigma^2 I))`` in nats, X uniform over the rows.

    ``-1/N sum_i log 1/N sum_j exp(-||h_i - h_j||^2 / (2 sigma^2))``, differentiable in ``h`` and
    ``log_var = log sigma^2``; 0 when all rows coincide, ``log N`` when they are far apart.

    Parameters
    ----------
    h : Tensor of shape (N, d)
        Noise-free representations of a batch.
    log_var : Tensor or float
        Natural log of the noise variance.
    """
    if not isinstance(h, Tensor) or h.ndim != 2 or h.shape[0] < 1:
        raise fail("h", "kde_mi_upper_bound", "a tensor of shape (N, d) with N >= 1", h)
    log_var = torch.as_tensor(log_var, dtype=h.dtype, device=h.device)
    sq = (h[:, None, :] - h[None, :, :]).pow(2).sum(dim=-1)  # exact, and smooth at zero distance
    log_kernel = -sq / (2.0 * torch.exp(log_var))
    n = h.shape[0]
    return -(torch.logsumexp(log_kernel, dim=1) - math.log(n)).mean()


@dataclass(frozen=True)
class NonlinearIBTerms:
    """The terms of the last :class:`NonlinearIBLoss` call, in bits (floats, detached).

    ``i_xt_bits`` is the pairwise-KL upper bound on I(X; T) over the batch; ``i_ty_bits =
    h_y_bits - cross_entropy_bits`` the lower bound on I(T; Y); ``noise_var`` the current variance;
    ``loss`` in nats, as optimized.
    """

    i_xt_bits: float
    cross_entropy_bits: float
    h_y_bits: float
    i_ty_bits: float
    noise_var: float
    loss: float


class NonlinearIBLoss(nn.Module):
    """``CE + beta * I_hat(X;T)`` (or ``+ beta * I_hat(X;T)^2`` with ``squared=True``), in nats.

    Parameters
    ----------
    beta : float >= 0
    squared : bool
        The squared-IB functional, which explores the whole IB curve when labels are a
        deterministic function of the input.
    class_prior : array-like, optional
        ``p(y)`` for ``H(Y)``; default the label frequencies of each batch.
    """

    def __init__(self, beta: float, squared: bool = False, class_prior: Any = None) -> None:
        super().__init__()
        self.beta = check_float("beta", beta, "NonlinearIBLoss", minimum=0.0)
        self.squared = bool(squared)
        self.h_y_bits = None if class_prior is None else float(entropy(class_prior, normalize=True))
        self.last: NonlinearIBTerms | None = None

    def forward(self, logits: Tensor, target: Tensor, hidden: Tensor, log_var: Tensor) -> Tensor:
        """The loss for decoder ``logits`` on the noisy T, labels, noise-free ``hidden`` and noise.

        Parameters
        ----------
        logits : Tensor of shape (batch, C)
        target : Tensor of shape (batch,)
        hidden : Tensor of shape (batch, d)
            ``h = f(x)`` before the noise.
        log_var : Tensor
            :attr:`GaussianNoise.log_var`.
        """
        fn = "NonlinearIBLoss"
        check_tensor(logits, "logits", fn, ndim=(2,))
        check_tensor(target, "target", fn, ndim=(1,), kind="index")
        check_tensor(hidden, "hidden", fn, ndim=(2,))
        if logits.shape[0] != target.shape[0] or int(target.min()) < 0 \
                or int(target.max()) >= logits.shape[1]:
            raise fail("target", fn, f"class indices in 0..{logits.shape[1] - 1} of shape "
                       f"({logits.shape[0]},), one per row of logits", target)
        if hidden.shape[0] != target.shape[0]:
            raise fail("hidden", fn, f"a tensor with {target.shape[0]} rows (one per target)", hidden)
        cross_entropy = nn.functional.cross_entropy(logits, target)
        i_xt = kde_mi_upper_bound(hidden, log_var)
        penalty = i_xt.pow(2) if self.squared else i_xt
        loss = cross_entropy + self.beta * penalty
        check_finite_loss(float(loss.detach()), fn, logits=logits, hidden=hidden)
        h_y = self.h_y_bits
        if h_y is None:
            h_y = float(entropy(np.bincount(to_numpy(target).astype(np.int64)), normalize=True))
        ce_bits = float(cross_entropy.detach()) / LN2
        self.last = NonlinearIBTerms(i_xt_bits=float(i_xt.detach()) / LN2, cross_entropy_bits=ce_bits,
                                     h_y_bits=h_y, i_ty_bits=h_y - ce_bits,
                                     noise_var=float(torch.exp(torch.as_tensor(log_var).detach())),
                                     loss=float(loss.detach()))
        return loss
