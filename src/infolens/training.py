"""Train the members of a :class:`~infolens.models.StackedMLP` together, with resumable checkpoints.

Every member sees the training set in its own order: the permutation of epoch ``e`` (1-based) for
shuffle seed ``s`` is ``numpy.random.default_rng([s, e]).permutation(n_train)``
(:func:`epoch_permutation`). The order is a pure function of ``(s, e)``, so a resumed run sees
the same minibatches as an uninterrupted one, and :func:`train_single` (one network at a time,
the baseline of ``benchmarks/training.py``) reproduces a member exactly.

The loss is the sum over members of each member's mean cross-entropy on its minibatch; since the
members share no parameters, its gradient with respect to member ``m``'s weights is the gradient of
member ``m``'s own loss, and one Adam optimizer over the stacked tensors performs M independent Adam
updates (Adam acts elementwise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from infolens._validation import check_float, check_int, fail
from infolens.data.datasets import Split
from infolens.models import StackedMLP

#: Samples per forward pass when evaluating losses and accuracies.
EVAL_CHUNK = 16384
#: What :func:`train_members` needs of a stacked model besides being an ``nn.Module``.
_STACK_ATTRIBUTES = ("n_members", "seeds", "activations", "widths")


@dataclass
class TrainHistory:
    """Per-member learning curves; column ``e`` is the state after epoch ``e`` (0 = initial).

    Attributes
    ----------
    train_loss : ndarray (M, epochs + 1)
        Mean cross-entropy on the whole training set, in nats.
    train_accuracy, test_accuracy : ndarray (M, epochs + 1)
        Fraction of correctly classified samples.
    activations : tuple of str
        Hidden activation of each member.
    seeds : tuple of int
        Shuffle seed of each member.
    optimizer_state : dict or None
        The optimizer's ``state_dict()`` at the end of training, to continue with
        ``train_members(..., start_epoch=..., optimizer_state=...)``.

    Columns of epochs that were not evaluated (before ``start_epoch`` of a resumed run without
    the earlier history) hold NaN.
    """

    train_loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    activations: tuple[str, ...]
    seeds: tuple[int, ...]
    optimizer_state: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def epochs(self) -> int:
        """Number of training epochs covered (columns minus one)."""
        return int(self.train_loss.shape[1]) - 1

    _CURVES = ("train_loss", "train_accuracy", "test_accuracy")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready lists (NaN as None), without the optimizer state."""
        out: dict[str, Any] = {"activations": list(self.activations), "seeds": list(self.seeds),
                               "epochs": self.epochs}
        for name in self._CURVES:
            values = getattr(self, name)
            out[name] = [[None if np.isnan(v) else float(v) for v in row] for row in values]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainHistory:
        """Inverse of :meth:`to_dict`."""
        curves = {name: np.array([[np.nan if v is None else v for v in row] for row in data[name]],
                                 dtype=np.float64) for name in cls._CURVES}
        return cls(**curves, activations=tuple(data["activations"]), seeds=tuple(data["seeds"]))


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which a member with shuffle seed ``seed`` visits ``n`` samples in ``epoch``."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def checkpoint_state(model: StackedMLP, optimizer: torch.optim.Optimizer, epoch: int,
                     history: TrainHistory | None = None, *, seeds: Sequence[int] | None = None,
                     ) -> dict[str, Any]:
    """Everything needed to resume after ``epoch``: weights, optimizer, RNG state, curves so far.

    The dict holds only tensors, numbers, strings and lists, so ``torch.save`` / ``torch.load``
    (``weights_only=True``) round-trip it. Its tensors are the live ones (not copies): save it
    right away. Resume with ``train_members(model, split, epochs, checkpoint=state)``. The
    shuffles need no saved state (see :func:`epoch_permutation`); the global torch generator is
    saved because user code in ``on_epoch`` may draw from it. ``seeds`` are the shuffle seeds
    (default: those of ``history``, else ``model.seeds``).
    """
    epoch = check_int("epoch", epoch, "checkpoint_state", minimum=0)
    if seeds is None:
        seeds = history.seeds if history is not None else model.seeds
    state: dict[str, Any] = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": {"torch": torch.get_rng_state()},
        "config": {"widths": list(model.widths), "activations": list(model.activations),
                   "seeds": list(model.seeds)},
        "shuffle_seeds": [int(s) for s in seeds],
        "history": None,
    }
    if history is not None:
        state["history"] = {name: torch.tensor(getattr(history, name)[:, :epoch + 1])
                            for name in TrainHistory._CURVES}
    return state


