"""Record the activations of named layers of any PyTorch model, and list a model's layers.

Layers are named the PyTorch way, by their :meth:`torch.nn.Module.named_modules` paths
(``"layers.0"``, ``"encoder.block.2.conv1"``). A layer selection may be a name, a glob pattern, a
module object, a predicate ``(name, module) -> bool`` or a list of these; it is turned into one
predicate in one place (:func:`select_layers`). Forward hooks are registered only on the selected
modules and are always removed, also when the body of the ``with`` block raises.

Example
-------
>>> with capture(model, ["layers.*"], flatten=True) as acts:   # doctest: +SKIP
...     for xb in batches:
...         model(xb)                      # minibatches are appended along the batch dimension
>>> acts["layers.0"].shape                 # doctest: +SKIP
torch.Size([4096, 10])
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from infolens._validation import InfoLensError, call_model, check_choice, check_int, fail

LayerSpec = str | nn.Module | Callable[[str, nn.Module], bool]
Layers = LayerSpec | Sequence[LayerSpec] | None

POOLING = ("mean", "max")
#: How :func:`capture` (``reduce=``) turns a layer's output into one vector per sample.
#: ``"flatten"``: ``(n, prod(rest))``; ``"mean"``, ``"last"``, ``"first"``: a sequence
#: ``(n, tokens, features)`` (batch first) becomes ``(n, features)`` by its mean over the tokens, its
#: last or its first token; a 2-D output ``(n, features)`` is already one vector per sample and is
#: kept; other shapes do not fit these three rules (an error names ``reduce``).
REDUCE = ("flatten", "mean", "last", "first")
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class LayerInfo:
    """One entry of :func:`list_layers`.

    Attributes
    ----------
    name : str
        The ``named_modules()`` path.
    type : str
        The module's class name.
    output_shape : tuple of int or None
        Shape of the output (of its first tensor, for modules returning tuples) in the example
        forward pass; None when the module was not called.
    n_params : int
        Number of parameters of the module including its children (a container counts those of
        its children).
    """

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    n_params: int


def first_tensor(value: Any, index: int = 0) -> torch.Tensor | None:
    """The ``index``-th tensor of a module output: the tensor itself, or from a tuple/list/dict."""
    if isinstance(value, torch.Tensor):
        return value if index == 0 else None
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        tensors = [v for v in value if isinstance(v, torch.Tensor)]
        return tensors[index] if index < len(tensors) else None
    return None


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule of ``model`` in eval mode, then restore each one's own training flag.

    Restoring per module (not ``model.train(flag)``) keeps a submodule the user had frozen in eval
    mode (a batch norm with fixed statistics, say) frozen; the flags come back also on error.
    """
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, flag in flags:
            module.training = flag


