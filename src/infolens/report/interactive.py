"""Interactive figures of the reports, as Plotly figure dicts built from stored results.

Each function returns ``{"data": [...], "layout": {...}, "frames": [...]}``, the JSON form of a
Plotly figure, for :meth:`infolens.report.html.Report.add_plotly`; building one needs neither the
``plotly`` Python package nor a browser. The figures only read what they are given (stored
measurements): they estimate nothing.

Every string a user can influence (layer, data set and estimator names, titles) goes through
:func:`plot_text`, which escapes ``&``, ``<`` and ``>``: Plotly reads a small set of HTML tags in
text and decodes entities for display, so an escaped ``<script>`` is shown as text, never parsed.
Such strings are passed as ``customdata`` or trace names, never inside a ``hovertemplate``, where
``%{...}`` would be read as a placeholder.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from infolens._validation import as_samples, check_int, fail
from infolens.viz import _natural_key, seed_summary

__all__ = [
    "PALETTE",
    "information_plane_figure",
    "embedding_sequence_figure",
    "mi_vs_epoch_figure",
    "plot_text",
    "scatter3d_figure",
]

#: Colours of layers and classes (matplotlib's tab10, so interactive and PNG figures agree).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_QUANTITIES = {"I_XT": "I(X;T)", "I_TY": "I(T;Y)"}
_FONT = {"family": "-apple-system, Segoe UI, Helvetica, Arial, sans-serif", "size": 12}


def plot_text(value: Any) -> str:
    """``value`` as text for a Plotly title, name, label or hover value (``&``, ``<``, ``>`` escaped)."""
    return html.escape(str(value), quote=False)


def _round(values: Any, digits: int = 4) -> list[Any]:
    """Floats rounded to ``digits`` significant digits (NaN becomes None, a gap), to keep files small."""
    out = []
    for v in np.asarray(values, dtype=np.float64).reshape(-1):
        out.append(None if not math.isfinite(v) else float(f"{v:.{digits}g}"))
    return out


def _evenly(items: Sequence[Any], limit: int) -> list[Any]:
    """At most ``limit`` items, evenly spaced, the first and last always kept."""
    if len(items) <= limit:
        return list(items)
    keep = np.unique(np.round(np.linspace(0, len(items) - 1, limit)).astype(int))
    return [items[i] for i in keep]


def _grid_axes(n_rows: int, n_cols: int, titles: Sequence[str], *, x_title: str, y_titles: Sequence[str],
               gap: float = 0.08) -> tuple[dict[str, Any], list[dict[str, Any]], list[list[tuple[str, str]]]]:
    """Layout axes of an ``n_rows`` x ``n_cols`` grid; returns (axes, panel titles, trace axis refs)."""
    layout: dict[str, Any] = {}
    annotations = []
    refs: list[list[tuple[str, str]]] = []
    width = (1.0 - gap * (n_cols - 1)) / n_cols
    height = (1.0 - gap * 1.4 * (n_rows - 1)) / n_rows
    for r in range(n_rows):
        row = []
        for c in range(n_cols):
            k = r * n_cols + c + 1
            suffix = "" if k == 1 else str(k)
            x0 = c * (width + gap)
            y1 = 1.0 - r * (height + gap * 1.4)
            layout[f"xaxis{suffix}"] = {"domain": [x0, x0 + width], "anchor": f"y{suffix}",
                                        "title": {"text": x_title}, "zeroline": False}
            layout[f"yaxis{suffix}"] = {"domain": [y1 - height, y1], "anchor": f"x{suffix}",
                                        "title": {"text": y_titles[r]}, "zeroline": False}
            row.append((f"x{suffix}", f"y{suffix}"))
            if r == 0 and titles[c]:
                annotations.append({"text": f"<b>{titles[c]}</b>", "x": x0 + width / 2, "y": 1.0,
                                    "xref": "paper", "yref": "paper", "xanchor": "center",
                                    "yanchor": "bottom", "showarrow": False, "font": {"size": 13}})
        refs.append(row)
    return layout, annotations, refs


def _base_layout(title: str) -> dict[str, Any]:
    return {"title": {"text": title, "x": 0.01, "xanchor": "left", "yref": "container", "y": 0.995,
                      "yanchor": "top", "pad": {"t": 8}, "font": {"size": 14}},
            "font": _FONT, "hovermode": "closest", "plot_bgcolor": "#ffffff",
            "legend": {"orientation": "h", "x": 0.0, "y": -0.16, "yanchor": "top"},
            "margin": {"l": 60, "r": 20, "t": 70, "b": 60}}


def _hover(units: str, names: Sequence[str]) -> str:
    u = plot_text(units)
    return ("<b>%{customdata[0]}</b> (%{customdata[1]})<br>epoch %{customdata[2]}<br>"
            f"{names[0]} = %{{customdata[3]:.3f}} {u} (sd %{{customdata[4]:.3f}}, "
            "min %{customdata[5]:.3f}, max %{customdata[6]:.3f})<br>"
            f"{names[1]} = %{{customdata[7]:.3f}} {u} (sd %{{customdata[8]:.3f}}, "
            "min %{customdata[9]:.3f}, max %{customdata[10]:.3f})<br>"
            "over %{customdata[11]} seed(s)<extra></extra>")


def _plane_points(spread: Any, panel: str, layers: Sequence[str], labels: Mapping[str, str],
                  panel_column: str) -> dict[tuple[str, int], list[Any]]:
    """``(layer, epoch) -> [x, y, customdata]`` of one panel, from the seed spread."""
    rows = spread[spread[panel_column] == panel]
    wide = {}
    for (layer, epoch), group in rows.groupby(["layer", "epoch"], sort=False):
        q = {row["quantity"]: row for _, row in group.iterrows()}
        if "I_XT" not in q or "I_TY" not in q:
            continue
        x, y = q["I_XT"], q["I_TY"]
        custom = [plot_text(labels.get(layer, layer)), plot_text(panel), int(epoch),
                  *_round([x["mean"], x["std"], x["min"], x["max"], y["mean"], y["std"], y["min"], y["max"]]),
                  int(x["n_seeds"])]
        wide[(layer, int(epoch))] = [x["mean"], y["mean"], custom]
    return wide


def information_plane_figure(frame: Any, *, title: str, units: str = "bits",
                             layer_labels: Mapping[str, str] | None = None, panel: str = "activation",
                             max_frames: int = 120, axis_names: Sequence[str] = ("I(X;T)", "I(T;Y)"),
                             x_log: bool = False) -> dict[str, Any]:
    """The information plane with an epoch slider and a play button, one panel per ``panel`` value.

    Each layer's trajectory (mean over seeds at every recorded epoch) is a faint line; the layers
    at the slider's epoch are large markers joined in depth order. Hovering any point shows the
    layer, the epoch, I(X;T) and I(T;Y) as mean, standard deviation, minimum and maximum over
    seeds, and the number of seeds.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy plane measurements: columns ``seed, epoch, layer, quantity, value`` and ``panel``
        (``quantity`` is ``"I_XT"`` or ``"I_TY"``), one estimator.
    title : str
        Figure title (escaped here), for example the estimator and its settings.
    units : str
        Units of the values, shown on the axes.
    layer_labels : mapping, optional
        Display name of each layer (default: the layer name).
    panel : str
        Column whose values get one panel each (default ``"activation"``).
    max_frames : int
        At most this many epochs get a slider step (evenly spaced; first and last kept).
    axis_names : pair of str
        Names of the two quantities on the axes and in the hover text (for example the VIB's
        rate and ``H(Y) - CE``, plotted as ``I_XT`` and ``I_TY``).
    x_log : bool
        A logarithmic horizontal axis (values <= 0 are left out).
    """
    fn = "information_plane_figure"
    max_frames = check_int("max_frames", max_frames, fn, minimum=2)
    for column in ("seed", "epoch", "layer", "quantity", "value", panel):
        if column not in frame.columns:
            raise fail("frame", fn, f"a frame with a {column!r} column", got=f"columns {list(frame.columns)}")
    labels = dict(layer_labels or {})
    panels = list(dict.fromkeys(frame[panel]))
    layers = sorted(dict.fromkeys(frame["layer"]), key=_natural_key)
    spread = seed_summary(frame, (panel, "layer", "epoch", "quantity"))
    epochs = _evenly(sorted({int(e) for e in frame["epoch"]}), max_frames)
    u = plot_text(units)
    layout = _base_layout(plot_text(title))
    names = [plot_text(n) for n in axis_names]
    axes, annotations, refs = _grid_axes(1, len(panels), [plot_text(p) for p in panels],
                                         x_title=f"{names[0]} [{u}]", y_titles=[f"{names[1]} [{u}]"])
    layout.update(axes)
    hover = _hover(units, names)
    data: list[dict[str, Any]] = []
    current: list[int] = []
    points_by_panel = {}
    for j, name in enumerate(panels):
        points = _plane_points(spread, name, layers, labels, panel)
        points_by_panel[name] = points
        xref, yref = refs[0][j]
        xs = [p[0] for p in points.values()]
        ys = [p[1] for p in points.values()]
        if x_log:
            layout[f"xaxis{xref[1:]}"].update(type="log", dtick=1)
        elif xs:
            layout[f"xaxis{xref[1:]}"]["range"] = [0.0, max(xs) * 1.05 + 1e-9]
        if ys:
            layout[f"yaxis{yref[1:]}"]["range"] = [min(0.0, min(ys) * 1.08), max(ys) * 1.08 + 1e-9]
        for i, layer in enumerate(layers):
            path = [points[(layer, e)] for e in sorted({e for (lay, e) in points if lay == layer})]
            color = PALETTE[i % len(PALETTE)]
            data.append({"type": "scatter", "mode": "lines+markers", "xaxis": xref, "yaxis": yref,
                         "name": plot_text(labels.get(layer, layer)), "legendgroup": f"layer{i}",
                         "showlegend": j == 0, "x": _round([p[0] for p in path]),
                         "y": _round([p[1] for p in path]), "customdata": [p[2] for p in path],
                         "hovertemplate": hover, "opacity": 0.45,
                         "line": {"color": color, "width": 1.5}, "marker": {"color": color, "size": 4}})
        current.append(len(data))
        data.append(_current_trace(points, layers, epochs[-1], xref, yref, hover))

    def frame_of(epoch: int) -> dict[str, Any]:
        return {"name": str(epoch), "traces": current,
                "data": [_current_trace(points_by_panel[name], layers, epoch, *refs[0][j], hover)
                         for j, name in enumerate(panels)]}

    frames = [frame_of(e) for e in epochs]
    layout.update(_epoch_slider([str(e) for e in epochs]))
    layout["legend"] = {"orientation": "h", "x": 0.0, "y": 1.07, "yanchor": "bottom"}
    layout["margin"] = {"l": 60, "r": 20, "t": 100, "b": 150}
    layout["annotations"] = annotations
    layout["height"] = 620
    return {"data": data, "layout": layout, "frames": frames}


def _epoch_slider(names: Sequence[str]) -> dict[str, Any]:
    """Layout ``sliders`` and ``updatemenus``: a step per frame (named by its epoch), Play and Pause.

    The slider starts at the last frame, which the figure's data show before any frame is played.
    """
    animate = {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}
    sliders = [{
        "active": len(names) - 1, "x": 0.16, "len": 0.84, "y": -0.12, "yanchor": "top", "pad": {"t": 30},
        "currentvalue": {"prefix": "epoch ", "xanchor": "right", "font": {"size": 13}},
        "steps": [{"label": name, "method": "animate", "args": [[name], animate]} for name in names]}]
    menus = [{
        "type": "buttons", "direction": "left", "x": 0.0, "y": -0.12, "xanchor": "left", "yanchor": "top",
        "pad": {"t": 38, "r": 8}, "showactive": False,
        "buttons": [{"label": "Play", "method": "animate",
                     "args": [None, {**animate, "frame": {"duration": 250, "redraw": False},
                                     "fromcurrent": False}]},
                    {"label": "Pause", "method": "animate", "args": [[None], animate]}]}]
    return {"sliders": sliders, "updatemenus": menus}


def embedding_sequence_figure(maps: Sequence[Any], epochs: Sequence[int], labels: Any, *, title: str,
                              point_size: float = 5.0) -> dict[str, Any]:
    """2-D maps of one layer at several epochs as an animation: an epoch slider and a play button.

    ``maps[i]`` is an ``(n, 2)`` array of the same ``n`` inputs at ``epochs[i]`` (aligned, for
    example by Procrustes, so the animation reads as motion); points are coloured by ``labels``
    (one trace and legend entry per class). The axes span every map, so they stay put.
    """
    fn = "embedding_sequence_figure"
    coords = [as_samples(m, "maps", fn, min_samples=1) for m in maps]
    if not coords or any(c.shape != coords[0].shape or c.shape[1] != 2 for c in coords):
        raise fail("maps", fn, "a non-empty sequence of (n, 2) arrays of one shape",
                   got=f"{len(coords)} maps")
    if len(epochs) != len(coords):
        raise fail("epochs", fn, f"one epoch per map ({len(coords)})", got=f"{len(epochs)} epochs")
    label_arr = np.asarray(labels).reshape(-1)
    if label_arr.shape[0] != coords[0].shape[0]:
        raise fail("labels", fn, f"of length {coords[0].shape[0]} (one label per point)",
                   got=f"{label_arr.shape[0]} labels")
    classes, codes = np.unique(label_arr, return_inverse=True)
    codes = codes.reshape(-1)

    def traces(c: np.ndarray) -> list[dict[str, Any]]:
        return [{"type": "scatter", "mode": "markers", "name": plot_text(name), "x": _round(c[codes == k, 0]),
                 "y": _round(c[codes == k, 1]), "hovertemplate": "class %{fullData.name}<extra></extra>",
                 "marker": {"color": PALETTE[k % len(PALETTE)], "size": float(point_size), "opacity": 0.8}}
                for k, name in enumerate(classes)]

    stacked = np.concatenate(coords)
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    pad = 0.05 * np.maximum(high - low, 1e-9)
    names = [str(int(e)) for e in epochs]
    layout = _base_layout(plot_text(title))
    layout.update(_epoch_slider(names))
    layout.update(xaxis={"range": [float(low[0] - pad[0]), float(high[0] + pad[0])], "showticklabels": False,
                         "zeroline": False},
                  yaxis={"range": [float(low[1] - pad[1]), float(high[1] + pad[1])], "showticklabels": False,
                         "zeroline": False},
                  legend={"itemsizing": "constant"}, margin={"l": 20, "r": 20, "t": 50, "b": 130}, height=560)
    frames = [{"name": name, "data": traces(c), "traces": list(range(len(classes)))}
              for name, c in zip(names, coords, strict=True)]
    return {"data": traces(coords[-1]), "layout": layout, "frames": frames}


def _current_trace(points: Mapping[tuple[str, int], list[Any]], layers: Sequence[str], epoch: int,
                   xref: str, yref: str, hover: str) -> dict[str, Any]:
    """The layers at ``epoch`` (the epoch recorded last at or before it), joined in depth order."""
    chosen, colors = [], []
    for i, layer in enumerate(layers):
        known = [e for (lay, e) in points if lay == layer and e <= epoch]
        if known:
            chosen.append(points[(layer, max(known))])
            colors.append(PALETTE[i % len(PALETTE)])
    return {"type": "scatter", "mode": "lines+markers", "xaxis": xref, "yaxis": yref,
            "name": f"epoch {epoch}", "showlegend": False, "x": _round([p[0] for p in chosen]),
            "y": _round([p[1] for p in chosen]), "customdata": [p[2] for p in chosen],
            "hovertemplate": hover, "line": {"color": "#555555", "width": 1, "dash": "dot"},
            "marker": {"color": colors, "size": 12, "line": {"color": "#222222", "width": 1}}}


def mi_vs_epoch_figure(frame: Any, *, title: str, units: str = "bits",
                       layer_labels: Mapping[str, str] | None = None, panel: str = "activation",
                       max_points: int = 400) -> dict[str, Any]:
    """I(X;T) (top row) and I(T;Y) (bottom row) against epoch, one column per ``panel`` value.

    Lines are means over seeds with a band of plus or minus one standard deviation (when there
    are several seeds); hover gives the mean, standard deviation, minimum and maximum. The epoch
    axis is logarithmic in 1 + epoch (ticks show epochs), so epoch 0 is on it; drag to zoom,
    double-click to reset.

    Parameters
    ----------
    frame : pandas.DataFrame
        As for :func:`information_plane_figure`.
    title, units, layer_labels, panel
        As for :func:`information_plane_figure`.
    max_points : int
        At most this many epochs per curve (evenly spaced; first and last kept).
    """
    fn = "mi_vs_epoch_figure"
    max_points = check_int("max_points", max_points, fn, minimum=2)
    labels = dict(layer_labels or {})
    panels = list(dict.fromkeys(frame[panel]))
    layers = sorted(dict.fromkeys(frame["layer"]), key=_natural_key)
    spread = seed_summary(frame, (panel, "layer", "epoch", "quantity"))
    keep = set(_evenly(sorted({int(e) for e in frame["epoch"]}), max_points))
    spread = spread[spread["epoch"].isin(keep)].sort_values("epoch")
    u = plot_text(units)
    quantities = [q for q in _QUANTITIES if q in set(frame["quantity"])]
    layout = _base_layout(plot_text(title))
    y_titles = [f"{_QUANTITIES[q]} [{u}]" for q in quantities]
    axes, annotations, refs = _grid_axes(len(quantities), len(panels), [plot_text(p) for p in panels],
                                         x_title="epoch", y_titles=y_titles)
    top = max(int(frame["epoch"].max()), 1)
    ticks = [0] + [m * 10**k for k in range(int(math.log10(top)) + 1) for m in (1, 2, 5) if m * 10**k <= top]
    for key, axis in axes.items():
        if key.startswith("xaxis"):
            axis.update(type="log", tickvals=[t + 1 for t in ticks], ticktext=[str(t) for t in ticks],
                        title={"text": "epoch (log scale of 1 + epoch)"})
    layout.update(axes)
    data: list[dict[str, Any]] = []
    for r, quantity in enumerate(quantities):
        name = _QUANTITIES[quantity]
        hover = ("<b>%{customdata[0]}</b> (%{customdata[1]})<br>epoch %{customdata[2]}<br>"
                 f"{name} = %{{customdata[3]:.3f}} {u}<br>sd %{{customdata[4]:.3f}}, "
                 "min %{customdata[5]:.3f}, max %{customdata[6]:.3f} over %{customdata[7]} seed(s)"
                 "<extra></extra>")
        for j, panel_name in enumerate(panels):
            xref, yref = refs[r][j]
            rows = spread[(spread[panel] == panel_name) & (spread["quantity"] == quantity)]
            for i, layer in enumerate(layers):
                part = rows[rows["layer"] == layer]
                if part.empty:
                    continue
                color = PALETTE[i % len(PALETTE)]
                x = _round(part["epoch"].to_numpy() + 1)
                label = plot_text(labels.get(layer, layer))
                if float(part["std"].max()) > 0:
                    upper = part["mean"].to_numpy() + part["std"].to_numpy()
                    lower = part["mean"].to_numpy() - part["std"].to_numpy()
                    data.append({"type": "scatter", "mode": "lines", "xaxis": xref, "yaxis": yref,
                                 "x": x + x[::-1], "y": _round(upper) + _round(lower)[::-1],
                                 "fill": "toself", "fillcolor": _rgba(color, 0.15), "line": {"width": 0},
                                 "hoverinfo": "skip", "showlegend": False, "legendgroup": f"layer{i}"})
                custom = [[label, plot_text(panel_name), int(e), *_round([m, s, lo, hi]), int(n)]
                          for e, m, s, lo, hi, n in zip(part["epoch"], part["mean"], part["std"], part["min"],
                                                        part["max"], part["n_seeds"], strict=True)]
                data.append({"type": "scatter", "mode": "lines+markers", "xaxis": xref, "yaxis": yref,
                             "name": label, "legendgroup": f"layer{i}", "showlegend": r == 0 and j == 0,
                             "x": x, "y": _round(part["mean"]), "customdata": custom, "hovertemplate": hover,
                             "line": {"color": color, "width": 1.6}, "marker": {"color": color, "size": 4}})
    layout["annotations"] = annotations
    layout["legend"] = {"orientation": "h", "x": 0.0, "y": 1.04, "yanchor": "bottom"}
    layout["margin"] = {"l": 60, "r": 20, "t": 95, "b": 60}
    layout["height"] = 300 * len(quantities) + 140
    return {"data": data, "layout": layout}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def scatter3d_figure(points: Any, labels: Sequence[Any] | np.ndarray | None = None, title: str | None = None,
                     *, point_radius: float = 2.5, max_points: int = 5000, seed: int = 0,
                     fn: str = "scatter3d_figure") -> dict[str, Any]:
    """A rotatable 3-D scatter: one trace (colour, legend entry) per class, in the unit ball.

    The points are centred and scaled so the farthest lies at distance 1 (one scale for all three
    axes, so the shape is kept). Inputs with more than ``max_points`` points are subsampled
    uniformly at random with ``seed``, and the title says so.
    """
    xyz = as_samples(points, "points", fn, min_samples=1)
    if xyz.shape[1] != 3:
        raise fail("points", fn, "an array of shape (n, 3)", xyz)
    max_points = check_int("max_points", max_points, fn, minimum=1)
    if isinstance(point_radius, bool) or not isinstance(point_radius, int | float) or not (
            0 < point_radius <= 50):
        raise fail("point_radius", fn, "a float in (0, 50]", point_radius)
    n = xyz.shape[0]
    label_arr = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels).reshape(-1)
    if label_arr.shape[0] != n:
        raise fail("labels", fn, f"of length {n} (one label per point)", got=f"{label_arr.shape[0]} labels")
    note = ""
    if n > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
        xyz, label_arr = xyz[keep], label_arr[keep]
        note = f" (random subsample of {max_points} of {n} points)"
    centred = xyz - xyz.mean(axis=0)
    scale = float(np.sqrt((centred**2).sum(axis=1)).max())
    unit = centred / scale if scale > 0 else centred
    classes, codes = np.unique(label_arr, return_inverse=True)
    data = []
    for k, name in enumerate(classes):
        part = unit[codes.reshape(-1) == k]
        color = PALETTE[k % len(PALETTE)]
        data.append({"type": "scatter3d", "mode": "markers", "name": plot_text(name) if labels is not None
                     else "points", "x": _round(part[:, 0]), "y": _round(part[:, 1]), "z": _round(part[:, 2]),
                     "marker": {"size": 2.0 * float(point_radius), "color": color, "opacity": 0.8},
                     "hovertemplate": "class %{fullData.name}<extra></extra>"})
    axis = {"range": [-1.05, 1.05], "title": {"text": ""}, "showticklabels": False}
    layout = _base_layout(plot_text((title or "") + note))
    layout.update(scene={"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "cube"},
                  legend={"itemsizing": "constant"}, margin={"l": 0, "r": 0, "t": 40 if title or note else 0,
                                                             "b": 0})
    return {"data": data, "layout": layout}
