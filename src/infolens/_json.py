"""One JSON conversion for everything infolens writes: summaries, configs, sweep points, reports.

:func:`to_jsonable` turns numpy scalars and arrays, tuples, paths and mappings into plain JSON
values and writes non-finite floats as ``null`` (JSON has no NaN or infinity; a reader must see
"missing", never a silently wrong number). :func:`write_json` writes a file atomically;
:func:`read_json` reads one back and names the file when it is truncated or not JSON.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from infolens._atomic import atomic_write_bytes
from infolens._validation import fail


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: dict, list, str, int, float (finite) or None.

    numpy scalars become Python numbers, arrays and tuples lists, paths strings, mapping keys
    strings; NaN and infinities become None. Other objects raise ``TypeError``.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_jsonable(item) for item in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """Deterministic JSON text of :func:`to_jsonable` ``(value)`` (keys in insertion order)."""
    return json.dumps(to_jsonable(value), indent=indent, allow_nan=False)


def write_json(path: str | os.PathLike[str], value: Any) -> Path:
    """Write :func:`dumps` ``(value)`` and a newline to ``path`` atomically (temporary file + rename)."""
    return atomic_write_bytes(path, (dumps(value) + "\n").encode("utf-8"))


def read_json(path: str | os.PathLike[str], fn: str = "read_json") -> Any:
    """The JSON value in ``path``; a truncated or corrupt file raises :class:`InfoLensError`.

    The message names the file and the place the text stops making sense; the file is left as
    it is. ``fn`` names the caller in the message.
    """
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise fail("path", fn, f"a complete JSON file; {os.fspath(path)} is truncated or corrupt ({err.msg} "
                   f"at line {err.lineno}, column {err.colno}). It was left untouched: restore it, or "
                   "start again in a new directory", got=repr(os.fspath(path))) from err
