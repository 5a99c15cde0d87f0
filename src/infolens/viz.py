"""Matplotlib figures of information-plane runs.

Every function takes ``ax=None`` (a new figure is made when it is None), draws on one Axes and
returns it; none calls ``plt.show()``. Inputs are tidy frames:

* information-plane measurements, a :class:`pandas.DataFrame` (or anything with ``to_frame()``,
  such as a ``PlaneResult``) with columns ``seed, activation, epoch, layer, quantity, value,
  units`` where ``quantity`` is ``"I_XT"`` or ``"I_TY"``;
* training metrics with columns ``activation, seed, epoch, metric, value``;
* compression scores with columns ``activation, layer, score`` and optionally ``score_low,
  score_high`` (the frame of ``PlaneResult.compression_scores``).

Curves are averaged over seeds; bands show plus or minus one standard deviation across seeds
(in the information plane, the band is the union of the ellipses whose half-axes are the
standard deviations of I(X;T) and I(T;Y) at each recorded epoch).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from infolens._validation import check_choice, fail

__all__ = [
    "plot_compression_scores",
    "plot_information_plane",
    "plot_metrics",
    "plot_mi_vs_epoch",
    "seed_summary",
]

_PLANE_COLUMNS = ("seed", "activation", "epoch", "layer", "quantity", "value")
_QUANTITY_LABELS = {"I_XT": "I(X;T)", "I_TY": "I(T;Y)"}


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(name))]


def _as_frame(data: Any, fn: str, columns: Sequence[str]) -> Any:
    import pandas as pd

    if hasattr(data, "to_frame") and not isinstance(data, pd.DataFrame | pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise fail("data", fn, "a pandas DataFrame (or an object with to_frame())", data)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise fail("data", fn, f"a frame with columns {list(columns)}", got=f"missing columns {missing}")
    return data


def _select(frame: Any, fn: str, activation: str | None, layers: Sequence[str] | None) -> Any:
    if activation is not None:
        if activation not in set(frame["activation"]):
            raise fail("activation", fn, f"one of {sorted(set(frame['activation']))}", activation)
        frame = frame[frame["activation"] == activation]
    elif frame["activation"].nunique() > 1:
        raise fail("activation", fn, "given when the frame holds several activations "
                   f"({sorted(set(frame['activation']))})", activation)
    if layers is not None:
        unknown = [name for name in layers if name not in set(frame["layer"])]
        if unknown:
            raise fail("layers", fn, f"names among {sorted(set(frame['layer']), key=_natural_key)}",
                       got=f"unknown layers {unknown}")
        frame = frame[frame["layer"].isin(list(layers))]
    if frame.empty:
        raise fail("data", fn, "a frame with rows for the selection", got="no rows")
    return frame


def _units(frame: Any) -> str:
    if "units" in frame.columns and frame["units"].nunique() == 1:
        return str(frame["units"].iloc[0])
    return "bits" if "units" not in frame.columns else "mixed units"


def seed_summary(data: Any, by: Sequence[str] = ("activation", "layer", "quantity", "epoch")) -> Any:
    """Mean, standard deviation, minimum, maximum and count of ``value`` over seeds, per group ``by``.

    Returns a DataFrame with the ``by`` columns and ``mean``, ``std`` (0 for a single seed),
    ``min``, ``max`` and ``n_seeds``, sorted by ``by``.
    """
    frame = _as_frame(data, "seed_summary", [*by, "value"])
    grouped = frame.groupby(list(by), sort=True)["value"]
    out = grouped.agg(mean="mean", std="std", min="min", max="max", n_seeds="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def _layer_order(names: Any) -> list[str]:
    return sorted({str(n) for n in names}, key=_natural_key)


def _epoch_norm(epochs: np.ndarray) -> Any:
    """A colour norm of epochs on a log(1 + epoch) scale, so early and late epochs both show."""
    from matplotlib.colors import FuncNorm, Normalize

    low, high = float(np.min(epochs)), float(np.max(epochs))
    if high <= low:
        return Normalize(vmin=low, vmax=low + 1.0)
    return FuncNorm((np.log1p, np.expm1), vmin=low, vmax=high)


def _ellipse_union(ax: Any, x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray,
                   color: Any, alpha: float) -> None:
    """Fill the union of axis-aligned ellipses as one path (non-zero winding: uniform alpha)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    theta = np.linspace(0.0, 2.0 * np.pi, 33)
    vertices, codes = [], []
    for cx, cy, rx, ry in zip(x, y, sx, sy, strict=True):
        if rx <= 0 and ry <= 0:
            continue
        ring = np.column_stack([cx + max(rx, 1e-9) * np.cos(theta), cy + max(ry, 1e-9) * np.sin(theta)])
        vertices.append(ring)
        codes.append([Path.MOVETO] + [Path.LINETO] * (len(theta) - 2) + [Path.CLOSEPOLY])
    if not vertices:
        return
    path = Path(np.concatenate(vertices), np.concatenate(codes))
    ax.add_patch(PathPatch(path, facecolor=color, edgecolor="none", alpha=alpha, zorder=1))