def _is_checkpoint(state: Any) -> bool:
    return isinstance(state, dict) and {"epoch", "model", "optimizer"} <= state.keys()


def _tensors(split: Split, device: torch.device, fn: str, n_features: int | None = None,
             n_classes: int | None = None) -> tuple[torch.Tensor, ...]:
    if not isinstance(split, Split):
        raise fail("split", fn, "an infolens.data.Split", split)
    if n_features is not None and split.n_features != n_features:
        raise fail("split", fn, f"inputs with {n_features} features (the model's widths[0])",
                   got=f"{split.n_features} features")
    if n_classes is not None and max(int(split.y_train.max()), int(split.y_test.max())) >= n_classes:
        raise fail("split", fn, f"labels below {n_classes} (the model's number of outputs)",
                   got=f"labels up to {max(int(split.y_train.max()), int(split.y_test.max()))}")
    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(y, device=device, dtype=torch.long)

    return (input_tensor(split.x_train, device), labels(split.y_train),
            input_tensor(split.x_test, device), labels(split.y_test))


def input_tensor(x: Any, device: torch.device | str | None = None) -> torch.Tensor:
    """A model input as a tensor: integer arrays (token ids, an embedding's indices) stay ``long``,
    everything else becomes ``float32``."""
    dtype = torch.float32 if np.asarray(x).dtype.kind in "fcb" else torch.long
    return torch.as_tensor(x, device=device, dtype=dtype)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy (nats) and accuracy per member on ``(x, y)``.

    ``model`` maps ``(B, in)`` to logits ``(M, B, C)`` (a :class:`StackedMLP`) or ``(B, C)`` (one
    network, treated as M = 1); it runs in eval mode (training flags restored). Returns two
    arrays of shape (M,).
    """
    from infolens.layers import eval_mode

    loss_sum: torch.Tensor | float = 0.0
    correct: torch.Tensor | float = 0.0
    with eval_mode(model):  # batch norm uses its running statistics; dropout is off
        for start in range(0, len(y), EVAL_CHUNK):
            logits = model(x[start:start + EVAL_CHUNK])
            logits = logits if logits.ndim == 3 else logits.unsqueeze(0)
            target = y[start:start + EVAL_CHUNK].expand(logits.shape[0], -1)
            loss_sum = loss_sum + F.cross_entropy(logits.transpose(1, 2), target, reduction="none").sum(dim=1)
            correct = correct + (logits.argmax(dim=-1) == target).sum(dim=1)
    n = len(y)
    return ((torch.as_tensor(loss_sum) / n).double().cpu().numpy(),
            (torch.as_tensor(correct) / n).double().cpu().numpy())


def _adam(model: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam with PyTorch's defaults; the fused kernel where available (same update, fewer launches)."""
    params = list(model.parameters())
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64)
                for p in params)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def _record(history: TrainHistory, model: nn.Module, data: tuple[torch.Tensor, ...], epoch: int) -> None:
    x_train, y_train, x_test, y_test = data
    history.train_loss[:, epoch], history.train_accuracy[:, epoch] = evaluate(model, x_train, y_train)
    history.test_accuracy[:, epoch] = evaluate(model, x_test, y_test)[1]


def _advance(progress: Any, epoch: int) -> None:
    if progress is None:
        return
    if hasattr(progress, "update"):
        progress.update(1)
    else:
        progress(epoch)


def _new_history(model: StackedMLP, seeds: tuple[int, ...], epochs: int, prior: Any) -> TrainHistory:
    shape = (model.n_members, epochs + 1)
    history = TrainHistory(np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan),
                           activations=model.activations, seeds=seeds)
    if prior:
        for name in TrainHistory._CURVES:
            values = np.asarray(torch.as_tensor(prior[name]).cpu().numpy(), dtype=np.float64)
            upto = min(values.shape[1], epochs + 1)
            getattr(history, name)[:, :upto] = values[:, :upto]
    return history


