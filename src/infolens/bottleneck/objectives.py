"""Information measures as PyTorch losses: MI bounds with a critic, and cross-entropy on logits.

The bound arithmetic lives once, in :mod:`infolens.estimators.neural`; the modules here hold a
critic (and MINE's moving average) and return a loss to *minimize* (the negative training
objective), with the latest value of the bound kept in :attr:`MIBoundLoss.last_value`.

Typical use, e.g. maximizing ``I(Z1; Z2)`` between two views (contrastive learning)::

    critic = SeparableCritic(z_dim, z_dim)
    loss_fn = InfoNCELoss(critic)
    loss = loss_fn(z1, z2)          # = -InfoNCE in nats
    loss.backward()
    loss_fn.last_value_bits         # the bound in bits
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import special
from torch import Tensor, nn

from infolens._units import LN2, check_units, from_nats
from infolens._validation import _is_tensor, call_model, check_finite_loss, check_tensor, fail, to_numpy
from infolens.estimators.neural import MINE_EMA_RATE, SMILE_CLIP, training_objective

__all__ = ["InfoNCELoss", "MIBoundLoss", "MINELoss", "NWJLoss", "SMILELoss", "cross_entropy_logits"]


class MIBoundLoss(nn.Module):
    """A variational lower bound on I(X; Y) as a loss: ``-objective(critic(x, y))`` in nats.

    Parameters
    ----------
    critic : nn.Module
        Maps ``(x, y)`` batches of n pairs to an (n, n) score matrix ``S[i, j] = f(x_i, y_j)``
        (e.g. :class:`~infolens.estimators.neural.SeparableCritic`). Its parameters train
        together with whatever produces ``x`` and ``y``.
    bound : {"mine", "nwj", "infonce", "smile"}
    clip : float
        SMILE's ``tau``.
    ema_rate : float
        Rate of MINE's moving average of ``E_q[e^f]`` (kept in the ``moving_average`` buffer, so
        it follows ``.to(device)`` and ``state_dict``).

    Attributes
    ----------
    last_value : Tensor
        The bound (nats, detached) of the last forward call; ``last_value_bits`` in bits.
    """

    def __init__(self, critic: nn.Module, bound: str, *, clip: float = SMILE_CLIP,
                 ema_rate: float = MINE_EMA_RATE) -> None:
        super().__init__()
        self.critic = critic
        self.bound = bound
        self.clip = clip
        self.ema_rate = ema_rate
        self.register_buffer("moving_average", torch.tensor(float("nan")))
        self.last_value = torch.tensor(float("nan"))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """The loss (negative training objective, nats) on a batch of n >= 2 pairs.

        ``x`` and ``y`` are floating tensors with one row per pair; they are cast to the
        critic's parameter dtype (as :meth:`InformationPlane.record` casts its input).
        """
        fn = type(self).__name__
        check_tensor(x, "x", fn, ndim=(1, 2))
        check_tensor(y, "y", fn, ndim=(1, 2))
        if x.shape[0] < 2 or y.shape[0] != x.shape[0]:
            raise fail("y", fn, f"a batch of as many rows as 'x' ({x.shape[0]}), at least 2", y)
        dtype = next((p.dtype for p in self.critic.parameters() if p.is_floating_point()), x.dtype)
        x, y = (t.to(dtype)[:, None] if t.ndim == 1 else t.to(dtype) for t in (x, y))
        loss = self.from_scores(call_model(self.critic, (x, y), "x", fn, "the critic"))
        check_finite_loss(float(loss.detach()), fn, x=x, y=y)
        return loss

    def from_scores(self, scores: Tensor) -> Tensor:
        """The loss from a precomputed (n, n) score matrix whose diagonal holds the joint pairs."""
        previous = None if torch.isnan(self.moving_average) else self.moving_average
        value, surrogate, average = training_objective(
            self.bound, scores, clip=self.clip, moving_average=previous, ema_rate=self.ema_rate)
        if average is not None and self.training:
            self.moving_average = average.to(self.moving_average.dtype)
        self.last_value = value.detach()
        return -surrogate

    @property
    def last_value_bits(self) -> float:
        """The bound of the last forward call in bits."""
        return float(self.last_value) / LN2


class InfoNCELoss(MIBoundLoss):
    """``-InfoNCE``: low variance, never above ``log(batch size)`` (van den Oord et al. 2018)."""

    def __init__(self, critic: nn.Module) -> None:
        super().__init__(critic, "infonce")


class NWJLoss(MIBoundLoss):
    """``-NWJ``: unbiased f-divergence bound, variance exponential in the MI (Nguyen et al. 2010)."""

    def __init__(self, critic: nn.Module) -> None:
        super().__init__(critic, "nwj")


class MINELoss(MIBoundLoss):
    """MINE (Belghazi et al. 2018): Donsker-Varadhan value, moving-average corrected gradient."""

    def __init__(self, critic: nn.Module, ema_rate: float = MINE_EMA_RATE) -> None:
        super().__init__(critic, "mine", ema_rate=ema_rate)


class SMILELoss(MIBoundLoss):
    """SMILE (Song & Ermon 2020): clipped DV value, critic trained by the Jensen-Shannon objective."""

    def __init__(self, critic: nn.Module, clip: float = SMILE_CLIP) -> None:
        super().__init__(critic, "smile", clip=clip)


def cross_entropy_logits(logits: Any, target: Any, units: str = "bits") -> Any:
    """Mean cross-entropy ``-1/n sum_i sum_c p_i(c) log softmax(logits_i)_c`` of predictions.

    For one example with target distribution ``p`` and prediction ``q = softmax(logits)`` this is
    ``H(p, q) = H(p) + KL(p || q)`` (:func:`infolens.cross_entropy`); with hard labels ``H(p) = 0``
    and it is the negative log-likelihood, so minimizing it is maximum likelihood. In nats it
    equals ``torch.nn.functional.cross_entropy``.

    Parameters
    ----------
    logits : array-like or tensor of shape (n, k)
        Unnormalized log-probabilities; finite.
    target : array-like or tensor
        Class indices of shape (n,) in ``0..k-1``, or probability vectors of shape (n, k).
    units : {"bits", "nats"}

    Returns
    -------
    float for numpy input; a 0-d tensor (differentiable in ``logits``) for a tensor input.
    """
    fn = "cross_entropy_logits"
    units = check_units(units, fn)
    try:
        raw_logits = to_numpy(logits)
        raw_target = to_numpy(target)
    except (TypeError, ValueError, RuntimeError) as err:  # ragged lists, meta tensors
        raise fail("logits", fn, "a finite float array of shape (n, k) and targets", logits) from err
    if raw_logits.ndim != 2 or raw_logits.shape[0] == 0 or raw_logits.shape[1] == 0 \
            or not np.issubdtype(raw_logits.dtype, np.floating) or not np.isfinite(raw_logits).all():
        raise fail("logits", fn, "a finite float array of shape (n, k) with n, k >= 1", logits)
    n, k = raw_logits.shape
    hard = raw_target.ndim == 1
    if hard:
        if raw_target.shape[0] != n or not np.issubdtype(raw_target.dtype, np.integer) \
                or (raw_target < 0).any() or (raw_target >= k).any():
            raise fail("target", fn, f"class indices of shape ({n},) in 0..{k - 1} or "
                       f"probabilities of shape ({n}, {k})", target)
    elif raw_target.shape != (n, k) or not np.isfinite(raw_target).all() or (raw_target < 0).any() \
            or not np.allclose(raw_target.sum(axis=1), 1.0, atol=1e-6):
        raise fail("target", fn, f"class indices of shape ({n},) or probability rows of shape "
                   f"({n}, {k}) summing to 1", target)
    if _is_tensor(logits):
        log_q = torch.log_softmax(logits, dim=1)
        if hard:
            index = torch.as_tensor(raw_target, device=logits.device).long()
            nll = -log_q.gather(1, index[:, None]).squeeze(1)
        else:
            p = torch.as_tensor(raw_target, dtype=log_q.dtype, device=logits.device)
            nll = -(torch.where(p > 0, p * log_q, torch.zeros_like(log_q))).sum(dim=1)
        return from_nats(nll.mean(), units)
    log_q = raw_logits - special.logsumexp(raw_logits, axis=1, keepdims=True)
    if hard:
        nll = -log_q[np.arange(n), raw_target]
    else:
        nll = -np.sum(np.where(raw_target > 0, raw_target * log_q, 0.0), axis=1)
    return float(from_nats(float(nll.mean()), units))