def list_layers(model: nn.Module, example_input: Any) -> list[LayerInfo]:
    """Every named submodule of ``model`` (root excluded) with its type, output shape and size.

    Output shapes come from one forward pass of ``example_input`` (a tensor, or a tuple of
    positional arguments) under ``torch.no_grad()`` in eval mode; the model's training flag is
    restored afterwards (:func:`eval_mode`), so batch-norm statistics are not touched.
    """
    fn = "list_layers"
    if not isinstance(model, nn.Module):
        raise fail("model", fn, "a torch.nn.Module", model)
    shapes: dict[str, tuple[int, ...]] = {}
    modules = [(name, module) for name, module in model.named_modules() if name]

    def make_hook(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            tensor = first_tensor(output)
            if tensor is not None and name not in shapes:
                shapes[name] = tuple(tensor.shape)
        return hook

    handles = []
    try:
        for name, module in modules:
            handles.append(module.register_forward_hook(make_hook(name)))
        args = example_input if isinstance(example_input, tuple) else (example_input,)
        with eval_mode(model), torch.no_grad():
            call_model(model, args, "example_input", fn)
    finally:
        for handle in handles:
            handle.remove()
    return [LayerInfo(name, type(module).__name__, shapes.get(name),
                      sum(p.numel() for p in module.parameters()))
            for name, module in modules]


def select_layers(model: nn.Module, layers: Layers, fn: str = "capture") -> list[tuple[str, nn.Module]]:
    """Resolve a layer selection to ``[(name, module), ...]`` in ``named_modules()`` order.

    Parameters
    ----------
    layers : None, str, nn.Module, callable or a list of these
        None selects every leaf module (the root only when it has no children). A string without
        glob characters is an exact name (``""`` is the root: its output is the model output); a
        string with ``*``, ``?`` or ``[`` is a glob over dotted names, where ``*`` and ``?`` stay
        within one component and ``**`` crosses dots (``"layers.*"`` matches ``"layers.0"`` but
        not ``"layers.0.1"``; ``"layers.**"`` matches both); a module object selects that
        submodule; a callable ``(name, module) -> bool`` is a predicate. A list (or any other
        iterable, such as ``model.layer_names``) selects the union.

    Raises
    ------
    InfoLensError
        For an exact name or module object not in the model (naming the closest layer names), a
        pattern that matches nothing, or a selection that is empty.
    """
    named = list(model.named_modules())
    predicate = _as_predicate(layers, named, fn)
    selected = [(name, module) for name, module in named if predicate(name, module)]
    if not selected:
        raise fail("layers", fn, "a selection matching at least one module", layers,
                   got=f"{layers!r}, which matches none")
    return selected


def _as_predicate(layers: Layers, named: list[tuple[str, nn.Module]],
                  fn: str) -> Callable[[str, nn.Module], bool]:
    """The one place where every accepted form of a layer selection becomes a predicate."""
    if layers is None:
        only_root = len(named) == 1
        return lambda name, module: next(module.children(), None) is None and (bool(name) or only_root)
    specs = _specs(layers)
    if not specs:
        raise fail("layers", fn, "a non-empty selection", layers)
    names = [name for name, _ in named]
    module_ids = {id(module) for _, module in named}
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    objects: set[int] = set()
    predicates: list[Callable[[str, nn.Module], bool]] = []
    for spec in specs:
        if isinstance(spec, str):
            if _GLOB_CHARS & set(spec):
                pattern = _glob_regex(spec)
                if not any(pattern.fullmatch(name) for name in names):
                    raise _unknown_layer(spec, names, fn, "matches no layer")
                patterns.append(pattern)
            elif spec in names:
                exact.add(spec)
            else:
                raise _unknown_layer(spec, names, fn, "is not a layer of the model")
        elif isinstance(spec, nn.Module):
            if id(spec) not in module_ids:
                raise fail("layers", fn, "modules that belong to the model", got=f"a {type(spec).__name__} "
                           "that is not among model.named_modules()")
            objects.add(id(spec))
        elif callable(spec):
            predicates.append(spec)
        else:
            raise fail("layers", fn, "a name, glob pattern, module, predicate or a list of these", spec)

    def predicate(name: str, module: nn.Module) -> bool:
        return (name in exact or id(module) in objects
                or any(p.fullmatch(name) for p in patterns)
                or any(bool(p(name, module)) for p in predicates))
    return predicate


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob over dotted module names: ``**`` any characters, ``*`` and ``?`` no dot."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        char = pattern[i]
        if char == "*":
            out.append("[^.]*")
        elif char == "?":
            out.append("[^.]")
        elif char == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end].replace("\\", "\\\\").replace("^", "\\^")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def _specs(layers: Layers) -> list[Any]:
    """The individual entries of a selection: a str, module or callable is one entry."""
    if isinstance(layers, (str, nn.Module)) or callable(layers) or not isinstance(layers, Iterable):
        return [layers]
    return list(layers)


def _unknown_layer(spec: str, names: list[str], fn: str, problem: str) -> InfoLensError:
    close = difflib.get_close_matches(spec, [n for n in names if n], n=5, cutoff=0.4)
    hint = f"; closest layer names: {', '.join(repr(c) for c in close)}" if close else ""
    return fail("layers", fn, "names from model.named_modules() (see infolens.list_layers)",
                got=f"{spec!r}, which {problem}{hint}")