def train_members(model: StackedMLP, split: Split, epochs: int, *, lr: float = 4e-4, batch_size: int = 256,
                  seeds: Sequence[int] | None = None,
                  on_epoch: Callable[[int, StackedMLP], None] | None = None,
                  device: Any = None, start_epoch: int = 0, optimizer_state: dict[str, Any] | None = None,
                  progress: Any = None, checkpoint: dict[str, Any] | None = None,
                  on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
                  eval_every: int = 1, weight_decay: float = 0.0) -> TrainHistory:
    """Train all members of ``model`` with Adam and per-member shuffled minibatches.

    Parameters
    ----------
    model : StackedMLP or MemberStack
        Trained in place (and moved to ``device`` when given): any module with ``n_members``,
        ``seeds``, ``activations`` and ``widths`` (input, ..., classes) that maps inputs
        ``(M, B, in)`` to logits ``(M, B, C)``.
    split : Split
        Training and test data; the test part is only evaluated.
    epochs : int
        Train up to this epoch (inclusive): epochs ``start_epoch + 1 .. epochs`` run.
    lr : float
        Adam learning rate (default 4e-4, as in Shwartz-Ziv & Tishby).
    batch_size : int
        Minibatch size per member; the last minibatch of an epoch may be smaller.
    seeds : sequence of int, optional
        Shuffle seed per member (default: the checkpoint's, else ``model.seeds``), see
        :func:`epoch_permutation`.
    on_epoch : callable ``(epoch, model)``, optional
        Called with epoch 0 before training (only when ``start_epoch == 0``: a resumed run already
        reported it) and after every epoch. Put ``InformationPlane.record`` here.
    device : optional
        Where to train; default: where the model's parameters are.
    start_epoch, optimizer_state : optional
        Resume after ``start_epoch`` with the model's current weights and this optimizer state.
        A full :func:`checkpoint_state` dict is accepted as ``optimizer_state`` too.
    progress : tqdm-like or callable, optional
        ``progress.update(1)`` (or ``progress(epoch)``) after every epoch.
    checkpoint : dict, optional
        A :func:`checkpoint_state` dict: restores the weights, the optimizer, the torch RNG state,
        the shuffle seeds, ``start_epoch`` and the curves so far. The model must have the
        checkpoint's widths and activations.
    on_checkpoint : callable ``(state)``, optional
        Called after every epoch with :func:`checkpoint_state` (save it at once, e.g. with
        ``torch.save`` to a temporary file and an atomic rename).
    eval_every : int
        Evaluate the curves every this many epochs (and at the first and last epoch); the other
        columns stay NaN. Evaluation is a full forward pass over both sets, about a fifth of an
        epoch of training on the 12-bit task; raise this when ``on_epoch`` evaluates anyway.
    weight_decay : float
        L2 penalty coefficient of Adam (``torch.optim.Adam(weight_decay=...)``), default none.

    Returns
    -------
    TrainHistory
        Curves of shape (M, epochs + 1) and the final optimizer state.
    """
    fn = "train_members"
    if not isinstance(model, nn.Module) or not all(hasattr(model, a) for a in _STACK_ATTRIBUTES):
        raise fail("model", fn, "an infolens.models.StackedMLP or MemberStack", model)
    epochs = check_int("epochs", epochs, fn, minimum=0)
    lr = check_float("lr", lr, fn, minimum=0.0, strict_minimum=True)
    weight_decay = check_float("weight_decay", weight_decay, fn, minimum=0.0)
    batch_size = check_int("batch_size", batch_size, fn, minimum=1)
    eval_every = check_int("eval_every", eval_every, fn, minimum=1)
    if checkpoint is None and _is_checkpoint(optimizer_state):
        checkpoint, optimizer_state = optimizer_state, None
    prior = None
    if checkpoint is not None:
        if not _is_checkpoint(checkpoint):
            raise fail("checkpoint", fn, "a dict from checkpoint_state", checkpoint)
        config = checkpoint.get("config", {})
        if (tuple(config.get("widths", model.widths)) != model.widths
                or tuple(config.get("activations", model.activations)) != model.activations):
            raise fail("checkpoint", fn, f"a checkpoint of a model with widths {model.widths} and "
                       f"activations {model.activations}", got=f"widths {config.get('widths')} and "
                       f"activations {config.get('activations')}")
        model.load_state_dict(checkpoint["model"])
        if seeds is None and checkpoint.get("shuffle_seeds") is not None:
            seeds = checkpoint["shuffle_seeds"]
        optimizer_state = checkpoint["optimizer"]
        start_epoch = checkpoint["epoch"]
        prior = checkpoint.get("history")
        torch.set_rng_state(checkpoint["rng"]["torch"])
    start_epoch = check_int("start_epoch", start_epoch, fn, minimum=0, maximum=epochs)
    seeds = tuple(model.seeds if seeds is None else seeds)
    if len(seeds) != model.n_members:
        raise fail("seeds", fn, f"a sequence of {model.n_members} ints (one per member)", seeds)
    seeds = tuple(check_int("seeds", s, fn, minimum=0) for s in seeds)

    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    x_train, y_train, x_test, y_test = _tensors(split, device, fn, model.widths[0], model.widths[-1])
    optimizer = _adam(model, lr, weight_decay)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    history = _new_history(model, seeds, epochs, prior)

    data = (x_train, y_train, x_test, y_test)
    if start_epoch == 0 or np.isnan(history.train_loss[:, start_epoch]).any():
        _record(history, model, data, start_epoch)
    if start_epoch == 0 and on_epoch is not None:
        on_epoch(0, model)
    n_train, n_members = len(y_train), model.n_members
    for epoch in range(start_epoch + 1, epochs + 1):
        order = torch.from_numpy(np.concatenate([epoch_permutation(s, epoch, n_train) for s in seeds]))
        order = order.to(device)
        x_epoch = x_train.index_select(0, order).view(n_members, n_train, -1)   # one gather per epoch
        y_epoch = y_train.index_select(0, order).view(n_members, n_train)
        for start in range(0, n_train, batch_size):
            logits = model(x_epoch[:, start:start + batch_size])               # (M, b, C)
            target = y_epoch[:, start:start + batch_size].reshape(-1)
            # sum over members of each member's mean loss (equal batch sizes: mean * M)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target) * n_members
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if epoch % eval_every == 0 or epoch == epochs:
            _record(history, model, data, epoch)
        if on_epoch is not None:
            on_epoch(epoch, model)
        if on_checkpoint is not None:
            on_checkpoint(checkpoint_state(model, optimizer, epoch, history))
        _advance(progress, epoch)
    history.optimizer_state = optimizer.state_dict()
    return history


