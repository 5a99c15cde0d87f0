"""HTML for notebook displays: the ``_repr_html_`` of the result objects.

A display is one titled box of escaped facts, tables (:func:`infolens._html_parts.table_html`,
which escapes every cell) and at most one small figure embedded as a base64 PNG: self-contained,
no script, nothing fetched. Every string that reaches the page is escaped here or in
``table_html``, so a layer named ``<script>`` shows as text. Numbers are printed with
:data:`FLOAT` (4 significant digits).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

from infolens._html_parts import figure_png, png_data_uri, table_html

FLOAT = "{:.4g}"
_BOX = ("font-size:13px;line-height:1.4;border:1px solid #d1d9e0;border-radius:6px;"
        "padding:6px 10px;overflow-x:auto;max-width:100%")
_CELL = "text-align:left;padding:1px 10px 1px 0;border:none"


def number(value: Any) -> str:
    """``value`` printed with :data:`FLOAT`; None as a dash."""
    if value is None:
        return "\u2013"
    value = float(value)
    return "nan" if math.isnan(value) else FLOAT.format(value)


def interval(low: Any, high: Any) -> str:
    """``[low, high]`` with :func:`number`."""
    return f"[{number(low)}, {number(high)}]"


def pairs(mapping: Any) -> str:
    """``key=value, ...`` of a mapping, floats with :func:`number`."""
    return ", ".join(f"{k}={number(v) if isinstance(v, float) else v}" for k, v in mapping.items())


def facts(pairs: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of (name, value) pairs, both escaped; pairs whose value is None are left out."""
    rows = "".join(f'<tr><th style="{_CELL}">{html.escape(name)}</th>'
                   f'<td style="{_CELL}">{html.escape(str(value))}</td></tr>'
                   for name, value in pairs if value is not None)
    return f"<table>{rows}</table>"


def table(frame: Any, caption: str | None = None) -> str:
    """A DataFrame or list of records as an escaped table (floats with :data:`FLOAT`)."""
    return table_html(frame, caption, float_format=FLOAT)


def figure(draw: Callable[[Any], Any], alt: str, size: tuple[float, float] = (4.6, 3.4)) -> str:
    """An ``<img>`` holding the PNG of ``draw(ax)`` on a new figure (no pyplot state is touched)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    draw(fig.subplots())
    uri = png_data_uri(figure_png(fig, dpi=72))
    return f'<img alt="{html.escape(alt)}" src="{uri}" style="max-width:100%;display:block">'


def box(title: str, *parts: str) -> str:
    """The display: ``title`` (escaped) above the already escaped ``parts``."""
    return f'<div style="{_BOX}"><strong>{html.escape(title)}</strong>{"".join(parts)}</div>'