class Activations(Mapping[str, torch.Tensor]):
    """Recorded activations, a read-only mapping ``layer name -> tensor`` (detached copies).

    Each forward pass appends its output along dimension 0 (the batch), so minibatches can be run
    one after another; the chunks are concatenated when a layer is read. Iteration follows the
    model's ``named_modules()`` order and lists only layers that produced output. With
    ``capture(..., inputs=True)``, :attr:`inputs` maps each layer to its input (first tensor
    argument) in the same way; otherwise it is None.
    """

    def __init__(self, names: Sequence[str], *, with_inputs: bool = False) -> None:
        self._order = list(names)
        self._chunks: dict[str, list[torch.Tensor]] = {}
        self.calls: dict[str, int] = dict.fromkeys(self._order, 0)
        """How many times each selected layer ran inside the ``with`` block."""
        self.inputs: Activations | None = Activations(names) if with_inputs else None
        self.reduce: str | None = None
        """The rule that made one vector per sample (``capture(reduce=...)``), or None."""

    def _append(self, name: str, tensor: torch.Tensor) -> None:
        self._chunks.setdefault(name, []).append(tensor)

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._chunks:
            raise KeyError(name)
        chunks = self._chunks[name]
        if len(chunks) > 1:
            try:
                chunks[:] = [torch.cat(chunks, dim=0)]
            except RuntimeError as err:
                shapes = sorted({tuple(c.shape) for c in chunks})
                raise InfoLensError(
                    f"The activations of layer {name!r} cannot be joined along the batch dimension: the "
                    f"forward passes gave shapes {shapes}. Use flatten=True or pool= for variable sizes."
                ) from err
        return chunks[0]

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._order if name in self._chunks)

    def __len__(self) -> int:
        return len(self._chunks)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name!r}: {tuple(self[name].shape)}" for name in self)
        return f"Activations({{{shapes}}})"


def reduce_output(tensor: torch.Tensor, rule: str, name: str, fn: str = "capture") -> torch.Tensor:
    """One vector per sample from a layer's output ``tensor`` by the rule ``rule`` (:data:`REDUCE`)."""
    if rule == "flatten" or tensor.ndim == 2:
        return tensor.reshape(tensor.shape[0], -1) if tensor.ndim != 2 else tensor
    if tensor.ndim != 3:
        raise fail("reduce", fn, "'flatten' for a layer whose output is not a sequence (n, tokens, "
                   "features) or (n, features)",
                   got=f"{rule!r} for layer {name!r} with output shape {tuple(tensor.shape)}")
    if rule == "mean":
        return tensor.mean(dim=1) if tensor.is_floating_point() else tensor.float().mean(dim=1)
    return tensor[:, -1] if rule == "last" else tensor[:, 0]


def _prepare(tensor: torch.Tensor, flatten: bool, pool: str | None, device: Any, dtype: Any,
             reduce: str | None = None, name: str = "") -> torch.Tensor:
    """Detach, pool/reduce/flatten, move, and make sure the result owns its memory."""
    original = tensor.detach()
    out = original if original.ndim > 0 else original.reshape(1)  # a 0-d output is recorded as (1,)
    if pool is not None and out.ndim > 2:
        dims = tuple(range(2, out.ndim))
        out = out.mean(dim=dims) if pool == "mean" else out.amax(dim=dims)
    if reduce is not None:
        out = reduce_output(out if out.ndim > 1 else out.reshape(-1, 1), reduce, name)
    if flatten and out.ndim != 2:
        out = out.reshape(out.shape[0], -1)
    out = out.to(device=device, dtype=dtype)
    if out.untyped_storage().data_ptr() == original.untyped_storage().data_ptr():
        out = out.clone()  # a later in-place op (ReLU(inplace=True)) must not change what we recorded
    return out


