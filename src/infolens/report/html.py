"""A small builder of self-contained HTML reports.

Everything a report needs travels inside one file: the CSS is inlined, figures are embedded as
base64 PNG ``data:`` URIs, tables are rendered from DataFrames or lists of records, and the
interactive 3-D scatter is a few lines of plain JavaScript drawing on a ``<canvas>``. Nothing is
fetched from a network or a CDN, so a report opens offline and can be mailed or archived as is.

The builder is composable: a report is a list of HTML fragments, and a *section function*
``section(report, shown)`` may append any of them, so new sections are added without touching
the others (see :data:`infolens.report.plane.SECTIONS`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infolens._atomic import atomic_write_bytes
from infolens._json import to_jsonable
from infolens._validation import as_samples, check_int, fail

__all__ = [
    "Report",
    "atomic_write_bytes",
    "figure_png",
    "png_data_uri",
    "scatter3d_html",
    "table_html",
]

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 1.8em; border-bottom: 1px solid var(--line); padding-bottom: .3em; }
h2 { font-size: 1.35em; margin-top: 2em; border-bottom: 1px solid var(--line); padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
p, li { max-width: 78ch; }
nav.toc { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px 18px; }
nav.toc ul { margin: 4px 0; padding-left: 18px; }
a { color: var(--accent); }
figure { margin: 18px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption, caption { color: var(--muted); font-size: .92em; margin-top: 4px; text-align: left;
                      caption-side: bottom; padding-top: 4px; }
.table-wrap { overflow-x: auto; margin: 14px 0; }
table { border-collapse: collapse; font-size: .9em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 9px; text-align: right; }
th { background: #f6f8fa; }
td.text, th.text { text-align: left; }
.note { background: #fff8c5; border: 1px solid #d4a72c66; border-radius: 6px; padding: 8px 14px; }
.scatter3d canvas { border: 1px solid var(--line); border-radius: 4px; cursor: grab; touch-action: none; }
.scatter3d .legend span { display: inline-block; margin-right: 12px; font-size: .9em; }
.scatter3d .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
                       margin-right: 4px; vertical-align: middle; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px;
      overflow-x: auto; }
footer { color: var(--muted); font-size: .85em; margin-top: 40px; }
"""

#: Colours of the 3-D scatter classes (matplotlib's tab10, so the widget matches the figures).
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


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


_SCATTER_JS = """
(function () {
  var data = JSON.parse(document.getElementById("%(id)s-data").textContent);
  var canvas = document.getElementById("%(id)s");
  var ctx = canvas.getContext("2d");
  var yaw = 0.6, pitch = 0.35, zoom = 1.0, dragging = false, lastX = 0, lastY = 0;
  var pts = data.points, cols = data.colors;
  function draw() {
    var w = canvas.width, h = canvas.height, s = 0.36 * Math.min(w, h) * zoom;
    var cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    var proj = new Array(pts.length);
    for (var i = 0; i < pts.length; i++) {
      var p = pts[i];
      var x = cy * p[0] + sy * p[2], z = -sy * p[0] + cy * p[2];
      var y = cp * p[1] - sp * z, d = sp * p[1] + cp * z;
      proj[i] = [w / 2 + s * x, h / 2 - s * y, d, i];
    }
    proj.sort(function (a, b) { return a[2] - b[2]; });
    ctx.clearRect(0, 0, w, h);
    var axes = [[1, 0, 0, "x"], [0, 1, 0, "y"], [0, 0, 1, "z"]];
    ctx.strokeStyle = "#bbbbbb"; ctx.fillStyle = "#777777"; ctx.font = "11px sans-serif";
    for (var k = 0; k < 3; k++) {
      var a = axes[k], ax = cy * a[0] + sy * a[2], az = -sy * a[0] + cy * a[2], ay = cp * a[1] - sp * az;
      ctx.beginPath(); ctx.moveTo(w / 2, h / 2); ctx.lineTo(w / 2 + s * ax, h / 2 - s * ay); ctx.stroke();
      ctx.fillText(a[3], w / 2 + 1.06 * s * ax, h / 2 - 1.06 * s * ay);
    }
    var r = %(radius)s;
    for (var j = 0; j < proj.length; j++) {
      var q = proj[j];
      ctx.globalAlpha = 0.55 + 0.45 * Math.max(0, Math.min(1, (q[2] + 1) / 2));
      ctx.fillStyle = cols[q[3]];
      ctx.beginPath(); ctx.arc(q[0], q[1], r, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.globalAlpha = 1.0;
  }
  function down(e) { dragging = true; lastX = e.clientX; lastY = e.clientY;
                     canvas.setPointerCapture(e.pointerId); canvas.style.cursor = "grabbing"; }
  function move(e) {
    if (!dragging) { return; }
    yaw += (e.clientX - lastX) * 0.01;
    pitch = Math.max(-1.55, Math.min(1.55, pitch + (e.clientY - lastY) * 0.01));
    lastX = e.clientX; lastY = e.clientY; draw();
  }
  function up() { dragging = false; canvas.style.cursor = "grab"; }
  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault(); zoom = Math.max(0.2, Math.min(8, zoom * Math.exp(-e.deltaY * 0.001))); draw();
  }, {passive: false});
  canvas.addEventListener("dblclick", function () { yaw = 0.6; pitch = 0.35; zoom = 1.0; draw(); });
  draw();
})();
"""


