"""Input coercion and parameter checks with one error type and one message shape.

Every bad input in infolens raises :class:`InfoLensError` (a ``ValueError``) whose message has the
form ``"The 'k' parameter of estimate_mi must be an int >= 1. Got 0 instead."``: the parameter,
the function, what was expected and what was received.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np


class InfoLensError(ValueError):
    """Raised for any invalid input or parameter given to infolens."""


class InfoLensWarning(UserWarning):
    """Warns that an estimate may be unreliable (ties, high dimension, near a known cap)."""


def _describe(value: Any) -> str:
    """A short description of a received value for an error message; never raises."""
    try:
        if isinstance(value, np.ndarray) or _is_tensor(value):
            text = f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
            return text + _small_values(value)
        text = repr(value)
    except Exception:  # noqa: BLE001 - describing a bad value must never hide the real error
        return f"a value of type {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def _small_values(value: Any) -> str:
    """" with values [...]" for arrays of at most 6 readable numbers, else ""."""
    if _is_tensor(value):
        import torch

        if value.numel() > 6 or value.device.type == "meta" or value.is_complex():
            return ""
        value = value.detach().cpu().to(torch.float64).numpy()  # bfloat16 has no numpy dtype
    if value.size == 0 or value.size > 6 or value.dtype == object:
        return ""
    return f" with values {np.array2string(value.reshape(-1), separator=', ')}"


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def fail(name: str, fn: str, expected: str, value: Any = None, *, got: str | None = None) -> InfoLensError:
    """Build the one error message shape; ``raise fail(...)`` at the call site."""
    received = got if got is not None else _describe(value)
    return InfoLensError(f"The '{name}' parameter of {fn} must be {expected}. Got {received} instead.")


def check_choice(name: str, value: Any, choices: Sequence[str], fn: str) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise fail(name, fn, f"one of {options}", value)
    return value


def check_int(name: str, value: Any, fn: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as an int within ``[minimum, maximum]``; bools are refused."""
    bounds = _bounds_text(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(name, fn, f"an int{bounds}", value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise fail(name, fn, f"an int{bounds}", value)
    return value


#: Largest seed accepted: numpy's legacy ``np.random.seed`` (used by MNIST-1D), openTSNE and
#: UMAP take seeds below 2**32.
MAX_SEED = 2**32 - 1


def check_seed(name: str, value: Any, fn: str, *, allow_none: bool = False) -> int | None:
    """Return a seed as an int in ``[0, 2**32 - 1]`` (or None when ``allow_none``).

    Refuses what numpy and torch would read differently or reject deep inside: strings, floats,
    bools, negative ints.
    """
    if value is None and allow_none:
        return None
    expected = f"an int in [0, {MAX_SEED}]" + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not 0 <= int(value) <= MAX_SEED:
        raise fail(name, fn, expected, value)
    return int(value)


def check_float(name: str, value: Any, fn: str, *, minimum: float | None = None,
                maximum: float | None = None, strict_minimum: bool = False) -> float:
    """Return ``value`` as a finite float within bounds (``> minimum`` when ``strict_minimum``)."""
    op = ">" if strict_minimum else ">="
    bounds = _bounds_text(minimum, maximum, op)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise fail(name, fn, f"a finite float{bounds}", value)
    number = float(value)
    too_small = minimum is not None and (number <= minimum if strict_minimum else number < minimum)
    if too_small or (maximum is not None and number > maximum):
        raise fail(name, fn, f"a finite float{bounds}", value)  # the value as received
    return number


def check_probability_level(name: str, value: Any, fn: str) -> float:
    """A confidence level strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
        raise fail(name, fn, "a float strictly between 0 and 1", value)
    return float(value)


def _bounds_text(minimum: Any, maximum: Any, op: str = ">=") -> str:
    parts = []
    if minimum is not None:
        parts.append(f" {op} {minimum}")
    if maximum is not None:
        parts.append(f" <= {maximum}")
    return " and".join(parts)


def to_numpy(value: Any) -> np.ndarray:
    """Return a numpy view of an array-like or a (detached, CPU) torch tensor.

    bfloat16 tensors, which numpy cannot hold, are read as float32 (exactly).
    """
    if _is_tensor(value):
        import torch

        tensor = value.detach().cpu()
        return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()
    return np.asarray(value)


#: Values tested at a time by :func:`count_nonfinite`: its boolean temporaries stay about 1 MB
#: whatever the size of the input (a whole-array ``isfinite`` costs a boolean copy of it).
FINITE_CHUNK = 2**20


def count_nonfinite(values: Any, *, first: bool = False) -> int:
    """The number of NaN or inf entries of a numpy array or torch tensor, tested in chunks of about
    :data:`FINITE_CHUNK` values (bounded temporaries); 0 for integer and bool ones.

    With ``first``, stops at the first chunk holding one and returns that chunk's count (> 0 when
    any entry is not finite): a cheap "is everything finite" test, ``count_nonfinite(v, first=True)
    == 0``.
    """
    tensor = _is_tensor(values)
    if tensor:
        import torch

        if not (values.is_floating_point() or values.is_complex()):
            return 0
        isfinite: Any = torch.isfinite
        if values.is_contiguous():
            values = values.reshape(-1)
    else:
        values = np.asarray(values)
        if not np.issubdtype(values.dtype, np.inexact):
            return 0
        isfinite = np.isfinite
        if values.flags.c_contiguous:
            values = values.reshape(-1)
    if values.ndim == 0:
        return int(not bool(isfinite(values)))
    if len(values) == 0:
        return 0
    row = values[0].numel() if tensor else values[0].size
    step = max(1, FINITE_CHUNK // max(row, 1))
    bad = 0
    for start in range(0, len(values), step):
        finite = isfinite(values[start:start + step])
        if not bool(finite.all()):
            bad += int(finite.numel() - finite.sum()) if tensor else int(finite.size - finite.sum())
            if first:
                return bad
    return bad


def as_samples(x: Any, name: str, fn: str, *, min_samples: int = 2,
               allow_constant: bool = True, labels: bool = False,
               keep_float32: bool = False) -> np.ndarray:
    """Coerce samples to a C-contiguous array of shape (n, d): float64, or int64 label codes.

    A 1-D input of length n becomes (n, 1). String labels (str or bytes, as an array or a list)
    become integer codes per column, in sorted order (``np.unique``), as discrete samples.
    NaN/inf, complex, object (other than integers or strings), more than two dimensions and
    fewer than ``min_samples`` rows raise :class:`InfoLensError`; with ``allow_constant=False``
    so do columns with zero variance.
    With ``labels=True``, integer input (of any size: int64, uint64 or Python ints beyond 64
    bits) becomes exact per-column codes ``0..K_j - 1`` in sorted order, never rounded through
    float64 (which merges integers beyond 2**53); float input stays float64.
    With ``keep_float32=True``, float32 input stays float32 (no float64 copy: 8 bytes a value,
    for a consumer that converts a few rows at a time).
    """
    arr = _numeric_array(x, name, fn)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise fail(name, fn, "an array of shape (n,) or (n, d)", arr)
    if arr.shape[1] == 0:
        raise fail(name, fn, "an array with at least one column", arr)
    if arr.shape[0] < min_samples:
        raise fail(name, fn, f"an array with at least {min_samples} samples", arr,
                   got=f"{arr.shape[0]} samples")
    if labels and (arr.dtype == object or np.issubdtype(arr.dtype, np.integer)):
        return np.ascontiguousarray(np.column_stack([_dense_rank(column) for column in arr.T]))
    dtype = np.float32 if keep_float32 and arr.dtype == np.float32 else np.float64
    try:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    except OverflowError as err:  # Python ints beyond the float64 range
        raise fail(name, fn, "numbers within the float64 range", got="integers beyond 1.8e308") from err
    if count_nonfinite(arr, first=True):
        raise fail(name, fn, "finite (no NaN or inf)", arr, got=f"{count_nonfinite(arr)} non-finite values")
    if not allow_constant:
        constant = np.flatnonzero(np.ptp(arr, axis=0) == 0)
        if constant.size:
            raise fail(name, fn, "free of constant (zero-variance) columns", arr,
                       got=f"constant columns {constant.tolist()[:10]}")
    return arr


def _numeric_array(x: Any, name: str, fn: str) -> np.ndarray:
    """A real numeric numpy array (bool as int64; an object array only of integers)."""
    try:
        arr = to_numpy(x)
    except (TypeError, ValueError, RuntimeError) as err:  # ragged lists, meta tensors, objects
        raise fail(name, fn, "a numeric array", x) from err
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if _is_text(arr):
        return _text_codes(arr, name, fn)
    if arr.dtype == object and arr.size and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in arr.flat):
        return arr  # Python ints beyond 64 bits: exact as labels, converted as numbers
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise fail(name, fn, "a real numeric array (not complex, object or string)", arr)
    return arr


def _is_text(arr: np.ndarray) -> bool:
    """Whether an array holds string labels (a str or bytes dtype, or objects that are all str)."""
    if arr.dtype.kind in "US":
        return True
    return arr.dtype == object and arr.size > 0 and all(isinstance(v, (str, bytes)) for v in arr.flat)


def _text_codes(arr: np.ndarray, name: str, fn: str) -> np.ndarray:
    """String labels as int64 codes ``0..K_j - 1`` per column, in sorted label order (np.unique)."""
    columns = arr[:, None] if arr.ndim == 1 else arr
    if columns.ndim != 2 or arr.size == 0:
        raise fail(name, fn, "an array of shape (n,) or (n, d)", arr)
    try:
        codes = [np.unique(column, return_inverse=True)[1].reshape(-1) for column in columns.T]
    except TypeError as err:  # str and bytes mixed: not comparable
        raise fail(name, fn, "labels of one type (all str or all bytes)", arr) from err
    out = np.column_stack(codes).astype(np.int64) if codes else np.zeros(columns.shape, np.int64)
    return out.reshape(arr.shape)


def is_discrete(x: Any) -> bool:
    """Whether samples are discrete labels: an integer or boolean dtype, Python integers, or strings."""
    try:
        arr = to_numpy(x)
    except (TypeError, ValueError, RuntimeError):  # as_samples raises the InfoLensError
        return False
    if _is_text(arr):
        return True
    if arr.dtype == object:
        return arr.size > 0 and all(isinstance(v, numbers.Integral) for v in arr.flat)
    return arr.dtype == bool or np.issubdtype(arr.dtype, np.integer)


def as_labels(x: Any, name: str, fn: str, *, min_samples: int = 1) -> np.ndarray:
    """Coerce discrete samples of shape (n,) or (n, d) to integer codes 0..K-1 of shape (n,).

    Each distinct row is one symbol. Integers of any size are compared exactly; floats are
    accepted when finite (they are compared exactly too).
    """
    return unique_row_codes(as_samples(x, name, fn, min_samples=min_samples, labels=True))


def unique_row_codes(values: np.ndarray) -> np.ndarray:
    """One integer code 0..K-1 per distinct row of a (n, d) array, in sorted row order for one column.

    Integer-valued rows are first encoded to one int64 each by :func:`integer_row_codes`, which
    makes this a 1-D ``np.unique`` (much faster than ``np.unique(axis=0)``).
    """
    integral = np.issubdtype(values.dtype, np.integer) or (
        np.array_equal(values, np.round(values)) and np.abs(values).max() < 2**31)
    if values.shape[1] > 1 and integral:
        values = integer_row_codes(values)[:, None]
    if values.shape[1] == 1:
        _, codes = np.unique(values[:, 0], return_inverse=True)
    else:
        _, codes = np.unique(values, axis=0, return_inverse=True)
    return codes.reshape(-1).astype(np.int64)


def integer_row_codes(values: np.ndarray) -> np.ndarray:
    """An int64 code per row of an integer (n, d) array: equal rows, equal codes (not dense).

    Rows, shifted to start at 0, are read as base-r numbers with one radix r = 1 + the largest
    entry (a whole-array max is much cheaper than per-column ones), one integer matrix-vector
    product per group of columns that fits in 62 bits. Groups are chained by dense ranks: a
    rank is below n, so ``rank(codes) * n + rank(group)`` always fits, however wide the rows.
    Entries spanning 2**62 or more (which would overflow) are first replaced by their dense
    rank in their column, which keeps equality exact.
    """
    n, d = values.shape
    if values.dtype == np.uint64 or int(values.max()) - int(values.min()) >= 2**62:
        values = np.column_stack([_dense_rank(column) for column in values.T])
    values = values.astype(np.int64, copy=False)
    low = int(values.min())
    shifted = values - low if low != 0 else values
    radix = int(shifted.max()) + 1
    per_group = max(1, int(62 // np.log2(max(radix, 2))))
    codes = None
    for start in range(0, d, per_group):
        block = shifted[:, start:start + per_group]
        part = block @ (radix ** np.arange(block.shape[1] - 1, -1, -1, dtype=np.int64))
        codes = part if codes is None else _dense_rank(codes) * n + _dense_rank(part)
    return codes


def _dense_rank(codes: np.ndarray) -> np.ndarray:
    return np.unique(codes, return_inverse=True)[1].reshape(-1).astype(np.int64)


def check_tensor(value: Any, name: str, fn: str, *, ndim: tuple[int, ...],
                 kind: str = "float") -> Any:
    """Return ``value`` if it is a non-empty torch tensor with data, of a rank in ``ndim``.

    ``kind="float"``: a floating tensor (a loss input with gradients); ``kind="index"``: an
    integer tensor of class indices. The torch losses check their inputs with this, without
    reading the values (no host synchronization).
    """
    ranks = " or ".join(f"{d}-D" for d in ndim)
    expected = f"a non-empty {ranks} {'floating' if kind == 'float' else 'integer'} torch tensor"
    if not _is_tensor(value) or value.device.type == "meta" or value.ndim not in ndim \
            or value.numel() == 0 or value.is_complex():
        raise fail(name, fn, expected, value)
    is_float = value.is_floating_point()
    if is_float != (kind == "float") or str(value.dtype) == "torch.bool":
        raise fail(name, fn, expected, value)
    return value


def check_finite_loss(loss: float, fn: str, **inputs: Any) -> None:
    """Raise naming the first input with a NaN or inf when a loss value is not finite."""
    import math

    if math.isfinite(loss):
        return
    for name, tensor in inputs.items():
        if _is_tensor(tensor) and count_nonfinite(tensor, first=True):
            raise fail(name, fn, "finite (no NaN or inf)", tensor)
    name = next(iter(inputs))
    raise fail(name, fn, "values that give a finite loss", got=f"a loss of {loss}")


def call_model(model: Any, args: tuple[Any, ...], name: str, fn: str, what: str = "the model") -> Any:
    """``model(*args)``; an error the model raises on this input (a shape or dtype mismatch)
    becomes an :class:`InfoLensError` naming ``name``, with the model's own message."""
    try:
        return model(*args)
    except InfoLensError:
        raise
    except (MemoryError, RuntimeError, TypeError, ValueError, IndexError) as err:
        shapes = ", ".join(str(tuple(a.shape)) if hasattr(a, "shape") else type(a).__name__
                           for a in args)
        raise model_error(err, name, fn, shapes, what) from err


def check_same_length(fn: str, **arrays: np.ndarray) -> int:
    """All arrays have the same number of rows; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    first_name, n = next(iter(lengths.items()))
    for name, length in lengths.items():
        if length != n:
            raise fail(name, fn, f"as long as '{first_name}' ({n} samples)", got=f"{length} samples")
    return n


def available_devices() -> list[str]:
    """The torch devices this machine has: ``cpu``, then ``cuda``/``cuda:i`` and ``mps`` if present."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def check_device(value: Any, fn: str, name: str = "device") -> Any:
    """``value`` (a str or torch.device) as a ``torch.device`` that exists on this machine, else raise."""
    import torch

    available = available_devices()
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError, ValueError) as err:
        raise fail(name, fn, f"a torch device (one of {', '.join(available)})", value) from err
    if str(device) not in available and device.type != "meta":
        raise fail(name, fn, f"a device available on this machine (one of {', '.join(available)})",
                   str(device))
    return device


def model_error(err: BaseException, name: str, fn: str, shapes: str,
                what: str = "the model") -> InfoLensError:
    """The error for a forward pass that failed: out of memory (how much was asked, what to do), or
    an input that ``what`` refuses (the model's own message)."""
    text = str(err)
    if is_out_of_memory(err):
        return InfoLensError(
            f"{fn} ran out of memory in the forward pass on inputs {shapes} (the input itself is valid): "
            f"{text[:240]}. Run the model on fewer samples at a time: pass a smaller batch_size.")
    return fail(name, fn, f"an input that {what} accepts",
                got=f"{shapes}, on which it raised {type(err).__name__}: {text[:200]}")


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an allocation failure (CPU or accelerator), not a bad input."""
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError":
        return True
    text = str(err)
    return "can't allocate memory" in text or "out of memory" in text.lower()
