"""Neural (variational) lower bounds on mutual information: MINE, NWJ, InfoNCE and SMILE.

A *critic* ``f(x, y)`` scores pairs; on a batch of ``n`` joint samples ``(x_i, y_i)`` it gives a
score matrix ``S[i, j] = f(x_i, y_j)`` whose diagonal holds samples of the joint ``p(x, y)`` and
whose off-diagonal entries stand for samples of the product of marginals ``p(x) p(y)``. Every bound
below is a differentiable function of that matrix, in **nats**, so one implementation serves the
estimators here and the loss modules of :mod:`infolens.bottleneck.objectives`.

Bounds (all are lower bounds on I(X; Y) for any critic, tight at the optimal critic except
InfoNCE, which can never exceed ``log n``):

* Donsker-Varadhan, the value reported by MINE: ``E_p[f] - log E_q[e^f]`` (Belghazi et al. 2018).
  Its minibatch gradient is biased; MINE replaces the denominator ``E_q[e^f]`` in the gradient by
  an exponential moving average (:func:`mine_surrogate`).
* NWJ / f-divergence: ``E_p[f] - E_q[e^(f - 1)]`` (Nguyen, Wainwright & Jordan 2010), unbiased but
  of high variance (exponential in the MI).
* InfoNCE: ``log n + mean_i (S_ii - logsumexp_j S_ij)`` (van den Oord et al. 2018; Poole et al.
  2019), low variance, biased, and at most ``log n`` by construction.
* SMILE: ``E_p[f] - log E_q[clip(e^f, e^-tau, e^tau)]`` (Song & Ermon 2020); the clip bounds the
  variance at the price of a bias. As in Song & Ermon's experiments the critic is trained with the
  Jensen-Shannon f-GAN objective (:func:`js_objective`), whose optimum is also the log density
  ratio, and the clipped Donsker-Varadhan value is reported.

References
----------
M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018.
X. Nguyen, M. J. Wainwright and M. I. Jordan, "Estimating divergence functionals and the
likelihood ratio by convex risk minimization", IEEE Trans. Inf. Theory 56 (2010).
A. van den Oord, Y. Li and O. Vinyals, "Representation learning with contrastive predictive
coding", arXiv:1807.03748, 2018.
B. Poole et al., "On variational bounds of mutual information", ICML 2019.
J. Song and S. Ermon, "Understanding the limitations of variational mutual information
estimators", ICLR 2020.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from infolens._standardize import standardize
from infolens._validation import _is_tensor, check_choice, check_float, check_int, check_seed, fail

#: The bounds an estimator or loss can be built on.
BOUNDS: tuple[str, ...] = ("mine", "nwj", "infonce", "smile")
#: The critic architectures.
CRITICS: tuple[str, ...] = ("separable", "concat")
#: Default clip ``tau`` of SMILE (Song & Ermon 2020 report tau = 5 as a good compromise).
SMILE_CLIP = 5.0
#: Default rate of MINE's exponential moving average of ``E_q[e^f]``.
MINE_EMA_RATE = 0.01
#: Fraction of the samples held out to report the estimate (at least 2 samples).
HOLDOUT_FRACTION = 0.2
#: Widest critic layer accepted (a million units would need terabytes).
MAX_HIDDEN = 65536
#: Largest Adam learning rate accepted (float32 overflows near 3e38; above this it only diverges).
MAX_LR = 1e3


# --------------------------------------------------------------------------------------- critics
def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


class SeparableCritic(nn.Module):
    """``f(x, y) = g(x) . h(y)``: two MLP embeddings and an inner product.

    All ``n^2`` pair scores of a batch cost one matrix product, so this is the default critic.
    It represents the log density ratio of jointly Gaussian variables exactly (quadratic features).

    Parameters
    ----------
    x_dim, y_dim : int
        Input dimensions.
    hidden : int
        Width of the two hidden layers of each embedding MLP.
    embed : int
        Dimension of the embeddings.
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: int = 128, embed: int = 32) -> None:
        super().__init__()
        self.g = _mlp(x_dim, hidden, embed)
        self.h = _mlp(y_dim, hidden, embed)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Score matrix ``S[i, j] = f(x_i, y_j)`` of shape (n, n)."""
        return self.g(x) @ self.h(y).T


class ConcatCritic(nn.Module):
    """``f(x, y) = MLP([x, y])``: the most flexible critic (MINE's statistics network).

    Scoring all ``n^2`` pairs of a batch evaluates the MLP ``n^2`` times: prefer small batches.
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = _mlp(x_dim + y_dim, hidden, 1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Score matrix ``S[i, j] = f(x_i, y_j)`` of shape (n, n)."""
        n = x.shape[0]
        pairs = torch.cat([x[:, None, :].expand(n, n, x.shape[1]),
                           y[None, :, :].expand(n, n, y.shape[1])], dim=-1)
        return self.net(pairs).squeeze(-1)


def make_critic(kind: str, x_dim: int, y_dim: int, hidden: int = 128) -> nn.Module:
    """A :class:`SeparableCritic` (``"separable"``) or :class:`ConcatCritic` (``"concat"``)."""
    kind = check_choice("critic", kind, CRITICS, "make_critic")
    if kind == "separable":
        return SeparableCritic(x_dim, y_dim, hidden)
    return ConcatCritic(x_dim, y_dim, hidden)


# ---------------------------------------------------------------------------------------- bounds
def _check_scores(scores: Tensor, fn: str) -> int:
    if not _is_tensor(scores) or scores.ndim != 2 or scores.shape[0] != scores.shape[1] \
            or scores.shape[0] < 2:
        raise fail("scores", fn, "a square torch tensor of shape (n, n) with n >= 2", scores)
    return int(scores.shape[0])


def _off_diagonal(scores: Tensor) -> Tensor:
    n = scores.shape[0]
    mask = ~torch.eye(n, dtype=torch.bool, device=scores.device)
    return scores[mask]


def _log_mean_exp(values: Tensor) -> Tensor:
    return torch.logsumexp(values, dim=0) - math.log(values.numel())


def infonce_bound(scores: Tensor) -> Tensor:
    """InfoNCE ``log n + mean_i (S_ii - logsumexp_j S_ij)`` in nats; never above ``log n``.

    Each term ``S_ii - logsumexp_j S_ij`` is the log-probability of picking the true partner of
    ``x_i`` among the ``n`` candidates ``y_j`` and is <= 0, hence the cap ``log n``.
    """
    n = _check_scores(scores, "infonce_bound")
    return math.log(n) + (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean()


def nwj_bound(scores: Tensor) -> Tensor:
    """NWJ (f-divergence) bound ``mean(S_ii) - mean_{i != j} exp(S_ij - 1)`` in nats."""
    _check_scores(scores, "nwj_bound")
    return scores.diagonal().mean() - torch.exp(_off_diagonal(scores) - 1.0).mean()


def dv_bound(scores: Tensor) -> Tensor:
    """Donsker-Varadhan bound ``mean(S_ii) - log mean_{i != j} exp(S_ij)`` in nats (MINE's value)."""
    _check_scores(scores, "dv_bound")
    return scores.diagonal().mean() - _log_mean_exp(_off_diagonal(scores))


def smile_bound(scores: Tensor, clip: float = SMILE_CLIP) -> Tensor:
    """SMILE ``mean(S_ii) - log mean_{i != j} exp(clip(S_ij, -tau, tau))`` in nats.

    Song & Ermon (2020): clipping the density-ratio estimate to ``[e^-tau, e^tau]`` bounds the
    variance of the partition term. As ``tau -> inf`` this is :func:`dv_bound`.
    """
    _check_scores(scores, "smile_bound")
    clip = check_float("clip", clip, "smile_bound", minimum=0.0, strict_minimum=True)
    clipped = torch.clamp(_off_diagonal(scores), -clip, clip)
    return scores.diagonal().mean() - _log_mean_exp(clipped)


def js_objective(scores: Tensor) -> Tensor:
    """Jensen-Shannon f-GAN objective ``-mean softplus(-S_ii) - mean_{i != j} softplus(S_ij)``.

    Not a bound on I(X; Y) (it lower-bounds ``2 JS - log 4``); its maximizer is the log density
    ratio ``log p(x, y) / (p(x) p(y))``, which makes it a stable training signal for SMILE.
    """
    _check_scores(scores, "js_objective")
    joint = -nn.functional.softplus(-scores.diagonal()).mean()
    return joint - nn.functional.softplus(_off_diagonal(scores)).mean()


def mine_surrogate(scores: Tensor, moving_average: Tensor | float) -> Tensor:
    """MINE's bias-corrected training objective ``mean(S_ii) - mean_{i != j} exp(S_ij) / m``.

    With ``m`` a (detached) moving average of ``E_q[e^f]`` its gradient is
    ``E_p[grad f] - E_q[e^f grad f] / m``: the Donsker-Varadhan gradient with the minibatch
    denominator replaced by ``m`` (Belghazi et al. 2018, section 3.2). Its value is not a bound.
    """
    _check_scores(scores, "mine_surrogate")
    return scores.diagonal().mean() - torch.exp(_off_diagonal(scores)).mean() / moving_average


def bound_value(bound: str, scores: Tensor, *, clip: float = SMILE_CLIP) -> Tensor:
    """The value in nats of ``bound`` (one of :data:`BOUNDS`) on a score matrix."""
    bound = check_choice("bound", bound, BOUNDS, "bound_value")
    if bound == "infonce":
        return infonce_bound(scores)
    if bound == "nwj":
        return nwj_bound(scores)
    if bound == "smile":
        return smile_bound(scores, clip)
    return dv_bound(scores)


def training_objective(bound: str, scores: Tensor, *, clip: float = SMILE_CLIP,
                       moving_average: Tensor | None = None,
                       ema_rate: float = MINE_EMA_RATE) -> tuple[Tensor, Tensor, Tensor | None]:
    """What a critic maximizes for ``bound``: ``(value, surrogate, moving_average)``.

    ``value`` is the bound in nats (differentiable), ``surrogate`` the quantity whose gradient
    trains the critic (the bound itself for InfoNCE and NWJ, MINE's moving-average corrected
    objective for ``"mine"``, the Jensen-Shannon objective for ``"smile"``), and
    ``moving_average`` MINE's updated detached average of ``E_q[e^f]`` (None for the others;
    pass it back at the next step, None at the first).
    """
    bound = check_choice("bound", bound, BOUNDS, "training_objective")
    value = bound_value(bound, scores, clip=clip)
    if bound == "mine":
        batch_mean = torch.exp(_off_diagonal(scores)).mean().detach()
        if moving_average is None:
            moving_average = batch_mean
        else:
            moving_average = (1.0 - ema_rate) * moving_average.detach() + ema_rate * batch_mean
        return value, mine_surrogate(scores, moving_average), moving_average
    if bound == "smile":
        return value, js_objective(scores), None
    return value, value, None


# ------------------------------------------------------------------------------------ estimators
def _as_tensor(values: Any, device: torch.device) -> Tensor:
    """float64 on ``device``: standardized there, then cast to float32 (1e300 would overflow)."""
    if _is_tensor(values):
        out = values.detach().to(device=device, dtype=torch.float64)
    else:
        out = torch.as_tensor(np.asarray(values, dtype=np.float64), device=device)
    return out[:, None] if out.ndim == 1 else out


def _unit_scale(train: Tensor, *others: Tensor) -> list[Tensor]:
    """Every part divided by the largest magnitude of each column of ``train`` (1e300 data
    would overflow the variance of :func:`standardize`)."""
    magnitude = train.abs().amax(dim=0)
    magnitude = torch.where(magnitude > 0, magnitude, torch.ones_like(magnitude))
    return [t / magnitude for t in (train, *others)]


def _resolve_device(device: Any, fn: str, *arrays: Any) -> torch.device:
    if device is not None:
        try:
            resolved = torch.device(device)
            torch.empty(0, device=resolved)  # an unknown or absent device (cuda on a CPU machine)
        except (RuntimeError, TypeError, AssertionError) as err:
            raise fail("device", fn, "an available torch device such as 'cpu'", device) from err
        return resolved
    for a in arrays:
        if _is_tensor(a):
            return a.device
    return torch.device("cpu")


def neural_mi(x: Any, y: Any, bound: str = "infonce", *, steps: int = 1000, batch_size: int = 256,
              lr: float = 1e-3, hidden: int = 128, device: Any = None, seed: int = 0,
              critic: str = "separable", clip: float = SMILE_CLIP,
              ema_rate: float = MINE_EMA_RATE) -> tuple[float, dict[str, float]]:
    """Train a critic on 80% of the pairs and report ``bound`` on the 20% held out, in nats.

    Parameters
    ----------
    x, y : array-like or tensor of shape (n,) or (n, d), n >= 4
        Paired samples. Each variable is standardized with the training split's mean and std
        (MI is invariant to invertible maps of each variable). Tensors keep their device.
    bound : {"mine", "nwj", "infonce", "smile"}
    steps : int
        Adam steps on minibatches of ``min(batch_size, n_train)`` pairs drawn without replacement
        (epochs reshuffle).
    lr, hidden : float, int
        Adam learning rate; width of the critic's hidden layers.
    device : str or torch.device, optional
        Defaults to the device of a tensor input, else CPU.
    seed : int
        Seeds the split, the critic's initialization and the minibatches (global RNG untouched).
    critic : {"separable", "concat"}
    clip : float
        SMILE's ``tau``.
    ema_rate : float
        MINE's moving-average rate.

    Returns
    -------
    value : float
        The bound evaluated, without gradients, on the held-out pairs (``max(2, n // 5)`` of
        them) split into near-equal batches of at most ``batch_size``, averaged over batches.
        Held-out pairs keep the critic from scoring pairs it memorized, so the value stays a
        lower bound in expectation (up to the minibatch bias of the ``log`` in MINE/SMILE).
        InfoNCE is at most ``log`` of the evaluation batch size.
    details : dict
        ``"train"``: the bound averaged over the last epoch of training (nats);
        ``"log_batch"``: ``log`` of the evaluation batch size, InfoNCE's cap (nats).

    Notes
    -----
    Variational bounds are biased low when the critic is not optimal and are limited by the
    batch: InfoNCE by ``log(batch)``, MINE and NWJ by a variance that grows like ``e^I``
    (McAllester & Stratos 2020; Song & Ermon 2020).
    """
    fn = "neural_mi"
    bound = check_choice("bound", bound, BOUNDS, fn)
    critic = check_choice("critic", critic, CRITICS, fn)
    steps = check_int("steps", steps, fn, minimum=1)
    batch_size = check_int("batch_size", batch_size, fn, minimum=2)
    hidden = check_int("hidden", hidden, fn, minimum=1, maximum=MAX_HIDDEN)
    seed = check_seed("seed", seed, fn)
    lr = check_float("lr", lr, fn, minimum=0.0, maximum=MAX_LR, strict_minimum=True)
    clip = check_float("clip", clip, fn, minimum=0.0, strict_minimum=True)
    ema_rate = check_float("ema_rate", ema_rate, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    dev = _resolve_device(device, fn, x, y)
    xt, yt = _as_tensor(x, dev), _as_tensor(y, dev)
    n = xt.shape[0]
    if n < 4 or yt.shape[0] != n:
        raise fail("x", fn, "paired samples with at least 4 rows", got=f"{n} and {yt.shape[0]} rows")
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen).to(dev)
    n_eval = max(2, int(n * HOLDOUT_FRACTION))
    train_idx, eval_idx = order[n_eval:], order[:n_eval]
    # scaled and standardized in float64, then float32 for the critic
    x_train, x_eval = (t.float() for t in standardize(*_unit_scale(xt[train_idx], xt[eval_idx])))
    y_train, y_eval = (t.float() for t in standardize(*_unit_scale(yt[train_idx], yt[eval_idx])))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = make_critic(critic, xt.shape[1], yt.shape[1], hidden).to(dev)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    n_train = x_train.shape[0]
    batch = min(batch_size, n_train)
    per_epoch = n_train // batch
    moving_average: Tensor | None = None
    recent: list[float] = []
    perm = torch.randperm(n_train, generator=gen).to(dev)
    for step in range(steps):
        k = step % per_epoch
        if k == 0 and step > 0:
            perm = torch.randperm(n_train, generator=gen).to(dev)
        rows = perm[k * batch:(k + 1) * batch]
        scores = net(x_train[rows], y_train[rows])
        value, surrogate, moving_average = training_objective(
            bound, scores, clip=clip, moving_average=moving_average, ema_rate=ema_rate)
        optimizer.zero_grad(set_to_none=True)
        (-surrogate).backward()
        optimizer.step()
        recent.append(float(value.detach()))
    last_epoch = recent[-per_epoch:]
    eval_value, eval_batch = _evaluate(net, bound, x_eval, y_eval, batch_size, clip)
    return eval_value, {"train": float(np.mean(last_epoch)), "log_batch": math.log(eval_batch)}


def _evaluate(net: nn.Module, bound: str, x: Tensor, y: Tensor, batch_size: int,
              clip: float) -> tuple[float, int]:
    """Mean of ``bound`` over near-equal batches of at most ``batch_size`` held-out pairs."""
    n = x.shape[0]
    n_batches = math.ceil(n / batch_size)
    total = 0.0
    with torch.no_grad():
        for rows in torch.arange(n, device=x.device).tensor_split(n_batches):
            total += float(bound_value(bound, net(x[rows], y[rows]), clip=clip)) * len(rows)
    return total / n, math.ceil(n / n_batches)


def _estimator(bound: str) -> Callable[..., tuple[float, dict[str, float]]]:
    def estimate(x: Any, y: Any, *, steps: int = 1000, batch_size: int = 256, lr: float = 1e-3,
                 hidden: int = 128, device: Any = None, seed: int = 0,
                 critic: str = "separable") -> tuple[float, dict[str, float]]:
        return neural_mi(x, y, bound, steps=steps, batch_size=batch_size, lr=lr, hidden=hidden,
                         device=device, seed=seed, critic=critic)

    estimate.__name__ = f"mi_{bound}"
    estimate.__qualname__ = f"mi_{bound}"
    estimate.__doc__ = (f"I(X; Y) in nats by the {bound!r} bound: :func:`neural_mi` with "
                        f"``bound={bound!r}``; returns ``(value, details)``.")
    return estimate


mi_mine = _estimator("mine")
mi_nwj = _estimator("nwj")
mi_infonce = _estimator("infonce")
mi_smile = _estimator("smile")
