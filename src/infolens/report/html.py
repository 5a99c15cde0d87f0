"""A small builder of self-contained HTML reports.

Everything a report needs travels inside one file: the CSS is inlined, figures are embedded as
base64 PNG ``data:`` URIs or as interactive Plotly figures (their data as JSON, and Plotly's own
offline JavaScript embedded once per page when the page has any), tables are rendered from
DataFrames or lists of records, each in a box that scrolls sideways when it is wider than the
page. Nothing is fetched from a network or a CDN, so a report opens offline and can be mailed or
archived as is.

The builder is composable: a report is a list of HTML fragments, and a *section function*
``section(report, shown)`` may append any of them, so new sections are added without touching
the others (see :data:`infolens.report.plane.SECTIONS`).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infolens._atomic import atomic_write_bytes
from infolens._html_parts import figure_png, png_data_uri, table_html
from infolens._json import to_jsonable
from infolens._validation import check_int, fail

__all__ = [
    "Report",
    "atomic_write_bytes",
    "figure_png",
    "plotly_bundle",
    "plotly_html",
    "png_data_uri",
    "scatter3d_html",
    "table_html",
]

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --accent: #0b5cad; }
* { box-sizing: border-box; }
html { background: #ffffff; }
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
.table-wrap { overflow-x: auto; margin: 14px 0;
              background: linear-gradient(to right, #fff 30%, #fff0),
                          linear-gradient(to left, #fff 30%, #fff0) 100% 0,
                          radial-gradient(farthest-side at 0 50%, #0003, #0000),
                          radial-gradient(farthest-side at 100% 50%, #0003, #0000) 100% 0;
              background-repeat: no-repeat; background-size: 40px 100%, 40px 100%, 14px 100%, 14px 100%;
              background-attachment: local, local, scroll, scroll; }  /* shadows where it scrolls */
table { border-collapse: collapse; font-size: .9em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 9px; text-align: right; }
th { background: #f6f8fa; }
td.text, th.text { text-align: left; }
.note { background: #fff8c5; border: 1px solid #d4a72c66; border-radius: 6px; padding: 8px 14px; }
.plotly-figure { max-width: 100%; }
.plotly-chart { width: 100%; }
figure.scatter3d { display: inline-block; vertical-align: top; width: 100%; margin-right: 14px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px;
      overflow-x: auto; }
footer { color: var(--muted); font-size: .85em; margin-top: 40px; }
"""

#: Class of the ``<script type="application/json">`` elements that hold a Plotly figure's data.
_PLOTLY_DATA = "plotly-data"

#: Draws every Plotly figure of the page from its JSON (run once, after Plotly's bundle).
_PLOTLY_BOOT = """
(function () {
  var nodes = document.querySelectorAll("script.PLOTLY_DATA");
  Array.prototype.forEach.call(nodes, function (node) {
    var spec = JSON.parse(node.textContent);
    Plotly.newPlot(node.previousElementSibling, spec);  // the chart's div (ids of equal figures agree)
  });
})();
""".replace("PLOTLY_DATA", _PLOTLY_DATA)


def _script_json(value: Any) -> str:
    """JSON safe to place inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as JSON unicode escapes, so no ``</script>`` or ``<!--``
    in the data (a layer name, a title) can end the element early; ``JSON.parse`` restores them.
    """
    text = json.dumps(to_jsonable(value), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def plotly_html(figure: Any, caption: str | None = None, *, height: int | None = None) -> str:
    """An interactive Plotly figure as an HTML fragment for a :class:`Report`.

    The fragment holds the figure as JSON data only; the page that contains it loads Plotly's
    JavaScript once and draws every such fragment (:meth:`Report.render` does both). Text shown
    in the figure should come from :func:`infolens.report.interactive.plot_text` (escaped).

    Parameters
    ----------
    figure : mapping or plotly Figure
        ``{"data": [...], "layout": {...}, "frames": [...]}`` (``frames`` optional), or an object
        with ``to_plotly_json()`` (a ``plotly.graph_objects.Figure``).
    caption : str, optional
        Plain text shown under the figure (escaped).
    height : int, optional
        Height in CSS pixels; default ``layout["height"]`` or 460. The width follows the page.
    """
    fn = "plotly_html"
    if hasattr(figure, "to_plotly_json"):
        figure = figure.to_plotly_json()
    if not isinstance(figure, Mapping) or not isinstance(figure.get("data"), list | tuple):
        raise fail("figure", fn, "a mapping with a 'data' list (or a plotly Figure)", figure)
    layout = dict(figure.get("layout") or {})
    height = check_int("height", height if height is not None else layout.get("height", 460), fn,
                       minimum=100)
    layout.update(height=height, autosize=True)
    spec = {"data": list(figure["data"]), "layout": layout, "frames": list(figure.get("frames") or []),
            "config": {"responsive": True, "displaylogo": False, "scrollZoom": False}}
    payload = _script_json(spec)
    chart_id = "plot-" + hashlib.sha1(payload.encode()).hexdigest()[:12]
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="plotly-figure"><div class="plotly-chart" id="{chart_id}" '
            f'style="height:{height}px"></div>'
            f'<script type="application/json" class="{_PLOTLY_DATA}" data-target="{chart_id}">'
            f"{payload}</script>{cap}</figure>")