def _script_json(value: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</`` sequence can close it)."""
    return json.dumps(to_jsonable(value), separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def scatter3d_html(points: Any, labels: Sequence[Any] | np.ndarray | None = None,
                   title: str | None = None, *, width: int = 560, height: int = 440,
                   point_radius: float = 2.5, max_points: int = 5000, seed: int = 0) -> str:
    """An interactive 3-D scatter plot as a self-contained HTML fragment.

    The points are centred and scaled into the unit ball (one scale for all three axes, so the
    shape is kept) and drawn on a ``<canvas>`` by inline JavaScript: drag to rotate, scroll to
    zoom, double-click to reset. Points are coloured by label, with a legend. No library, CDN or
    external file is used.

    Parameters
    ----------
    points : array-like of shape (n, 3)
        Coordinates, for example a 3-D embedding of a layer's activations.
    labels : sequence of length n, optional
        Class of each point; colours cycle through 10 colours (tab10) in sorted label order.
    title : str, optional
        Shown above the canvas (escaped).
    width, height : int
        Canvas size in CSS pixels.
    point_radius : float
        Radius of a point in pixels.
    max_points : int
        Larger inputs are subsampled uniformly at random (with ``seed``) to keep the file small;
        the title line says so.
    seed : int
        Seed of that subsample.

    Returns
    -------
    str
        A ``<div class="scatter3d">`` holding the canvas, the data (JSON) and the script.
    """
    fn = "scatter3d_html"
    xyz = as_samples(points, "points", fn, min_samples=1)
    if xyz.shape[1] != 3:
        raise fail("points", fn, "an array of shape (n, 3)", xyz)
    width = check_int("width", width, fn, minimum=50)
    height = check_int("height", height, fn, minimum=50)
    max_points = check_int("max_points", max_points, fn, minimum=1)
    if isinstance(point_radius, bool) or not isinstance(point_radius, int | float) or not (
            0 < point_radius <= 50):
        raise fail("point_radius", fn, "a float in (0, 50]", point_radius)
    n = xyz.shape[0]
    if labels is None:
        label_arr = np.zeros(n, dtype=np.int64)
        names: list[str] = []
    else:
        label_arr = np.asarray(labels).reshape(-1)
        if label_arr.shape[0] != n:
            raise fail("labels", fn, f"of length {n} (one label per point)",
                       got=f"{label_arr.shape[0]} labels")
        names = [str(v) for v in np.unique(label_arr)]
    note = ""
    if n > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
        xyz, label_arr = xyz[keep], label_arr[keep]
        note = f" (random subsample of {max_points} of {n} points)"
    centred = xyz - xyz.mean(axis=0)
    scale = float(np.sqrt((centred**2).sum(axis=1)).max())
    unit = centred / scale if scale > 0 else centred
    if labels is None:
        colors = [_PALETTE[0]] * len(unit)
    else:
        _, codes = np.unique(label_arr, return_inverse=True)
        colors = [_PALETTE[int(c) % len(_PALETTE)] for c in codes.reshape(-1)]
    payload = {"points": np.round(unit, 4).tolist(), "colors": colors}
    digest = hashlib.sha1(_script_json(payload).encode() + (title or "").encode()).hexdigest()[:10]
    widget_id = f"scatter3d-{digest}"
    legend = "".join(
        f'<span><i style="background:{_PALETTE[k % len(_PALETTE)]}"></i>{html.escape(name)}</span>'
        for k, name in enumerate(names))
    heading = f"<div><strong>{html.escape(title)}</strong>{html.escape(note)}</div>" if title else (
        f"<div>{html.escape(note)}</div>" if note else "")
    script = _SCATTER_JS % {"id": widget_id, "radius": repr(float(point_radius))}
    return (f'<div class="scatter3d">{heading}'
            f'<canvas id="{widget_id}" width="{width}" height="{height}" '
            f'aria-label="{html.escape(title or "3-D scatter plot")}"></canvas>'
            f'<div class="legend">{legend}</div>'
            f'<div class="hint">Drag to rotate, scroll to zoom, double-click to reset.</div>'
            f'<script type="application/json" id="{widget_id}-data">{_script_json(payload)}</script>'
            f"<script>{script}</script></div>")


def _slug(text: str, taken: set[str]) -> str:
    base = "".join(ch.lower() if ch.isalnum() else "-" for ch in text).strip("-") or "section"
    base = "-".join(part for part in base.split("-") if part)
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug)
    return slug


class Report:
    """A self-contained HTML report built from headings, text, figures, tables and widgets.

    Parameters
    ----------
    title : str
        The page title and top heading.
    toc : bool
        Put a table of contents of the level-2 headings under the title.

    Examples
    --------
    >>> report = Report("My run")
    >>> report.add_heading("Accuracy")
    >>> report.add_text("Test accuracy after training.")
    >>> report.add_table([{"activation": "tanh", "test_accuracy": 0.97}])
    >>> report.write("report.html")  # doctest: +SKIP
    """

    def __init__(self, title: str, *, toc: bool = True) -> None:
        if not isinstance(title, str) or not title.strip():
            raise fail("title", "Report", "a non-empty str", title)
        self.title = title
        self.toc = bool(toc)
        self._parts: list[str] = []
        self._headings: list[tuple[int, str, str]] = []
        self._slugs: set[str] = set()

    def add_heading(self, text: str, level: int = 2) -> str:
        """Add a heading (level 2 to 4); return its anchor id."""
        level = check_int("level", level, "Report.add_heading", minimum=2, maximum=4)
        anchor = _slug(str(text), self._slugs)
        self._headings.append((level, str(text), anchor))
        self._parts.append(f'<h{level} id="{anchor}">{html.escape(str(text))}</h{level}>')
        return anchor

    def add_text(self, text: str, *, css_class: str | None = None) -> None:
        """Add plain text (escaped); blank lines separate paragraphs."""
        attr = f' class="{html.escape(css_class)}"' if css_class else ""
        for paragraph in str(text).split("\n\n"):
            if paragraph.strip():
                self._parts.append(f"<p{attr}>{html.escape(paragraph.strip())}</p>")

    def add_html(self, fragment: str) -> None:
        """Add a raw HTML fragment (not escaped: the caller vouches for it)."""
        self._parts.append(str(fragment))

    def add_png(self, png: bytes, caption: str | None = None, *, alt: str | None = None) -> None:
        """Add PNG bytes as an inline image with an optional caption."""
        alt_text = html.escape(alt or caption or "figure")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._parts.append(f'<figure><img alt="{alt_text}" src="{png_data_uri(png)}">{cap}</figure>')

    def add_figure(self, fig: Any, caption: str | None = None, *, dpi: int = 110,
                   save_to: str | os.PathLike[str] | None = None, close: bool = True) -> bytes:
        """Embed a matplotlib figure as an inline PNG; optionally also write it to ``save_to``.

        Returns the PNG bytes. The figure is closed afterwards unless ``close=False``.
        """
        png = figure_png(fig, dpi=dpi)
        if save_to is not None:
            atomic_write_bytes(save_to, png)
        self.add_png(png, caption)
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
        return png

    def add_table(self, data: Any, caption: str | None = None, *, float_format: str = "{:.3g}",
                  max_rows: int = 500) -> None:
        """Add a table from a DataFrame or a list of records (see :func:`table_html`)."""
        self._parts.append(table_html(data, caption, float_format=float_format, max_rows=max_rows))

    def add_scatter3d(self, points: Any, labels: Any = None, title: str | None = None,
                      **kwargs: Any) -> None:
        """Add an interactive 3-D scatter (see :func:`scatter3d_html`)."""
        self._parts.append(scatter3d_html(points, labels, title, **kwargs))

    def render(self) -> str:
        """Return the whole document as one string."""
        toc = ""
        entries = [(text, anchor) for level, text, anchor in self._headings if level == 2]
        if self.toc and len(entries) > 1:
            items = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for t, a in entries)
            toc = f'<nav class="toc"><strong>Contents</strong><ul>{items}</ul></nav>'
        title = html.escape(self.title)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
                f"<h1>{title}</h1>{toc}" + "\n".join(self._parts) +
                "<footer>Generated by infolens. This file is self-contained: it needs no network.</footer>"
                "</main></body></html>\n")

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report atomically (temporary file, then rename) and return its path."""
        return atomic_write_bytes(path, self.render().encode("utf-8"))


