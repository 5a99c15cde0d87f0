"""The deep variational information bottleneck (Alemi, Fischer, Dillon & Murphy 2017).

A stochastic encoder ``p(z | x) = N(mu(x), diag sigma(x)^2)`` and a decoder ``q(y | z)`` are
trained on ``CE + beta * KL(p(z | x) || r(z))`` with ``r = N(0, I)``. Both terms are variational
bounds, reported in **bits**:

* the *rate* ``E_x KL(p(z | x) || r(z)) >= I(Z; X)`` (an upper bound: ``r`` is not the true
  marginal of Z);
* ``H(Y) - CE <= I(Z; Y)`` (a lower bound: ``q`` is not the true posterior), where CE is the
  decoder's cross-entropy averaged over posterior samples.

``beta`` weighs nats against nats, so it is unit-free. At evaluation several posterior samples are
drawn: the bound averages the cross-entropy over them and predictions average the decoder's
class probabilities (Alemi et al. use 12).

References
----------
A. A. Alemi, I. Fischer, J. V. Dillon and K. Murphy, "Deep variational information bottleneck",
ICLR 2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from infolens._units import LN2
from infolens._validation import check_finite_loss, check_float, check_int, check_tensor, fail, to_numpy
from infolens.measures import entropy

__all__ = ["BottleneckSample", "VIBClassifier", "VIBLoss", "VIBTerms", "VariationalBottleneck",
           "gaussian_rate", "predict_proba", "vib_terms"]

#: Shift of the softplus that makes the initial standard deviation small (softplus(-5) = 0.0067).
STD_SHIFT = 5.0


class BottleneckSample(NamedTuple):
    """Posterior samples ``z`` of shape (n_samples, batch, K) and the posterior ``mean``, ``std``."""

    z: Tensor
    mean: Tensor
    std: Tensor


class VariationalBottleneck(nn.Module):
    """A Gaussian encoder head with K dimensions, sampled by reparameterization.

    A linear layer maps features to ``2K`` numbers ``(mu, rho)``; ``std = softplus(rho - 5)``
    (Alemi et al. 2017), and ``z = mu + std * eps`` with ``eps ~ N(0, I)``, so gradients flow
    through the sample.

    Parameters
    ----------
    in_features : int
    k : int
        Dimension of Z.
    """

    def __init__(self, in_features: int, k: int = 32) -> None:
        super().__init__()
        fn = "VariationalBottleneck"
        self.k = check_int("k", k, fn, minimum=1)
        self.linear = nn.Linear(check_int("in_features", in_features, fn, minimum=1), 2 * self.k)

    def forward(self, h: Tensor, n_samples: int = 1) -> BottleneckSample:
        """Draw ``n_samples`` posterior samples for a batch of features ``h`` of shape (batch, in)."""
        mean, rho = self.linear(h).chunk(2, dim=-1)
        std = nn.functional.softplus(rho - STD_SHIFT)
        eps = torch.randn((n_samples, *mean.shape), dtype=mean.dtype, device=mean.device)
        return BottleneckSample(mean + std * eps, mean, std)


def gaussian_rate(mean: Tensor, std: Tensor) -> Tensor:
    """``KL(N(mean, diag std^2) || N(0, I))`` in nats per example (sum over the last axis)."""
    return 0.5 * (mean.pow(2) + std.pow(2) - 1.0 - 2.0 * torch.log(std)).sum(dim=-1)


def vib_terms(logits: Tensor, target: Tensor, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
    """Batch means of the cross-entropy and of the rate, in nats, differentiable.

    ``logits`` of shape (n_samples, batch, classes) or (batch, classes); the cross-entropy is
    averaged over samples and batch. No validation, no host synchronization: safe under
    ``torch.func.vmap`` (the beta sweep trains several models at once this way).
    """
    if logits.ndim == 2:
        logits = logits.unsqueeze(0)
    log_q = torch.log_softmax(logits, dim=-1)
    index = target.reshape(1, -1, 1).expand(logits.shape[0], -1, 1)
    cross_entropy = -log_q.gather(-1, index).mean()
    return cross_entropy, gaussian_rate(mean, std).mean()


def predict_proba(logits: Tensor) -> Tensor:
    """Class probabilities averaged over posterior samples: (n_samples, batch, C) -> (batch, C)."""
    return torch.softmax(logits, dim=-1).mean(dim=0) if logits.ndim == 3 else torch.softmax(logits, -1)


@dataclass(frozen=True)
class VIBTerms:
    """The terms of the last :class:`VIBLoss` call, in bits (floats, detached).

    ``rate_bits`` upper-bounds I(Z; X); ``i_zy_bits = h_y_bits - cross_entropy_bits``
    lower-bounds I(Z; Y); ``loss`` is in nats, as optimized.
    """

    rate_bits: float
    cross_entropy_bits: float
    h_y_bits: float
    i_zy_bits: float
    loss: float


class VIBLoss(nn.Module):
    """``CE + beta * rate`` (nats) of the variational information bottleneck (Alemi et al. 2017).

    Parameters
    ----------
    beta : float >= 0
        Weight of the rate; 0 is a plain (stochastic) classifier.
    class_prior : array-like of shape (C,), optional
        ``p(y)`` for ``H(Y)`` in the I(Z; Y) bound; default the label frequencies of each batch.

    Examples
    --------
    >>> head, decoder = VariationalBottleneck(256, k=32), torch.nn.Linear(32, 10)  # doctest: +SKIP
    >>> sample = head(features)                                                    # doctest: +SKIP
    >>> loss = VIBLoss(beta=1e-3)(decoder(sample.z), y, sample.mean, sample.std)   # doctest: +SKIP
    """

    def __init__(self, beta: float = 1e-3, class_prior: Any = None) -> None:
        super().__init__()
        self.beta = check_float("beta", beta, "VIBLoss", minimum=0.0)
        self.h_y_bits = None if class_prior is None else float(entropy(class_prior, normalize=True))
        self.last: VIBTerms | None = None

    def forward(self, logits: Tensor, target: Tensor, mean: Tensor, std: Tensor) -> Tensor:
        """The loss in nats; its terms in bits go to :attr:`last`.

        Parameters
        ----------
        logits : Tensor of shape (n_samples, batch, C) or (batch, C)
        target : Tensor of shape (batch,), class indices
        mean, std : Tensor of shape (batch, K)
            The posterior from :class:`VariationalBottleneck`.
        """
        fn = "VIBLoss"
        check_tensor(logits, "logits", fn, ndim=(2, 3))
        check_tensor(target, "target", fn, ndim=(1,), kind="index")
        check_tensor(mean, "mean", fn, ndim=(2,))
        check_tensor(std, "std", fn, ndim=(2,))
        if logits.shape[-2] != target.shape[0] or int(target.min()) < 0 \
                or int(target.max()) >= logits.shape[-1]:
            raise fail("target", fn, f"class indices in 0..{logits.shape[-1] - 1} of shape "
                       f"({logits.shape[-2]},), one per row of logits", target)
        if mean.shape[0] != target.shape[0]:
            raise fail("mean", fn, f"a posterior mean of shape ({target.shape[0]}, K)", mean)
        if std.shape != mean.shape:
            raise fail("std", fn, f"a posterior std of the shape of 'mean' {tuple(mean.shape)}", std)
        cross_entropy, rate = vib_terms(logits, target, mean, std)
        loss = cross_entropy + self.beta * rate
        check_finite_loss(float(loss.detach()), fn, logits=logits, mean=mean, std=std)
        h_y = self.h_y_bits
        if h_y is None:
            counts = np.bincount(to_numpy(target).astype(np.int64))
            h_y = float(entropy(counts, normalize=True))
        ce_bits = float(cross_entropy.detach()) / LN2
        self.last = VIBTerms(rate_bits=float(rate.detach()) / LN2, cross_entropy_bits=ce_bits,
                             h_y_bits=h_y, i_zy_bits=h_y - ce_bits, loss=float(loss.detach()))
        return loss


class VIBClassifier(nn.Module):
    """MLP encoder, :class:`VariationalBottleneck` and a linear decoder (Alemi et al.'s setup).

    Parameters
    ----------
    in_features, n_classes : int
    k : int
        Bottleneck dimension (32 here; Alemi et al. use 256 on MNIST).
    hidden : sequence of int
        Widths of the ReLU encoder layers before the bottleneck (default 256, 256).
    """

    def __init__(self, in_features: int, n_classes: int, k: int = 32,
                 hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = check_int("in_features", in_features, "VIBClassifier", minimum=1)
        for h in hidden:
            layers += [nn.Linear(width, check_int("hidden", h, "VIBClassifier", minimum=1)), nn.ReLU()]
            width = h
        self.encoder = nn.Sequential(*layers)
        self.bottleneck = VariationalBottleneck(width, k)
        self.decoder = nn.Linear(k, check_int("n_classes", n_classes, "VIBClassifier", minimum=2))

    def forward(self, x: Tensor, n_samples: int = 1) -> tuple[Tensor, Tensor, Tensor]:
        """``(logits of shape (n_samples, batch, C), mean, std)``."""
        sample = self.bottleneck(self.encoder(x), n_samples)
        return self.decoder(sample.z), sample.mean, sample.std