def scatter3d_html(points: Any, labels: Sequence[Any] | np.ndarray | None = None,
                   title: str | None = None, *, width: int = 500, height: int = 440,
                   point_radius: float = 2.5, max_points: int = 5000, seed: int = 0) -> str:
    """An interactive 3-D scatter plot (Plotly) as an HTML fragment for a :class:`Report`.

    The points are centred and scaled into the unit ball (one scale for all three axes, so the
    shape is kept) and drawn by Plotly: drag to rotate, scroll to zoom, hover for the class,
    click a legend entry to hide a class. See :func:`infolens.report.interactive.scatter3d_figure`.

    Parameters
    ----------
    points : array-like of shape (n, 3)
        Coordinates, for example a 3-D embedding of a layer's activations.
    labels : sequence of length n, optional
        Class of each point; one colour (tab10, in sorted label order) and legend entry per class.
    title : str, optional
        Shown above the plot (escaped).
    width, height : int
        Largest width and the height, in CSS pixels (narrower pages shrink the plot).
    point_radius : float
        Radius of a point in pixels.
    max_points : int
        Larger inputs are subsampled uniformly at random (with ``seed``) to keep the file small;
        the title says so.
    seed : int
        Seed of that subsample.

    Returns
    -------
    str
        A ``<figure class="plotly-figure">`` fragment (see :func:`plotly_html`).
    """
    from infolens.report.interactive import scatter3d_figure

    fn = "scatter3d_html"
    width = check_int("width", width, fn, minimum=50)
    height = check_int("height", height, fn, minimum=50)
    figure = scatter3d_figure(points, labels, None, point_radius=point_radius, max_points=max_points,
                              seed=seed, fn=fn)
    n = len(np.asarray(points))
    note = f" (random subsample of {max_points} of {n} points)" if n > max_points else ""
    heading = f"{title or ''}{note}".strip()
    hint = "Drag to rotate, scroll to zoom, click a class in the legend to hide it."
    caption = f"{heading}. {hint}" if heading else hint
    fragment = plotly_html(figure, caption, height=height)
    return fragment.replace('class="plotly-figure"', f'class="plotly-figure scatter3d" '
                            f'style="max-width:{width}px"', 1)


def plotly_bundle() -> str:
    """Plotly's JavaScript (the offline ``plotly.min.js`` of the installed ``plotly`` package)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _slug(text: str, taken: set[str]) -> str:
    base = "".join(ch.lower() if ch.isalnum() else "-" for ch in text).strip("-") or "section"
    base = "-".join(part for part in base.split("-") if part)
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug)
    return slug


class Report:
    """A self-contained HTML report built from headings, text, figures, tables and Plotly figures.

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

    def add_plotly(self, figure: Any, caption: str | None = None, *, height: int | None = None) -> None:
        """Add an interactive Plotly figure (see :func:`plotly_html`)."""
        self._parts.append(plotly_html(figure, caption, height=height))

    def render(self) -> str:
        """Return the whole document as one string."""
        toc = ""
        entries = [(text, anchor) for level, text, anchor in self._headings if level == 2]
        if self.toc and len(entries) > 1:
            items = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for t, a in entries)
            toc = f'<nav class="toc"><strong>Contents</strong><ul>{items}</ul></nav>'
        title = html.escape(self.title)
        body = "\n".join(self._parts)
        scripts = ""
        if f'class="{_PLOTLY_DATA}"' in body:  # Plotly's bundle once, then one call per figure
            scripts = f"<script>{plotly_bundle()}</script><script>{_PLOTLY_BOOT}</script>"
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
                f"<h1>{title}</h1>{toc}" + body +
                "<footer>Generated by infolens. This file is self-contained: it needs no network.</footer>"
                f"</main>{scripts}</body></html>\n")

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report atomically (temporary file, then rename) and return its path."""
        return atomic_write_bytes(path, self.render().encode("utf-8"))