def train_single(model: nn.Module, split: Split, epochs: int, *, lr: float = 4e-4, batch_size: int = 256,
                 seed: int = 0, device: Any = None, eval_every: int = 1) -> TrainHistory:
    """Train one classifier ``(B, in) -> logits (B, C)`` the plain way, with the same shuffles.

    The one-network-at-a-time counterpart of :func:`train_members` (same Adam, same minibatch
    order for shuffle seed ``seed``); used as the baseline in ``benchmarks/training.py`` and to
    check that stacking changes nothing. Returns a one-member :class:`TrainHistory`.
    """
    fn = "train_single"
    if not isinstance(model, nn.Module):
        raise fail("model", fn, "a torch.nn.Module", model)
    epochs = check_int("epochs", epochs, fn, minimum=0)
    batch_size = check_int("batch_size", batch_size, fn, minimum=1)
    seed = check_int("seed", seed, fn, minimum=0)
    eval_every = check_int("eval_every", eval_every, fn, minimum=1)
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    data = _tensors(split, device, fn)
    x_train, y_train = data[0], data[1]
    optimizer = _adam(model, check_float("lr", lr, fn, minimum=0.0, strict_minimum=True))
    shape = (1, epochs + 1)
    history = TrainHistory(np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan),
                           activations=(str(getattr(model, "activation", "")),), seeds=(seed,))
    for epoch in range(epochs + 1):
        if epoch > 0:
            order = torch.from_numpy(epoch_permutation(seed, epoch, len(y_train))).to(device)
            for start in range(0, len(y_train), batch_size):
                idx = order[start:start + batch_size]
                loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        if epoch % eval_every == 0 or epoch == epochs:
            _record(history, model, data, epoch)
    history.optimizer_state = optimizer.state_dict()
    return history


def finetune(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float, batch_size: int,
             seed: int, on_epoch: Callable[[int], None] | None = None) -> list[float]:
    """``epochs`` passes of Adam on cross-entropy over ``(x, y)``, batch order drawn from ``seed``.

    ``on_epoch(e)`` is called before the first epoch (``e = 0``) and after each epoch ``e``, with
    the model in eval mode. Returns the mean training loss of each epoch; leaves the model in eval
    mode. Used to fine-tune pruned networks (:func:`infolens.verify_pruning`) and by ``infolens probe``
    to train its network.
    """
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.eval()
    if on_epoch is not None:
        on_epoch(0)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(x.shape[0], generator=generator).to(x.device)
        total = 0.0
        for start in range(0, x.shape[0], batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * index.shape[0]
        model.eval()
        losses.append(total / x.shape[0])
        if on_epoch is not None:
            on_epoch(epoch)
    return losses
