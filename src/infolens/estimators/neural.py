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

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor, nn

from infolens._standardize import standardize
from infolens._validation import (
    InfoLensWarning,
    _is_tensor,
    check_choice,
    check_float,
    check_int,
    check_seed,
    fail,
)

#: The bounds an estimator or loss can be built on.
BOUNDS: tuple[str, ...] = ("mine", "nwj", "infonce", "smile")
#: The critic architectures.
CRITICS: tuple[str, ...] = ("separable", "concat")
#: Default clip ``tau`` of SMILE (Song & Ermon 2020 report tau = 5 as a good compromise).
SMILE_CLIP = 5.0
#: Default rate of MINE's exponential moving average of ``E_q[e^f]``.
MINE_EMA_RATE = 0.01
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


def resolve_device(device: Any, fn: str, *arrays: Any) -> torch.device:
    """``device`` checked, else the device of the first tensor among ``arrays``, else CPU."""
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


#: Fractions of the pairs used to train, to stop early (validation) and to report (test).
SPLIT = (0.6, 0.2, 0.2)
#: Fewest batches each held-out part is cut into (the interval needs several).
MIN_EVAL_BATCHES = 4
#: Validation evaluations without improvement before training stops.
PATIENCE = 8
#: InfoNCE within this many nats of its ceiling ``log(batch)`` is flagged ``"at_ceiling"``.
CEILING_MARGIN = 0.25
#: Largest default number of steps.
MAX_DEFAULT_STEPS = 8000
#: Training longer than this many steps shows a progress bar on a terminal (about 5-10 s on CPU).
PROGRESS_STEPS = 2000


@contextlib.contextmanager
def progress_bar(progress: Any, total: int, desc: str) -> Iterator[Any]:
    """The bar that training updates: ``progress`` itself if given (False: none), else a tqdm
    bar on stderr when ``total`` exceeds :data:`PROGRESS_STEPS` (tqdm hides it off a terminal)."""
    if progress is False or (progress is None and total <= PROGRESS_STEPS):
        yield None
        return
    if progress is not None:
        yield progress
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="step", disable=None, leave=False) as bar:
        yield bar


def default_steps(joint_dim: int) -> int:
    """Default Adam steps: ``min(8000, 1000 + 100 (d_x + d_y))`` (early stopping usually ends
    training long before in few dimensions; 25 x 25 needs several thousand)."""
    return min(MAX_DEFAULT_STEPS, 1000 + 100 * joint_dim)


def default_lr(joint_dim: int) -> float:
    """Default Adam learning rate: ``1e-3 / sqrt(max(1, (d_x + d_y) / 10))`` (5e-4 at 25 x 25,
    3e-4 at 50 x 50): wider inputs give larger first-layer gradients and overfit sooner."""
    return 1e-3 / math.sqrt(max(1.0, joint_dim / 10.0))


def split_sizes(n: int, fn: str) -> tuple[int, int, int]:
    """Train, validation and test sizes of ``n`` pairs (:data:`SPLIT`); each held-out part
    needs :data:`MIN_EVAL_BATCHES` batches of at least 2 pairs."""
    n_val = int(n * SPLIT[1])
    n_test = int(n * SPLIT[2])
    minimum = 2 * MIN_EVAL_BATCHES
    if min(n_val, n_test) < minimum or n - n_val - n_test < 2:
        need = math.ceil(minimum / min(SPLIT[1:]))
        raise fail("x", fn, f"at least {need} paired samples (a {SPLIT[0]:.0%}/{SPLIT[1]:.0%}/"
                   f"{SPLIT[2]:.0%} train/validation/test split, {MIN_EVAL_BATCHES} held-out "
                   "batches of at least 2 pairs each)", got=f"{n} samples")
    return n - n_val - n_test, n_val, n_test


def _batches(n: int, batch_size: int) -> list[Tensor]:
    """Near-equal contiguous batches of at most ``batch_size`` rows, at least MIN_EVAL_BATCHES."""
    count = max(MIN_EVAL_BATCHES, math.ceil(n / batch_size))
    return list(torch.arange(n).tensor_split(count))


def _held_out(net: nn.Module, bound: str, x: Tensor, y: Tensor, batch_size: int,
              clip: float) -> np.ndarray:
    """The bound on each near-equal batch of a held-out part (nats), without gradients."""
    values = []
    with torch.no_grad():
        for rows in _batches(x.shape[0], batch_size):
            rows = rows.to(x.device)
            values.append(float(bound_value(bound, net(x[rows], y[rows]), clip=clip)))
    return np.array(values)