@contextmanager
def capture(model: nn.Module, layers: Layers = None, *, inputs: bool = False, flatten: bool = False,
            pool: str | None = None, device: Any = None, dtype: torch.dtype | None = None,
            output_index: int = 0, reduce: str | None = None) -> Iterator[Activations]:
    """Record the outputs of selected layers during the forward passes run inside the block.

    Parameters
    ----------
    model : nn.Module
    layers : None, str, nn.Module, callable or a list of these
        Which layers to record (see :func:`select_layers`); None records every leaf module.
    inputs : bool
        Also record each layer's input (its first tensor argument) in ``acts.inputs``.
    flatten : bool
        Reshape every recorded tensor to ``(N, prod(rest))``.
    pool : {"mean", "max"} or None
        Reduce CNN feature maps ``(N, C, *spatial)`` over the spatial dimensions to ``(N, C)``
        before any flattening; tensors with at most 2 dimensions are left as they are.
    device, dtype : optional
        Move the recorded copies there (e.g. ``device="cpu"`` to keep GPU memory free); by default
        they stay on the layer's device and dtype.
    output_index : int
        For modules that return a tuple, list or dict, which tensor in it to record (default the
        first tensor, e.g. the output of an ``nn.LSTM`` or the attention output of an
        ``nn.MultiheadAttention`` rather than its states or weights).
    reduce : {"flatten", "mean", "last", "first"} or None
        One vector per sample (after ``pool``), see :data:`REDUCE`: ``"flatten"`` to
        ``(N, prod(rest))``; for sequences ``(N, tokens, features)`` (batch first) the mean over
        tokens, the last or the first token. None (default) keeps the output's shape (unless
        ``flatten``). The rule is named on the result, ``acts.reduce``.

    Yields
    ------
    Activations
        A mapping filled during the block. Tensors are detached copies, never views of the
        model's buffers; each forward pass appends along the batch dimension. A module that runs
        several times per forward pass (a shared module) appends once per call, see
        ``acts.calls``.

    Raises
    ------
    InfoLensError
        At entry, for a bad selection or option. At exit (only when the block itself did not
        raise), when a layer that was named explicitly (by name or module object) never ran, or
        when no selected layer ran at all.

    Notes
    -----
    Hooks only observe; wrap the block in ``torch.no_grad()`` to save the autograd graph. Hooks
    are removed in a ``finally`` clause, so the model is left clean after an exception.
    """
    fn = "capture"
    if not isinstance(model, nn.Module):
        raise fail("model", fn, "a torch.nn.Module", model)
    if pool is not None:
        check_choice("pool", pool, POOLING, fn)
    output_index = check_int("output_index", output_index, fn, minimum=0)
    if reduce is not None:
        check_choice("reduce", reduce, REDUCE, fn)
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise fail("dtype", fn, "a torch.dtype such as torch.float32, or None", dtype)
    if device is not None:
        try:
            torch.empty(0, device=device)  # an unknown or absent device fails here, not in a hook
        except (RuntimeError, TypeError) as err:
            raise fail("device", fn, "an available torch device such as 'cpu', or None", device) from err
    selected = select_layers(model, layers, fn)
    required = _explicit_names(layers, selected)
    acts = Activations([name for name, _ in selected], with_inputs=bool(inputs))
    acts.reduce = reduce if reduce is not None else ("flatten" if flatten else None)

    def make_hook(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, kwargs: Any, output: Any) -> None:
            tensor = first_tensor(output, output_index)
            if tensor is None:
                kind = type(output).__name__
                raise InfoLensError(f"capture could not record layer {name!r}: its output ({kind}) has no "
                                    f"tensor at output_index={output_index}.")
            acts.calls[name] += 1
            acts._append(name, _prepare(tensor, flatten, pool, device, dtype, reduce, name))
            if acts.inputs is not None:
                given = first_tensor(tuple(args) + tuple(kwargs.values()))
                if given is not None:
                    acts.inputs._append(name, _prepare(given, flatten, pool, device, dtype))
        return hook

    handles = []
    try:
        for name, module in selected:
            handles.append(module.register_forward_hook(make_hook(name), with_kwargs=True))
        yield acts
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in required if acts.calls[name] == 0]
    if missing or not any(acts.calls.values()):
        never = missing or [name for name, _ in selected]
        raise InfoLensError(f"capture recorded nothing for layer(s) {', '.join(map(repr, never[:10]))}: they "
                            "never ran inside the with block (call the model inside it, and check that the "
                            "forward pass uses these modules).")


def _explicit_names(layers: Layers, selected: list[tuple[str, nn.Module]]) -> list[str]:
    """Selected layers that were asked for by exact name or module object (they must run)."""
    specs = _specs(layers)
    names = {s for s in specs if isinstance(s, str) and not (_GLOB_CHARS & set(s))}
    ids = {id(s) for s in specs if isinstance(s, nn.Module)}
    return [name for name, module in selected if name in names or id(module) in ids]
