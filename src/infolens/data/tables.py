"""Sample files the way users have them: CSV/TSV/text tables with or without a header, ``.npy``, ``.npz``.

:func:`read_table` reads a file into a :class:`Table` of named columns (one sample per row);
:meth:`Table.select` picks columns by name or 0-based index, e.g. ``"a,b"`` or ``"0,2"``. Every
fault in a file (a ragged line, a cell that is not a number, a corrupt or object ``.npy``, a
missing column) raises :class:`~infolens._validation.InfoLensError` naming the file, the line and
what to do. Integer columns are read exactly as int64 (labels beyond 2**53 stay distinct).

Text tables: ``.csv`` is comma-separated, ``.tsv`` tab-separated, ``.txt`` whitespace-separated;
blank lines and lines starting with ``#`` are skipped; the first line is a header when one of its
cells is not a number.
"""

from __future__ import annotations

import csv
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infolens._validation import InfoLensError, fail

__all__ = ["SUFFIXES", "Table", "read_table"]

#: File suffixes :func:`read_table` reads.
SUFFIXES = (".csv", ".tsv", ".txt", ".npy", ".npz")
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}


@dataclass(frozen=True)
class Table:
    """Named columns of one sample file; every column has one entry per sample.

    Attributes
    ----------
    path : str
        The file read.
    columns : dict of str -> ndarray
        Column name -> array of shape (n,) or, for an ``.npz`` entry or an ``.npy`` file, (n, d).
        Unnamed columns are named by their 0-based index ("0", "1", ...).
    """

    path: str
    columns: dict[str, np.ndarray]

    def select(self, spec: str, option: str = "x", fn: str = "infolens estimate") -> np.ndarray:
        """The columns named in ``spec`` ("a,b" or "0,2": names or 0-based indices), side by side.

        A header name that itself holds a comma is matched whole.

        One column gives an array of shape (n,); several give (n, d). ``option`` and ``fn`` name
        the parameter in the error message.
        """
        names = list(self.columns)
        spec = str(spec)
        tokens = [spec] if spec in self.columns else [token.strip() for token in spec.split(",")]
        picked = []
        for token in tokens:
            if token in self.columns:
                picked.append(self.columns[token])
            elif token.isdigit() and int(token) < len(names):
                picked.append(self.columns[names[int(token)]])
            else:
                shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                raise fail(option, fn, f"comma-separated columns of {self.path} (names {shown}, or 0-based "
                           f"indices 0..{len(names) - 1})", token)
        if len(picked) == 1:
            return picked[0]
        return np.column_stack(picked)

    def values(self) -> np.ndarray:
        """The whole file: its only array, or every column side by side (1-D for one column)."""
        if len(self.columns) == 1:
            return next(iter(self.columns.values()))
        if self.path.endswith(".npz"):
            raise fail("--x", "infolens estimate", f"the names of the arrays of {self.path} to use "
                       f"(it holds {', '.join(self.columns)})", got="no selection")
        return np.column_stack(list(self.columns.values()))


def read_table(path: str | os.PathLike[str]) -> Table:
    """Read a sample file (see the module docstring for the formats)."""
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise fail("FILES", "infolens estimate", "paths ending in " + ", ".join(SUFFIXES), name)
    try:
        if suffix == ".npy":
            return Table(name, _array_columns(np.load(name, allow_pickle=False), name))
        if suffix == ".npz":
            return Table(name, _npz_columns(name))
        return Table(name, _text_columns(name, _DELIMITERS[suffix]))
    except InfoLensError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        reason = "it holds Python objects (loading them needs pickle)" if "allow_pickle" in str(err) else (
            f"{type(err).__name__}: {err}")
        raise fail("FILES", "infolens estimate", f"a readable {suffix} file of numbers (numpy.save / "
                   f"numpy.savez for arrays); {name} could not be read: {reason}", got=repr(name)) from err


def _numeric(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == bool:
        return array.astype(np.int64)
    if array.dtype.kind not in "iuf":
        raise fail("FILES", "infolens estimate", "arrays of real numbers (bool, int or float)",
                   got=f"dtype {array.dtype} in {name}")
    if array.ndim not in (1, 2) or array.shape[0] == 0:
        raise fail("FILES", "infolens estimate", "arrays of shape (n,) or (n, d) with n >= 1",
                   got=f"shape {array.shape} in {name}")
    return array


def _array_columns(array: np.ndarray, name: str) -> dict[str, np.ndarray]:
    array = _numeric(array, name)
    if array.ndim == 1:
        return {"0": array}
    return {str(i): array[:, i] for i in range(array.shape[1])} if array.shape[1] > 1 else {"0": array}


def _npz_columns(name: str) -> dict[str, np.ndarray]:
    with np.load(name, allow_pickle=False) as archive:
        columns = {key: _numeric(archive[key], f"{name}[{key!r}]") for key in archive.files}
    if not columns:
        raise fail("FILES", "infolens estimate", "an .npz file with at least one array", got=f"empty {name}")
    return columns


def _text_columns(name: str, delimiter: str | None) -> dict[str, np.ndarray]:
    with open(name, newline="", encoding="utf-8", errors="replace") as handle:
        lines = [(number, line) for number, line in enumerate(handle, start=1)
                 if line.strip() and not line.lstrip().startswith("#")]
    rows = [(number, _split(line, delimiter)) for number, line in lines]
    if not rows:
        raise fail("FILES", "infolens estimate", "a table with at least one row of numbers",
                   got=f"an empty file {name}")
    first_line, first = rows[0]
    header = None
    if any(_number(cell) is None for cell in first):
        header, rows = [cell.strip() for cell in first], rows[1:]
        if len(set(header)) != len(header):
            raise fail("FILES", "infolens estimate", "a header line with distinct column names",
                       got=f"line {first_line} of {name}: {', '.join(header)}")
    if not rows:
        raise fail("FILES", "infolens estimate", "a table with at least one row of numbers under its header",
                   got=f"only a header in {name}")
    width = len(header) if header is not None else len(rows[0][1])
    reference = f"the header (line {first_line})" if header is not None else f"line {rows[0][0]}"
    for number, cells in rows:
        if len(cells) != width:
            raise fail("FILES", "infolens estimate", "a table with the same number of cells on every line",
                       got=f"{len(cells)} cells on line {number} of {name}, where {reference} has {width}")
    names = header if header is not None else [str(i) for i in range(width)]
    return {column: _parse_column([(n, cells[i]) for n, cells in rows], name, column)
            for i, column in enumerate(names)}


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter))


def _number(cell: str) -> int | float | None:
    text = cell.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _parse_column(cells: list[tuple[int, str]], name: str, column: str) -> np.ndarray:
    values = []
    for number, cell in cells:
        value = _number(cell)
        if value is None:
            raise fail("FILES", "infolens estimate", "a table whose cells are numbers (below an optional "
                       "header line)", got=f"{cell.strip()!r} on line {number} of {name}, column {column!r}")
        values.append(value)
    if all(isinstance(v, int) for v in values):
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass
    return np.array(values, dtype=np.float64)
