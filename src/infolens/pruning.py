"""Pruning surgery and its verification: remove layers, fine-tune briefly, compare accuracy.

:func:`prune_layers` returns a copy of a model without some layers (replaced by ``nn.Identity`` where
their input and output shapes agree, else the network jumps to a new linear head there,
:class:`JumpToHead`). :func:`verify_pruning` checks a probe's redundant-layer flags
(:class:`~infolens.probes.ProbeReport`): it removes the flagged layers, fine-tunes every variant
(the full network too) with the same budget (:func:`~infolens.training.finetune`), and compares the
accuracy lost with that of removing unflagged layers instead, as controls.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from infolens._validation import InfoLensError, check_float, check_int, fail, to_numpy
from infolens.layers import INPUT, eval_mode
from infolens.training import finetune

if TYPE_CHECKING:
    from infolens.probes import ProbeReport

@dataclass(frozen=True)
class PruningVariant:
    """One network variant of a pruning check.

    Attributes
    ----------
    name : str
        ``"full"``, ``"pruned"`` or ``"control"``.
    removed : tuple of str
        Layers removed (empty for the full network).
    actions : dict
        For each removed layer, ``"identity"`` (replaced by ``nn.Identity``: same input and output
        shape) or ``"jump to head"`` (the network stops before it and a new linear head reads its
        input; every later layer is dropped too).
    accuracy_before : float
        Test accuracy right after the surgery, before fine-tuning (mean over seeds).
    accuracy : float
        Test accuracy after the brief fine-tuning (mean over seeds).
    accuracy_per_seed : tuple of float
    n_parameters : int
        Parameters the variant uses (those reached by the gradient).
    """

    name: str
    removed: tuple[str, ...]
    actions: Mapping[str, str]
    accuracy_before: float
    accuracy: float
    accuracy_per_seed: tuple[float, ...]
    n_parameters: int


@dataclass(frozen=True)
class PruningResult:
    """Accuracy of a network with layers removed, against the full network and control removals.

    Every variant (the full network too) gets the same brief fine-tuning, so ``cost`` compares
    like with like: ``cost = full.accuracy - variant.accuracy`` (a fraction; ``*100`` for
    accuracy points).
    """

    full: PruningVariant
    pruned: PruningVariant
    controls: tuple[PruningVariant, ...]
    epochs: int
    lr: float
    n_seeds: int
    n_test: int

    @property
    def cost(self) -> float:
        """Accuracy lost by removing the flagged layers (fine-tuned full minus fine-tuned pruned)."""
        return self.full.accuracy - self.pruned.accuracy

    def control_costs(self) -> dict[str, float]:
        """Accuracy lost by each control removal, keyed by the removed layer."""
        return {", ".join(c.removed): self.full.accuracy - c.accuracy for c in self.controls}

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per variant (accuracies as fractions, cost in points)."""
        import pandas as pd

        rows = []
        for variant in (self.full, self.pruned, *self.controls):
            rows.append({
                "variant": variant.name, "removed": ", ".join(variant.removed) or "-",
                "action": ", ".join(sorted(set(variant.actions.values()))) or "-",
                "accuracy_before_finetune": variant.accuracy_before, "accuracy": variant.accuracy,
                "cost_points": 100.0 * (self.full.accuracy - variant.accuracy),
                "n_parameters": variant.n_parameters,
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary."""
        def variant(v: PruningVariant) -> dict[str, Any]:
            return {"name": v.name, "removed": list(v.removed), "actions": dict(v.actions),
                    "accuracy_before": v.accuracy_before, "accuracy": v.accuracy,
                    "accuracy_per_seed": list(v.accuracy_per_seed), "n_parameters": v.n_parameters,
                    "cost_points": 100.0 * (self.full.accuracy - v.accuracy)}
        return {"full": variant(self.full), "pruned": variant(self.pruned),
                "controls": [variant(c) for c in self.controls], "epochs": self.epochs, "lr": self.lr,
                "n_seeds": self.n_seeds, "n_test": self.n_test, "cost_points": 100.0 * self.cost}


class _Cut(Exception):  # noqa: N818 - control flow, not an error
    def __init__(self, tensor: torch.Tensor) -> None:
        super().__init__("cut")
        self.tensor = tensor


class JumpToHead(nn.Module):
    """Run ``body`` until the input of layer ``cut`` and feed that (flattened) to ``head``.

    The rest of ``body`` (the layer ``cut`` and everything after it) is not run: a forward
    pre-hook on ``cut`` stops the forward pass by raising a private exception that carries the
    layer's input.
    """

    def __init__(self, body: nn.Module, cut: str, head: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.cut = cut
        self.head = head
        self.body.get_submodule(cut).register_forward_pre_hook(_stop_here)

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        try:
            self.body(*args, **kwargs)
        except _Cut as stop:
            return self.head(stop.tensor.flatten(1))
        raise InfoLensError(f"JumpToHead: layer {self.cut!r} did not run in the forward pass.")


def _stop_here(module: nn.Module, args: tuple[Any, ...]) -> None:
    raise _Cut(args[0])


def prune_layers(model: nn.Module, remove: Sequence[str], example_input: Any, *,
                 n_outputs: int | None = None) -> tuple[nn.Module, dict[str, str]]:
    """A copy of ``model`` without the layers ``remove``; the original is not modified.

    A layer whose (single tensor) input and output have the same shape is replaced by
    ``nn.Identity``. Otherwise the network jumps to the head there: it stops before the earliest
    such layer and a new ``nn.Linear(input features, n_outputs)`` reads that layer's flattened
    input (every later layer is dropped, see :class:`JumpToHead`). Works for any model whose
    layers are named submodules (``nn.Sequential``, a ``ModuleList`` of blocks, custom forwards).

    Returns
    -------
    (pruned model, actions)
        ``actions[name]`` is ``"identity"``, ``"jump to head"``, or ``"dropped (after the cut)"``.
    """
    fn = "prune_layers"
    names = _check_layer_names(model, remove, "remove", fn)
    shapes, order, output_shape = _layer_shapes(model, names, example_input)
    pruned = copy.deepcopy(model)
    actions: dict[str, str] = {}
    cut: str | None = None
    for name in sorted(names, key=order.__getitem__):
        shape_in, shape_out = shapes[name]
        if cut is not None:
            actions[name] = "dropped (after the cut)"
        elif shape_in is not None and shape_in == shape_out:
            _set_submodule(pruned, name, nn.Identity())
            actions[name] = "identity"
        else:
            if shape_in is None:
                raise fail("remove", fn, "layers that take one tensor input (to replace or cut them)",
                           got=f"{name!r}, whose input is not a single tensor")
            cut = name
            actions[name] = "jump to head"
    if cut is not None:
        outputs = n_outputs if n_outputs is not None else int(output_shape[-1])
        in_features = int(np.prod(shapes[cut][0][1:]))
        parameter = next(model.parameters(), None)
        head = nn.Linear(in_features, outputs)
        if parameter is not None:
            head = head.to(device=parameter.device, dtype=parameter.dtype)
        pruned = JumpToHead(pruned, cut, head)
    return pruned, actions


def verify_pruning(model: nn.Module, x_train: Any, y_train: Any, x_test: Any, y_test: Any,
                   remove: Sequence[str] | ProbeReport, *, controls: Sequence[str] | None = None,
                   epochs: int = 3, lr: float = 1e-3, batch_size: int = 128, n_seeds: int = 1,
                   seed: int = 0, device: Any = None) -> PruningResult:
    """Remove layers, fine-tune briefly with Adam, and compare test accuracy with the full network.

    Parameters
    ----------
    model : nn.Module
        A trained classifier returning logits; it is copied, never modified.
    x_train, y_train, x_test, y_test : arrays or tensors
        Data for fine-tuning and for measuring accuracy.
    remove : sequence of str, or ProbeReport
        Layers to remove together; see :func:`prune_layers`. A :class:`~infolens.probes.ProbeReport`
        stands for its redundant layers (``"input"`` excluded), and then ``controls`` defaults to
        every unflagged probed layer.
    controls : sequence of str, optional
        Layers to remove instead, one at a time, as controls (typically the unflagged layers).
    epochs, lr, batch_size : fine-tuning budget, the same for every variant (full network
        included), with cross-entropy loss.
    n_seeds : int
        Repeat every fine-tuning with seeds ``seed .. seed + n_seeds - 1`` (new heads and batch
        order) and average the accuracies, to reduce the noise of the comparison.
    device : optional
        Default: the device of the model's parameters.

    Returns
    -------
    PruningResult

    Notes
    -----
    The global torch random state is left untouched (:func:`torch.random.fork_rng`).
    """
    fn = "verify_pruning"
    if not isinstance(model, nn.Module):
        raise fail("model", fn, "a torch.nn.Module", model)
    if hasattr(remove, "is_redundant"):  # a ProbeReport: its flags, and the unflagged as controls
        remove, controls = _flagged(remove, controls, fn)
    epochs = check_int("epochs", epochs, fn, minimum=0)
    lr = check_float("lr", lr, fn, minimum=0.0, strict_minimum=True)
    batch_size = check_int("batch_size", batch_size, fn, minimum=1)
    n_seeds = check_int("n_seeds", n_seeds, fn, minimum=1)
    seed = check_int("seed", seed, fn, minimum=0)
    remove_names = _check_layer_names(model, remove, "remove", fn)
    control_names = _check_layer_names(model, controls, "controls", fn) if controls else []
    parameter = next(model.parameters(), None)
    if device is None:
        device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    xs_train, ys_train = _tensors(x_train, y_train, "x_train", "y_train", fn, device, dtype)
    xs_test, ys_test = _tensors(x_test, y_test, "x_test", "y_test", fn, device, dtype)
    base = copy.deepcopy(model).to(device)
    example = xs_train[:2]

    def run(name: str, removed: list[str]) -> PruningVariant:
        before, after = [], []
        actions: dict[str, str] = {}
        n_params = 0
        for s in range(seed, seed + n_seeds):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s)
                if removed:
                    variant, actions = prune_layers(base, removed, example)
                else:
                    variant = copy.deepcopy(base)
                variant = variant.to(device)
                before.append(_accuracy(variant, xs_test, ys_test, batch_size))
                finetune(variant, xs_train, ys_train, epochs=epochs, lr=lr, batch_size=batch_size, seed=s)
            after.append(_accuracy(variant, xs_test, ys_test, batch_size))
            n_params = _used_parameters(variant, example)
        return PruningVariant(name=name, removed=tuple(removed), actions=dict(actions),
                              accuracy_before=float(np.mean(before)), accuracy=float(np.mean(after)),
                              accuracy_per_seed=tuple(after), n_parameters=n_params)

    full = run("full", [])
    pruned = run("pruned", remove_names)
    control_results = tuple(run("control", [name]) for name in control_names)
    return PruningResult(full=full, pruned=pruned, controls=control_results, epochs=epochs, lr=lr,
                         n_seeds=n_seeds, n_test=int(ys_test.shape[0]))


def _flagged(report: ProbeReport, controls: Sequence[str] | None, fn: str
             ) -> tuple[list[str], Sequence[str] | None]:
    """The layers a probe report flags redundant and, unless given, the unflagged ones as controls
    (the raw input is never removed)."""
    remove = [name for name in report.redundant if name != INPUT]
    if not remove:
        raise fail("remove", fn, "layer names, or a ProbeReport that flags a layer redundant "
                   "(else there is nothing to prune)", got="a ProbeReport with no redundant layer")
    if controls is None:
        controls = [name for name, flag in zip(report.layers, report.is_redundant, strict=True)
                    if not flag and name != INPUT]
    return remove, controls


def _check_layer_names(model: nn.Module, names: Any, param: str, fn: str) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise fail(param, fn, "a non-empty list of layer names", names)
    known = {name for name, _ in model.named_modules() if name}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise fail(param, fn, "names from model.named_modules()", got=f"unknown layer(s) {unknown[:5]}")
    return list(dict.fromkeys(names))


def _layer_shapes(model: nn.Module, names: list[str], example_input: Any
                  ) -> tuple[dict[str, tuple[Any, Any]], dict[str, int], tuple[int, ...]]:
    """Input/output shapes and execution order of the named layers in one forward pass."""
    shapes: dict[str, tuple[Any, Any]] = {}
    order: dict[str, int] = {}
    handles = []

    def make_hook(name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            if name in order:
                return
            order[name] = len(order)
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            shape_in = tuple(tensors[0].shape) if len(args) == 1 and len(tensors) == 1 else None
            shape_out = tuple(output.shape) if isinstance(output, torch.Tensor) else None
            shapes[name] = (shape_in, shape_out)
        return hook

    try:
        for name in names:
            handles.append(model.get_submodule(name).register_forward_hook(make_hook(name)))
        with eval_mode(model), torch.no_grad():
            output = model(example_input)
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in names if name not in order]
    if missing:
        raise InfoLensError(f"prune_layers: layer(s) {missing[:5]} did not run in the forward pass, so they "
                            "cannot be removed.")
    return shapes, order, tuple(output.shape)


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def _tensors(x: Any, y: Any, x_name: str, y_name: str, fn: str, device: Any,
             dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(to_numpy(x))
    if inputs.ndim == 0 or inputs.shape[0] < 2:
        raise fail(x_name, fn, "an array of shape (n, ...) with n >= 2", x)
    labels = (y.detach().reshape(-1) if isinstance(y, torch.Tensor)
              else torch.as_tensor(to_numpy(y).reshape(-1)))
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise fail(y_name, fn, "integer class labels 0..K-1", y)
    if labels.shape[0] != inputs.shape[0]:
        raise fail(y_name, fn, f"one label per row of '{x_name}' ({inputs.shape[0]})",
                   got=f"{labels.shape[0]} labels")
    return inputs.to(device=device, dtype=dtype), labels.to(device=device, dtype=torch.long)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, x.shape[0], max(batch_size, 1024)):
            logits = model(x[start:start + max(batch_size, 1024)])
            correct += int((logits.argmax(dim=1) == y[start:start + max(batch_size, 1024)]).sum())
    return correct / x.shape[0]


def _used_parameters(model: nn.Module, example: torch.Tensor) -> int:
    """Number of parameters that the output depends on (those the gradient reaches)."""
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        model(example).float().sum().backward()
    count = sum(p.numel() for p in model.parameters() if p.grad is not None)
    model.zero_grad(set_to_none=True)
    return count
