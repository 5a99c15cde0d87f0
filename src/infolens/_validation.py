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
    if isinstance(value, np.ndarray) or _is_tensor(value):
        text = f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
        size = value.numel() if _is_tensor(value) else value.size
        if 0 < size <= 6 and value.dtype != object:  # small arrays: show what was received
            text += f" with values {np.array2string(to_numpy(value).reshape(-1), separator=', ')}"
        return text
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
    """Return a numpy view of an array-like or a (detached, CPU) torch tensor."""
    if _is_tensor(value):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def as_samples(x: Any, name: str, fn: str, *, min_samples: int = 2,
               allow_constant: bool = True) -> np.ndarray:
    """Coerce samples to a C-contiguous float64 array of shape (n, d).

    A 1-D input of length n becomes (n, 1). NaN/inf, complex, object, boolean-free non-numeric
    dtypes, more than two dimensions and fewer than ``min_samples`` rows raise
    :class:`InfoLensError`; with ``allow_constant=False`` so do columns with zero variance.
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
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise fail(name, fn, "finite (no NaN or inf)", arr, got=f"{bad} non-finite values")
    if not allow_constant:
        constant = np.flatnonzero(np.ptp(arr, axis=0) == 0)
        if constant.size:
            raise fail(name, fn, "free of constant (zero-variance) columns", arr,
                       got=f"constant columns {constant.tolist()[:10]}")
    return arr


def _numeric_array(x: Any, name: str, fn: str) -> np.ndarray:
    try:
        arr = to_numpy(x)
    except (TypeError, ValueError, RuntimeError) as err:  # ragged lists, unconvertible objects
        raise fail(name, fn, "a numeric array", x) from err
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise fail(name, fn, "a real numeric array (not complex, object or string)", arr)
    return arr


def as_labels(x: Any, name: str, fn: str, *, min_samples: int = 1) -> np.ndarray:
    """Coerce discrete samples of shape (n,) or (n, d) to integer codes 0..K-1 of shape (n,).

    Each distinct row is one symbol. Floats are accepted when finite (they are compared exactly).
    """
    return unique_row_codes(as_samples(x, name, fn, min_samples=min_samples))


def unique_row_codes(values: np.ndarray) -> np.ndarray:
    """One integer code 0..K-1 per distinct row of a (n, d) array, in sorted row order for one column.

    Integer-valued rows are first encoded to one int64 each by :func:`integer_row_codes`, which
    makes this a 1-D ``np.unique`` (much faster than ``np.unique(axis=0)``).
    """
    integral = np.issubdtype(values.dtype, np.integer) or (
        np.array_equal(values, np.round(values)) and np.abs(values).max() < 2**31)
    if values.shape[1] > 1 and integral:
        values = integer_row_codes(values.astype(np.int64))[:, None]
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
    """
    n, d = values.shape
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
    return np.unique(codes, return_inverse=True)[1].reshape(-1)


def check_same_length(fn: str, **arrays: np.ndarray) -> int:
    """All arrays have the same number of rows; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    first_name, n = next(iter(lengths.items()))
    for name, length in lengths.items():
        if length != n:
            raise fail(name, fn, f"as long as '{first_name}' ({n} samples)", got=f"{length} samples")
    return n
