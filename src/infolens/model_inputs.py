"""Any model's inputs: one tensor, a tuple of positional inputs or a dict of keyword inputs.

Every function of infolens that runs a model (:meth:`InformationPlane.record
<infolens.plane.InformationPlane.record>`, :func:`~infolens.plane.run_layers`,
:func:`~infolens.probes.probe_layers`, :func:`run_model` inside an :func:`~infolens.layers.capture`
block) takes its inputs through :class:`ModelInputs`, so they are handled in one way:

- ``x`` is a tensor (or array) of shape ``(n, ...)``, called as ``model(x)``; a tuple or list of
  them, called as ``model(*x)``; or a dict, called as ``model(**x)`` (``{"input_ids": ids,
  "attention_mask": mask}``). Every tensor in it has the same ``n`` rows; other values (a flag such
  as ``return_dict=False``) are passed to every call unchanged.
- Inputs keep their dtype: integer token ids stay integer (``nn.Embedding`` needs them), bool
  masks stay bool; only floating tensors are cast to the model's floating dtype. float64 arrays
  become float32 tensors, as numpy data usually is float64 by accident.
- :meth:`ModelInputs.vectors` is the input matrix X of the estimators that read the inputs
  (``ksg``, ``matrix_renyi``, ``"auto"`` of the information plane): floating parts flattened as
  they are, integer parts (token ids) one-hot per position. A distance between id *numbers*
  (token 17 is closer to 18 than to 900) means nothing; between one-hot rows it is sqrt(2) times
  the square root of the number of positions whose tokens differ, whatever the ids. Integer
  inputs are taken as categorical because a model that reads integers takes them as ids (an
  ``nn.Embedding``; an image model needs floats, so uint8 pixels are cast before the model).
- ``forward=`` replaces the call: ``forward(model, batch) -> output``, where ``batch`` has the
  structure of ``x`` (a tensor, tuple or dict of the same rows). Use it for models whose call is
  not ``model(x)`` (``lambda m, b: m.generate_features(b["ids"], layer=3)``).

Example
-------
>>> inputs = ModelInputs({"input_ids": ids, "attention_mask": mask}, "x", "f")  # doctest: +SKIP
>>> out = inputs.to("cpu", torch.float32).call(model, "x", "f")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from infolens._validation import (
    InfoLensError,
    _is_tensor,
    check_int,
    count_nonfinite,
    fail,
    is_out_of_memory,
    model_error,
)

Forward = Callable[[nn.Module, Any], Any]

#: Most values (rows x columns) of the one-hot vectors of integer inputs in
#: :meth:`ModelInputs.vectors` (256 MiB of float32).
MAX_ONE_HOT_VALUES = 2**26

_EXPECTED = ("a tensor or numeric array of shape (n, ...), a tuple of them (positional inputs) or a dict "
             "of them (keyword inputs such as input_ids and attention_mask)")


class ModelInputs:
    """Validated model inputs (see the module docstring): ``n`` rows, sliced and moved as one.

    Parameters
    ----------
    x : tensor, array, tuple/list or dict of these
    name, fn : str
        Parameter and function named by errors.
    min_samples : int
        Fewest rows accepted.
    forward : callable ``(model, batch) -> output``, optional
        How to run the model on a batch; default ``model(x)``, ``model(*x)`` or ``model(**x)``.
    """

    def __init__(self, x: Any, name: str, fn: str, *, min_samples: int = 2,
                 forward: Forward | None = None) -> None:
        if forward is not None and not callable(forward):
            raise fail("forward", fn, "a callable (model, batch) -> output, or None", forward)
        self.forward = forward
        if isinstance(x, Mapping):
            self.kind = "dict"
            self._parts: dict[Any, Any] = dict(x)
        elif isinstance(x, (tuple, list)) and any(_is_tensor(v) or isinstance(v, np.ndarray) for v in x):
            self.kind = "tuple"
            self._parts = dict(enumerate(x))
        else:
            self.kind = "tensor"
            self._parts = {0: x}
        single = self.kind == "tensor"
        for key, value in list(self._parts.items()):
            if single or _is_tensor(value) or isinstance(value, np.ndarray):
                self._parts[key] = _as_tensor(value, name, fn, allow_bool=not single)
        tensors = self.tensors()
        if not tensors:
            raise fail(name, fn, _EXPECTED, x)
        rows = {key: int(t.shape[0]) for key, t in tensors.items()}
        self.n = next(iter(rows.values()))
        if len(set(rows.values())) > 1:
            raise fail(name, fn, "inputs with the same number of rows", got=f"rows {rows}")
        if self.n < min_samples:
            raise fail(name, fn, f"inputs of shape (n, ...) with n >= {min_samples}", got=f"{self.n} rows")

    @classmethod
    def _from_parts(cls, template: ModelInputs, parts: dict[Any, Any]) -> ModelInputs:
        out = cls.__new__(cls)
        out.kind, out.forward, out._parts = template.kind, template.forward, parts
        out.n = next(int(v.shape[0]) for v in parts.values() if _is_tensor(v))
        return out

    def tensors(self) -> dict[Any, torch.Tensor]:
        """The tensor parts, by position or keyword."""
        return {key: value for key, value in self._parts.items() if isinstance(value, torch.Tensor)}

    @property
    def structure(self) -> Any:
        """The inputs in the structure they were given: a tensor, a tuple or a dict."""
        if self.kind == "tensor":
            return self._parts[0]
        if self.kind == "tuple":
            return tuple(self._parts[i] for i in range(len(self._parts)))
        return dict(self._parts)

    @property
    def shapes(self) -> str:
        """The tensor shapes, for messages: ``(100, 32)`` or ``input_ids (100, 32), ...``."""
        tensors = self.tensors()
        if self.kind == "tensor":
            return str(tuple(tensors[0].shape))
        return ", ".join(f"{key} {tuple(t.shape)}" for key, t in tensors.items())

    def to(self, device: Any = None, float_dtype: torch.dtype | None = None) -> ModelInputs:
        """Moved to ``device``; floating tensors cast to ``float_dtype``, all others keep theirs."""
        def move(value: torch.Tensor) -> torch.Tensor:
            dtype = float_dtype if float_dtype is not None and value.is_floating_point() else value.dtype
            return value.to(device=device, dtype=dtype)
        return self._from_parts(self, {k: move(v) if isinstance(v, torch.Tensor) else v
                                       for k, v in self._parts.items()})

    def rows(self, start: int, stop: int) -> ModelInputs:
        """Rows ``start:stop`` of every tensor (other values unchanged)."""
        return self._from_parts(self, {k: v[start:stop] if isinstance(v, torch.Tensor) else v
                                       for k, v in self._parts.items()})

    def take(self, rows: np.ndarray) -> ModelInputs:
        """The rows ``rows`` (integer indices, in their order) of every tensor (other values unchanged)."""
        return self._from_parts(self, {k: v[torch.as_tensor(rows, device=v.device)]
                                       if isinstance(v, torch.Tensor) else v for k, v in self._parts.items()})

    def batches(self, batch_size: int | None, order: np.ndarray | None = None) -> Iterator[ModelInputs]:
        """Row batches of ``batch_size`` (all rows at once for None): consecutive rows, or the rows
        ``order`` (a permutation of the row indices) in that order."""
        step = self.n if batch_size is None else batch_size
        for start in range(0, self.n, step):
            if order is not None:
                yield self.take(order[start:start + step])
            else:
                yield self if step >= self.n else self.rows(start, start + step)

    def flat(self) -> torch.Tensor:
        """One ``(n, features)`` float tensor: every tensor part flattened and joined (the raw input
        as a probe or an estimator reads it)."""
        parts = [t.reshape(self.n, -1) for t in self.tensors().values()]
        parts = [p if p.is_floating_point() else p.to(torch.float32) for p in parts]
        dtype = torch.promote_types(*(p.dtype for p in parts)) if len(parts) > 1 else parts[0].dtype
        return torch.cat([p.to(dtype) for p in parts], dim=1) if len(parts) > 1 else parts[0]

    def vectors(self, name: str = "x", fn: str = "InformationPlane") -> torch.Tensor:
        """The ``(n, features)`` input vectors X of the estimators that read inputs (float32, or
        the floating parts' dtype), on the inputs' device.

        Floating parts are flattened as they are; bool parts (masks) read 0/1; integer parts
        (token ids) are one-hot per position over the ids that occur in the part (ids that never
        occur add only zero columns, so the data's own vocabulary gives the same distances as an
        ``nn.Embedding``'s ``num_embeddings``): ``positions x distinct ids`` columns. More than
        :data:`MAX_ONE_HOT_VALUES` one-hot values (rows x columns) raise, naming ``name``.
        """
        parts = []
        for key, part in self.tensors().items():
            flat = part.reshape(self.n, -1)
            if flat.is_floating_point() or flat.dtype == torch.bool:
                parts.append(flat if flat.is_floating_point() else flat.to(torch.float32))
                continue
            ids, codes = torch.unique(flat, return_inverse=True)
            positions, vocabulary = flat.shape[1], len(ids)
            if self.n * positions * vocabulary > MAX_ONE_HOT_VALUES:
                where = "" if self.kind == "tensor" else f" ({key!r})"
                raise fail(name, fn, f"integer inputs (token ids) whose one-hot vectors{where}, which "
                           "the estimators that read inputs use, have at most "
                           f"{MAX_ONE_HOT_VALUES:,} values (or an estimator that does not read x)",
                           got=f"{self.n} rows x {positions} positions x {vocabulary} distinct ids")
            onehot = torch.zeros(self.n, positions * vocabulary, dtype=torch.float32, device=flat.device)
            offsets = torch.arange(positions, device=flat.device) * vocabulary
            onehot.scatter_(1, codes + offsets, 1.0)
            parts.append(onehot)
        dtype = torch.promote_types(*(p.dtype for p in parts)) if len(parts) > 1 else parts[0].dtype
        return torch.cat([p.to(dtype) for p in parts], dim=1) if len(parts) > 1 else parts[0]

    def call(self, model: nn.Module, name: str, fn: str) -> Any:
        """Run the model on these inputs (``forward`` when given). An error the model raises on
        them becomes an :class:`InfoLensError` naming ``name``; running out of memory says so."""
        try:
            if self.forward is not None:
                return self.forward(model, self.structure)
            if self.kind == "dict":
                return model(**self._parts)
            if self.kind == "tuple":
                return model(*self.structure)
            return model(self._parts[0])
        except InfoLensError:
            raise
        except (MemoryError, RuntimeError, TypeError, ValueError, IndexError) as err:
            integer = any(not t.is_floating_point() for t in self.tensors().values())
            hint = " (integer inputs are passed as integers, as token ids need: cast x to float for a model" \
                   " that takes floats)" if integer else ""
            raise model_error(err, name, fn, self.shapes + hint) from err


def float_dtype_of(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating parameter or buffer; None if it has none (floating
    inputs then keep their dtype)."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer; CPU for a model without any."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def run_model(model: nn.Module, x: Any, *, forward: Forward | None = None, batch_size: int | None = None,
              device: Any = None, name: str = "x", fn: str = "run_model") -> Any:
    """Run ``model`` on ``x`` (any input form, see :mod:`infolens.model_inputs`) in row batches.

    Inputs keep their dtype (floating ones are cast to the model's float dtype) and move to
    ``device`` (default the model's); a :class:`ModelInputs` is taken as it is (already moved).
    Call it inside :func:`~infolens.layers.capture` to record layers; wrap it in
    ``torch.no_grad()`` and :func:`~infolens.layers.eval_mode` as needed.

    Parameters
    ----------
    batch_size : int, optional
        Rows per forward pass; None runs all rows at once.

    Returns
    -------
    The model outputs, joined along dimension 0 when they are tensors (else the last batch's).
    """
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, fn, minimum=1)
    if isinstance(x, ModelInputs):
        inputs = x
    else:
        inputs = ModelInputs(x, name, fn, min_samples=1, forward=forward)
        inputs = inputs.to(device if device is not None else device_of(model), float_dtype_of(model))
    outputs = [batch.call(model, name, fn) for batch in inputs.batches(batch_size)]
    if len(outputs) > 1 and all(isinstance(o, torch.Tensor) and o.ndim > 0 for o in outputs):
        return torch.cat(outputs, dim=0)
    return outputs[-1]


def _as_tensor(value: Any, name: str, fn: str, *, allow_bool: bool) -> torch.Tensor:
    """One input part as a tensor with data: numeric, real, finite, at least 1-D."""
    if not _is_tensor(value):
        try:
            arr = np.asarray(value)
            if arr.dtype == np.float64:
                arr = arr.astype(np.float32)
            value = torch.as_tensor(arr)
        except (TypeError, ValueError, RuntimeError) as err:  # ragged, strings, objects
            raise fail(name, fn, _EXPECTED, value) from err
    if not isinstance(value, torch.Tensor):
        raise fail(name, fn, _EXPECTED, value)
    if (value.dtype == torch.bool and not allow_bool) or value.is_complex() or value.device.type == "meta":
        what = "a real numeric tensor with data (not complex or meta; bool only as a mask beside the input)"
        raise fail(name, fn, what, value)
    if value.ndim < 1:
        raise fail(name, fn, "tensors of shape (n, ...)", value)
    if count_nonfinite(value, first=True):
        raise fail(name, fn, "finite (no NaN or inf)", value)
    return value


__all__ = ["MAX_ONE_HOT_VALUES", "Forward", "ModelInputs", "device_of", "float_dtype_of",
           "is_out_of_memory", "model_error", "run_model"]