def plot_information_plane(data: Any, *, activation: str | None = None,
                           layers: Sequence[str] | None = None,
                           layer_labels: Mapping[str, str] | None = None, ax: Any = None,
                           cmap: str = "viridis", band: bool = True, show_seeds: bool = False,
                           colorbar: bool = True, title: str | None = None) -> Any:
    """Trajectories of every layer in the information plane, I(T;Y) against I(X;T).

    Each layer's trajectory is averaged over seeds; its points are coloured by epoch (on a
    log(1 + epoch) colour scale), its first point is marked with a ring and its last point is
    labelled with the layer. Points recorded at the same epoch in different layers are joined by
    thin lines, as in Shwartz-Ziv & Tishby (2017).

    Parameters
    ----------
    data : DataFrame or PlaneResult
        Measurements with columns ``seed, activation, epoch, layer, quantity, value[, units]``.
    activation : str, optional
        Which activation to draw; required when the frame holds several.
    layers : sequence of str, optional
        Layers to draw (default: all, in natural order).
    layer_labels : mapping, optional
        Text for each layer (default: the layer name).
    ax : matplotlib Axes, optional
    cmap : str
        Colour map of the epochs.
    band : bool
        Shade plus or minus one standard deviation over seeds (the union of ellipses).
    show_seeds : bool
        Also draw each seed's trajectory as a faint line.
    colorbar : bool
        Add an epoch colour bar next to ``ax``.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    fn = "plot_information_plane"
    frame = _select(_as_frame(data, fn, _PLANE_COLUMNS), fn, activation, layers)
    units = _units(frame)
    stats = seed_summary(frame, by=("layer", "quantity", "epoch"))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    order = _layer_order(stats["layer"])
    norm = _epoch_norm(stats["epoch"].to_numpy())
    colormap = plt.get_cmap(cmap)
    labels = dict(layer_labels or {})
    per_layer: dict[str, Any] = {}
    for name in order:
        table = stats[stats["layer"] == name].pivot(index="epoch", columns="quantity",
                                                    values=["mean", "std"])
        if ("mean", "I_XT") not in table.columns or ("mean", "I_TY") not in table.columns:
            raise fail("data", fn, "both I_XT and I_TY rows for every layer",
                       got=f"layer {name!r} without one of them")
        table = table.dropna()
        per_layer[name] = table
        epochs = table.index.to_numpy()
        x, y = table[("mean", "I_XT")].to_numpy(), table[("mean", "I_TY")].to_numpy()
        if band:
            _ellipse_union(ax, x, y, table[("std", "I_XT")].to_numpy(), table[("std", "I_TY")].to_numpy(),
                           "0.55", 0.18)
        ax.plot(x, y, color="0.35", lw=0.8, zorder=2)
        ax.scatter(x, y, c=epochs, cmap=colormap, norm=norm, s=22, edgecolors="none", zorder=3)
        ax.scatter(x[:1], y[:1], s=60, facecolors="none", edgecolors="black", lw=0.8, zorder=4)
        ax.annotate(labels.get(name, name), (x[-1], y[-1]), xytext=(4, -10), textcoords="offset points",
                    fontsize=8, zorder=5)
    if show_seeds:
        for _, part in frame.groupby(["seed", "layer"]):
            wide = part.pivot_table(index="epoch", columns="quantity", values="value").dropna()
            if {"I_XT", "I_TY"} <= set(wide.columns):
                ax.plot(wide["I_XT"], wide["I_TY"], color="0.6", lw=0.5, alpha=0.6, zorder=1)
    _join_epochs(ax, per_layer, order)
    ax.set_xlabel(f"I(X;T) [{units}]")
    ax.set_ylabel(f"I(T;Y) [{units}]")
    n_seeds = int(frame["seed"].nunique())
    act = activation or str(frame["activation"].iloc[0])
    ax.set_title(title if title is not None else f"{act}: information plane (mean of {n_seeds} seeds)")
    if colorbar:
        mappable = plt.cm.ScalarMappable(norm=norm, cmap=colormap)
        bar = ax.figure.colorbar(mappable, ax=ax, pad=0.02)
        bar.set_label("epoch")
        bar.set_ticks(_epoch_ticks(float(norm.vmin), float(norm.vmax)))
    return ax


def _epoch_ticks(low: float, high: float) -> list[float]:
    ticks = [low, high]
    for t in (1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000):
        if low < t < high and all(abs(np.log1p(t) - np.log1p(u)) > 0.15 * np.log1p(high) for u in ticks):
            ticks.append(float(t))
    return sorted(ticks)


def _join_epochs(ax: Any, per_layer: Mapping[str, Any], order: Sequence[str], n_lines: int = 6) -> None:
    """Join points of a few common epochs across layers by thin lines (SZT style)."""
    common = None
    for name in order:
        epochs = set(per_layer[name].index.tolist())
        common = epochs if common is None else common & epochs
    if not common or len(order) < 2:
        return
    chosen = sorted(common)
    picks = sorted({chosen[int(round(i))] for i in np.linspace(0, len(chosen) - 1, n_lines)})
    for epoch in picks:
        xs = [per_layer[name].loc[epoch, ("mean", "I_XT")] for name in order]
        ys = [per_layer[name].loc[epoch, ("mean", "I_TY")] for name in order]
        ax.plot(xs, ys, color="0.75", lw=0.6, ls=":", zorder=0)


def plot_mi_vs_epoch(data: Any, quantity: str = "I_XT", *, activation: str | None = None,
                     layers: Sequence[str] | None = None,
                     layer_labels: Mapping[str, str] | None = None, ax: Any = None, band: bool = True,
                     logx: bool = True, cmap: str = "plasma", legend: bool = True,
                     title: str | None = None) -> Any:
    """I(X;T) or I(T;Y) of every layer against epoch, mean over seeds with a plus/minus 1 sd band.

    Parameters
    ----------
    data : DataFrame or PlaneResult
        Measurements with columns ``seed, activation, epoch, layer, quantity, value[, units]``.
    quantity : {"I_XT", "I_TY"}
    activation, layers, layer_labels, ax
        As in :func:`plot_information_plane`.
    band : bool
        Shade plus or minus one standard deviation over seeds.
    logx : bool
        Epoch axis on a symmetric-log scale (epoch 0 stays visible).
    cmap : str
        Colour map of the layers, from first to last.
    legend : bool
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    fn = "plot_mi_vs_epoch"
    check_choice("quantity", quantity, tuple(_QUANTITY_LABELS), fn)
    frame = _select(_as_frame(data, fn, _PLANE_COLUMNS), fn, activation, layers)
    frame = frame[frame["quantity"] == quantity]
    if frame.empty:
        raise fail("quantity", fn, "a quantity present in the frame", quantity)
    units = _units(frame)
    stats = seed_summary(frame, by=("layer", "epoch"))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    order = _layer_order(stats["layer"])
    colors = plt.get_cmap(cmap)(np.linspace(0.0, 0.85, max(len(order), 1)))
    labels = dict(layer_labels or {})
    for color, name in zip(colors, order, strict=True):
        part = stats[stats["layer"] == name]
        epochs, mean, std = part["epoch"].to_numpy(), part["mean"].to_numpy(), part["std"].to_numpy()
        ax.plot(epochs, mean, color=color, lw=1.4, label=labels.get(name, name))
        if band:
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    if logx:
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{_QUANTITY_LABELS[quantity]} [{units}]")
    act = activation or str(frame["activation"].iloc[0])
    ax.set_title(title if title is not None else f"{act}: {_QUANTITY_LABELS[quantity]} per layer")
    if legend:
        ax.legend(fontsize=7, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_metrics(data: Any, metrics: Sequence[str] = ("train_accuracy", "test_accuracy"), *,
                 activations: Sequence[str] | None = None, ax: Any = None, band: bool = True,
                 logx: bool = True, title: str | None = None) -> Any:
    """Training metrics (for example train and test accuracy) against epoch, per activation.

    Parameters
    ----------
    data : DataFrame
        Columns ``activation, seed, epoch, metric, value``.
    metrics : sequence of str
        Which metrics to draw; each gets its own line style (solid, dashed, ...).
    activations : sequence of str, optional
        Which activations to draw (default: all); each gets its own colour.
    ax : matplotlib Axes, optional
    band : bool
        Shade plus or minus one standard deviation over seeds.
    logx : bool
        Epoch axis on a symmetric-log scale.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    fn = "plot_metrics"
    frame = _as_frame(data, fn, ("activation", "seed", "epoch", "metric", "value"))
    if isinstance(metrics, str) or not metrics:
        raise fail("metrics", fn, "a non-empty sequence of metric names", metrics)
    unknown = [m for m in metrics if m not in set(frame["metric"])]
    if unknown:
        raise fail("metrics", fn, f"names among {sorted(set(frame['metric']))}", got=f"unknown {unknown}")
    acts = list(activations) if activations is not None else sorted(set(frame["activation"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    styles = ["-", "--", ":", "-."]
    stats = seed_summary(frame[frame["metric"].isin(list(metrics))], by=("activation", "metric", "epoch"))
    for k, act in enumerate(acts):
        color = f"C{k}"
        for j, metric in enumerate(metrics):
            part = stats[(stats["activation"] == act) & (stats["metric"] == metric)]
            if part.empty:
                continue
            epochs, mean, std = part["epoch"].to_numpy(), part["mean"].to_numpy(), part["std"].to_numpy()
            ax.plot(epochs, mean, color=color, ls=styles[j % len(styles)], lw=1.4,
                    label=f"{act} {metric.replace('_', ' ')}")
            if band:
                ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.15, lw=0)
    if logx:
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(", ".join(m.replace("_", " ") for m in metrics))
    ax.set_title(title if title is not None else "training metrics (mean over seeds, band: ±1 sd)")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_compression_scores(data: Any, *, layer_labels: Mapping[str, str] | None = None, ax: Any = None,
                            title: str | None = None) -> Any:
    """Compression score of each layer, grouped by activation, with confidence intervals.

    Parameters
    ----------
    data : DataFrame
        Columns ``activation, layer, score`` and optionally ``score_low, score_high`` (drawn as
        error bars; NaN bars are left out), as returned by ``PlaneResult.compression_scores``.
        The score is the fraction of its peak I(X;T) a layer lost by the end of training.
    layer_labels : mapping, optional
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    fn = "plot_compression_scores"
    frame = _as_frame(data, fn, ("activation", "layer", "score"))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    order = _layer_order(frame["layer"])
    acts = sorted(set(frame["activation"]))
    width = 0.8 / max(len(acts), 1)
    positions = np.arange(len(order))
    labels = dict(layer_labels or {})
    has_ci = {"score_low", "score_high"} <= set(frame.columns)
    for k, act in enumerate(acts):
        part = frame[frame["activation"] == act].set_index("layer").reindex(order)
        score = part["score"].to_numpy(dtype=float)
        offsets = positions - 0.4 + width * (k + 0.5)
        yerr = None
        if has_ci:
            low = np.clip(score - part["score_low"].to_numpy(dtype=float), 0, None)
            high = np.clip(part["score_high"].to_numpy(dtype=float) - score, 0, None)
            yerr = np.vstack([np.nan_to_num(low), np.nan_to_num(high)])
        ax.bar(offsets, score, width=width * 0.95, color=f"C{k}", label=act, yerr=yerr, capsize=2,
               error_kw={"lw": 0.8})
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xticks(positions)
    ax.set_xticklabels([labels.get(name, name) for name in order], fontsize=8)
    ax.set_ylabel("compression score")
    ax.set_title(title if title is not None else "compression: 1 - final I(X;T) / peak I(X;T)")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return ax