def neural_mi(x: Any, y: Any, bound: str = "infonce", *, steps: int | None = None,
              batch_size: int = 256, lr: float | None = None, hidden: int = 128,
              device: Any = None, seed: int = 0, critic: str = "separable",
              clip: float = SMILE_CLIP, ema_rate: float = MINE_EMA_RATE, level: float = 0.95,
              progress: Any = None) -> tuple[float, dict[str, Any]]:
    """Train a critic with early stopping and report ``bound`` on held-out pairs, in nats.

    The pairs are split at random into 60% training, 20% validation and 20% test
    (:data:`SPLIT`). Every ``eval_every = max(25, steps // 100)`` Adam steps the bound is
    evaluated on the validation pairs; the critic with the best validation bound is kept and
    training stops after :data:`PATIENCE` evaluations without improvement (as the BMI benchmark
    of Czyz et al. 2023 and the neural estimators of Poole et al. 2019 train). The reported
    value is the bound of that critic on the test pairs, which took no part in training or
    stopping, averaged over near-equal test batches, with a t interval over those batches.

    Parameters
    ----------
    x, y : array-like or tensor of shape (n,) or (n, d), n >= 40
        Paired samples. Each variable is standardized with the training split's mean and std
        (MI is invariant to invertible maps of each variable). Tensors keep their device.
    bound : {"mine", "nwj", "infonce", "smile"}
    steps : int, optional
        Largest number of Adam steps on minibatches of ``min(batch_size, n_train)`` pairs drawn
        without replacement (epochs reshuffle). Default :func:`default_steps`.
    batch_size : int
        Training and evaluation batch; InfoNCE can never exceed ``log`` of the evaluation batch.
    lr : float, optional
        Adam learning rate; default :func:`default_lr`.
    hidden : int
        Width of the critic's hidden layers.
    device : str or torch.device, optional
        Defaults to the device of a tensor input, else CPU.
    seed : int
        Seeds the split, the critic's initialization and the minibatches (global RNG untouched).
    critic : {"separable", "concat"}
        ``g(x)^T h(y)`` (all pair scores in one matrix product) or an MLP on ``[x, y]``.
    clip, ema_rate : float
        SMILE's ``tau``; MINE's moving-average rate.
    level : float
        Confidence level of the interval over test batches.
    progress : tqdm-like or bool, optional
        ``progress.update(1)`` after every step; None shows a tqdm bar on a terminal when
        ``steps`` exceeds :data:`PROGRESS_STEPS`; False shows none.

    Returns
    -------
    value : float
        The test bound in nats.
    details : dict
        ``ci_low``, ``ci_high`` (nats), ``validation`` (best validation bound, nats), ``train``
        (mean training bound over the last ``eval_every`` steps, nats), ``log_batch`` (``log``
        of the evaluation batch, InfoNCE's ceiling, nats), ``steps_run``, ``best_step``,
        ``stopped_early`` (bool), ``lr`` (text), ``split`` (text) and ``flags``: ``"at_ceiling"``
        (InfoNCE within :data:`CEILING_MARGIN` of ``log_batch``: the MI may be far larger) and
        ``"training_failure"`` (the interval lies below 0); both warn with the reason.

    Notes
    -----
    Variational bounds are biased low when the critic is not optimal and are limited by the
    batch: InfoNCE by ``log(batch)``, MINE and NWJ by a variance that grows like ``e^I``
    (McAllester & Stratos 2020; Song & Ermon 2020).
    """
    fn = "neural_mi"
    bound = check_choice("bound", bound, BOUNDS, fn)
    critic = check_choice("critic", critic, CRITICS, fn)
    batch_size = check_int("batch_size", batch_size, fn, minimum=2)
    hidden = check_int("hidden", hidden, fn, minimum=1, maximum=MAX_HIDDEN)
    seed = check_seed("seed", seed, fn)
    clip = check_float("clip", clip, fn, minimum=0.0, strict_minimum=True)
    ema_rate = check_float("ema_rate", ema_rate, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    level = check_float("level", level, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    dev = resolve_device(device, fn, x, y)
    xt, yt = _as_tensor(x, dev), _as_tensor(y, dev)
    n = xt.shape[0]
    if yt.shape[0] != n:
        raise fail("y", fn, "as many rows as x", got=f"{yt.shape[0]} and {n} rows")
    joint_dim = xt.shape[1] + yt.shape[1]
    steps = default_steps(joint_dim) if steps is None else check_int("steps", steps, fn, minimum=1)
    lr = default_lr(joint_dim) if lr is None else check_float(
        "lr", lr, fn, minimum=0.0, maximum=MAX_LR, strict_minimum=True)
    n_train, n_val, _ = split_sizes(n, fn)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen).to(dev)
    parts = (order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:])
    x_train, x_val, x_test = (t.float() for t in standardize(*_unit_scale(*(xt[p] for p in parts))))
    y_train, y_val, y_test = (t.float() for t in standardize(*_unit_scale(*(yt[p] for p in parts))))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = make_critic(critic, xt.shape[1], yt.shape[1], hidden).to(dev)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    batch = min(batch_size, n_train)
    per_epoch = n_train // batch
    eval_every = max(25, steps // 100)
    moving_average: Tensor | None = None
    recent: list[float] = []
    best = (-math.inf, 0, {k: v.clone() for k, v in net.state_dict().items()})
    waited, step = 0, 0
    perm = torch.randperm(n_train, generator=gen).to(dev)
    with progress_bar(progress, steps, f"{bound} critic") as bar:
        for step in range(1, steps + 1):
            k = (step - 1) % per_epoch
            if k == 0 and step > 1:
                perm = torch.randperm(n_train, generator=gen).to(dev)
            rows = perm[k * batch:(k + 1) * batch]
            value, surrogate, moving_average = training_objective(
                bound, net(x_train[rows], y_train[rows]), clip=clip, moving_average=moving_average,
                ema_rate=ema_rate)
            optimizer.zero_grad(set_to_none=True)
            (-surrogate).backward()
            optimizer.step()
            recent = [*recent[-eval_every + 1:], float(value.detach())]
            if bar is not None:
                bar.update(1)
            if step % eval_every == 0 or step == steps:
                validation = float(_held_out(net, bound, x_val, y_val, batch_size, clip).mean())
                if validation > best[0]:
                    best = (validation, step, {k: v.clone() for k, v in net.state_dict().items()})
                    waited = 0
                else:
                    waited += 1
                    if waited >= PATIENCE:
                        break
    net.load_state_dict(best[2])
    per_batch = _held_out(net, bound, x_test, y_test, batch_size, clip)
    estimate = float(per_batch.mean())
    half = float(stats.t.ppf(0.5 + level / 2, len(per_batch) - 1) * per_batch.std(ddof=1)
                 / math.sqrt(len(per_batch)))
    log_batch = math.log(len(_batches(x_test.shape[0], batch_size)[-1]))
    details: dict[str, Any] = {
        "ci_low": estimate - half, "ci_high": estimate + half, "validation": best[0],
        "train": float(np.mean(recent)), "log_batch": log_batch, "steps_run": step,
        "best_step": best[1], "stopped_early": step < steps, "lr": f"{lr:.3g}",
        "split": f"{n_train} train / {n_val} validation (early stopping) / "
                 f"{n - n_train - n_val} test (estimate)",
    }
    details["flags"] = _training_flags(bound, estimate, details, steps)
    return estimate, details


def _training_flags(bound: str, estimate: float, details: dict[str, Any], steps: int) -> tuple[str, ...]:
    """``at_ceiling`` and ``training_failure``, each with a warning that gives the reason."""
    flags = []
    if bound == "infonce" and estimate > details["log_batch"] - CEILING_MARGIN:
        warnings.warn(f"InfoNCE estimate {estimate:.3f} nats is within {CEILING_MARGIN} nats of its "
                      f"ceiling log(batch) = {details['log_batch']:.3f}: the MI may be much larger; "
                      "use a larger batch_size or another bound.", InfoLensWarning, stacklevel=2)
        flags.append("at_ceiling")
    if details["ci_high"] < 0:
        if details["train"] > 0.05 and details["best_step"] <= details["steps_run"] // 2:
            reason = (f"the critic overfits: {details['train']:.3f} nats on the training pairs, "
                      f"{estimate:.3f} on held-out ones (use fewer hidden units, a smaller lr, "
                      "or more samples)")
        elif details["best_step"] >= steps:
            reason = (f"too few steps: the validation bound was still rising at step {steps} "
                      "(raise steps)")
        else:
            reason = "the critic did not learn the dependence (try another bound or critic)"
        warnings.warn(f"neural MI ({bound}) estimate {estimate:.3f} nats with interval "
                      f"({details['ci_low']:.3f}, {details['ci_high']:.3f}) below 0 is a training "
                      f"failure, not a measurement: {reason}.", InfoLensWarning, stacklevel=2)
        flags.append("training_failure")
    return tuple(flags)


def _estimator(bound: str) -> Callable[..., tuple[float, dict[str, Any]]]:
    def estimate(x: Any, y: Any, *, steps: int | None = None, batch_size: int = 256,
                 lr: float | None = None, hidden: int = 128, device: Any = None, seed: int = 0,
                 critic: str = "separable", level: float = 0.95,
                 progress: Any = None) -> tuple[float, dict[str, Any]]:
        return neural_mi(x, y, bound, steps=steps, batch_size=batch_size, lr=lr, hidden=hidden,
                         device=device, seed=seed, critic=critic, level=level, progress=progress)

    estimate.__name__ = f"mi_{bound}"
    estimate.__qualname__ = f"mi_{bound}"
    estimate.__doc__ = (f"I(X; Y) in nats by the {bound!r} bound: :func:`neural_mi` with "
                        f"``bound={bound!r}``; returns ``(value, details)``.")
    return estimate


mi_mine = _estimator("mine")
mi_nwj = _estimator("nwj")
mi_infonce = _estimator("infonce")
mi_smile = _estimator("smile")
