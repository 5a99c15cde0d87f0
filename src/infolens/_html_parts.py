"""Leaf HTML pieces shared by the notebook displays (:mod:`infolens._html`) and the reports
(:mod:`infolens.report.html`): a matplotlib figure as PNG bytes and as a ``data:`` URI, and an
escaped HTML table of a DataFrame or records. Below both, so that a result's ``_repr_html_``
never depends on the report package.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from infolens._validation import check_int, fail

__all__ = ["figure_png", "png_data_uri", "table_html"]


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes (tight bounding box, white background)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI holding ``png``, for an inline ``<img src=...>``."""
    if not isinstance(png, bytes | bytearray) or not png.startswith(b"\x89PNG"):
        raise fail("png", "png_data_uri", "PNG bytes", got=f"{type(png).__name__}")
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")


def _format_cell(value: Any, float_format: str) -> tuple[str, bool]:
    """Return the escaped text of one table cell and whether it is numeric."""
    if value is None:
        return "", False
    if isinstance(value, bool | np.bool_):
        return html.escape(str(bool(value))), False
    if isinstance(value, int | np.integer):
        return str(int(value)), True
    if isinstance(value, float | np.floating):
        if math.isnan(float(value)):
            return "&ndash;", True
        return html.escape(float_format.format(float(value))), True
    return html.escape(str(value)), False


def _as_columns_and_rows(data: Any, fn: str) -> tuple[list[str], list[list[Any]]]:
    if hasattr(data, "columns") and hasattr(data, "itertuples"):  # a pandas DataFrame
        columns = [str(c) for c in data.columns]
        rows = [list(row) for row in data.itertuples(index=False, name=None)]
        return columns, rows
    if isinstance(data, Mapping | str | bytes) or not isinstance(data, Iterable):
        raise fail("data", fn, "a pandas DataFrame or a sequence of mappings (records)", data)
    records = list(data)
    if not all(isinstance(r, Mapping) for r in records):
        raise fail("data", fn, "a pandas DataFrame or a sequence of mappings (records)",
                   got="a sequence whose items are not all mappings")
    columns: list[str] = []
    for record in records:
        columns.extend(str(k) for k in record if str(k) not in columns)
    rows = [[_lookup(record, c) for c in columns] for record in records]
    return columns, rows


def _lookup(record: Mapping[Any, Any], column: str) -> Any:
    for key, value in record.items():
        if str(key) == column:
            return value
    return None


def table_html(data: Any, caption: str | None = None, *, float_format: str = "{:.3g}",
               max_rows: int = 500) -> str:
    """Render a DataFrame or a list of records (mappings) as an escaped HTML ``<table>``.

    Parameters
    ----------
    data : pandas.DataFrame or sequence of mappings
        Records may have different keys; the columns are their union, in first-seen order.
    caption : str, optional
        Plain text shown under the table (escaped).
    float_format : str
        ``str.format`` pattern for floats; NaN is shown as a dash.
    max_rows : int
        Rows beyond this are left out and the caption says how many.
    """
    fn = "table_html"
    max_rows = check_int("max_rows", max_rows, fn, minimum=1)
    columns, rows = _as_columns_and_rows(data, fn)
    shown = rows[:max_rows]
    numeric = [all(_format_cell(r[j], float_format)[1] or r[j] is None for r in shown) and bool(shown)
               for j in range(len(columns))]
    head = "".join(f'<th class="{"num" if numeric[j] else "text"}">{html.escape(c)}</th>'
                   for j, c in enumerate(columns))
    body = []
    for row in shown:
        cells = []
        for j, value in enumerate(row):
            text, _ = _format_cell(value, float_format)
            cells.append(f'<td class="{"num" if numeric[j] else "text"}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = caption or ""
    if len(rows) > max_rows:
        note = (note + " " if note else "") + f"(first {max_rows} of {len(rows)} rows shown)"
    cap = f"<caption>{html.escape(note)}</caption>" if note else ""
    return (f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')
