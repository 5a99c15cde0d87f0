"""The VIB beta sweep's settings, result types and figures: what the sweep
(:mod:`infolens.experiments.vib_sweep`) produces and its report (:mod:`infolens.report.ib`) reads
back from ``summary.json`` and draws. Below both, so that the report never imports the experiment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from infolens._validation import check_choice, check_float, check_int, fail

__all__ = [
    "DEFAULT_BETAS",
    "SweepPoint",
    "VIBSweepConfig",
    "VIBSweepResult",
    "plot_ib_curve_with_layers",
    "plot_sweep_metrics",
    "plot_sweep_plane",
]

DEFAULT_BETAS: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
DATASETS: tuple[str, ...] = ("mnist1d", "szt12", "digits")
#: Accuracy points (absolute) by which small betas may trail beta = 0 in the expected outcome.
ACCURACY_TOLERANCE = 0.03
#: How close to chance (absolute accuracy) counts as a collapse at the largest beta.
COLLAPSE_MARGIN = 0.1


@dataclass(frozen=True)
class VIBSweepConfig:
    """Settings of a VIB beta sweep (validated on construction).

    ``epochs`` full passes over the training split in minibatches of ``batch_size``; ``k`` the
    bottleneck dimension; ``hidden`` the encoder widths; ``n_eval_samples`` posterior samples per
    input at evaluation; ``threads`` the torch threads used while training.
    """

    dataset: str = "mnist1d"
    betas: tuple[float, ...] = DEFAULT_BETAS
    epochs: int = 60
    batch_size: int = 100
    lr: float = 1e-3
    k: int = 32
    hidden: tuple[int, ...] = (256, 256)
    n_eval_samples: int = 12
    seed: int = 0
    device: str = "cpu"
    threads: int = 1

    def __post_init__(self) -> None:
        fn = "VIBSweepConfig"
        check_choice("dataset", self.dataset, DATASETS, fn)
        betas = tuple(check_float("betas", float(b) if isinstance(b, (int, float, np.floating)) else b,
                                  fn, minimum=0.0) for b in self.betas)
        if not betas:
            raise fail("betas", fn, "a non-empty sequence of floats >= 0", self.betas)
        if len(set(betas)) != len(betas):
            raise fail("betas", fn, "distinct values", self.betas)
        object.__setattr__(self, "betas", tuple(sorted(betas)))
        object.__setattr__(self, "hidden", tuple(check_int("hidden", h, fn, minimum=1) for h in self.hidden))
        for name in ("epochs", "batch_size", "k", "n_eval_samples", "threads"):
            check_int(name, getattr(self, name), fn, minimum=1)
        check_int("seed", self.seed, fn, minimum=0)
        check_float("lr", self.lr, fn, minimum=0.0, strict_minimum=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable settings."""
        out = asdict(self)
        out["betas"], out["hidden"] = list(self.betas), list(self.hidden)
        return out


@dataclass(frozen=True)
class SweepPoint:
    """One trained beta: test accuracy and the two variational bounds (bits), test and train."""

    beta: float
    test_accuracy: float
    rate_bits: float
    I_ZY_bits: float
    train_accuracy: float
    train_rate_bits: float
    train_I_ZY_bits: float

    def to_dict(self) -> dict[str, float]:
        """The fields as a plain dictionary."""
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class VIBSweepResult:
    """The outcome of :func:`infolens.experiments.vib_sweep.run_vib_sweep`.

    ``history`` holds per epoch and beta the training-set means of the rate and cross-entropy
    (bits) over the epoch's minibatches (one posterior sample each).
    """

    config: VIBSweepConfig
    points: tuple[SweepPoint, ...]
    h_y_bits: float
    chance_accuracy: float
    n_train: int
    n_test: int
    n_features: int
    timings: Mapping[str, float]
    history: Mapping[str, list[list[float]]] = field(default_factory=dict)
    h_y_train_bits: float = math.nan

    def checks(self) -> dict[str, Any]:
        """The expected outcome, evaluated: rate falls with beta; small betas keep the accuracy of
        beta = 0 (within 3 points); the largest beta collapses towards chance."""
        rates = [p.rate_bits for p in self.points]
        out: dict[str, Any] = {"rate_decreasing": bool(np.all(np.diff(rates) < 0))}
        zero = [p for p in self.points if p.beta == 0.0]
        if zero:
            small = [p for p in self.points if 0.0 < p.beta <= 1e-3]
            worst = min((p.test_accuracy for p in small), default=zero[0].test_accuracy)
            out["accuracy_small_beta_within_3_points"] = bool(
                worst >= zero[0].test_accuracy - ACCURACY_TOLERANCE)
        top = self.points[-1]
        if top.beta >= 1.0:
            limit = self.chance_accuracy + COLLAPSE_MARGIN
            out["collapse_at_largest_beta"] = bool(top.test_accuracy <= limit)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The contents of ``summary.json`` (sweep part)."""
        return {"dataset": self.config.dataset, "units": "bits",
                "points": [p.to_dict() for p in self.points],
                "h_y_bits": self.h_y_bits, "chance_accuracy": self.chance_accuracy,
                "n_train": self.n_train, "n_test": self.n_test, "n_features": self.n_features,
                "checks": self.checks(),
                "bounds": {"rate_bits": "E KL(p(z|x) || N(0, I)): an upper bound on I(Z;X)",
                           "I_ZY_bits": "H(Y) - cross-entropy: a lower bound on I(Z;Y)",
                           "split": "test split, n_eval_samples posterior samples per input"},
                "config": self.config.to_dict(),
                "timings": {k: round(float(v), 3) for k, v in self.timings.items()},
                "history": dict(self.history), "h_y_train_bits": self.h_y_train_bits}

    def table(self) -> list[dict[str, float]]:
        """One record per beta (for tables and reports)."""
        return [p.to_dict() for p in self.points]


# ------------------------------------------------------------------------------------------ plots
def _beta_axis(ax: Any, betas: Sequence[float]) -> None:
    positive = [b for b in betas if b > 0]
    if positive:
        ax.set_xscale("symlog", linthresh=min(positive))
        ax.set_xlim(-0.3 * min(positive) if min(betas) == 0 else min(positive) / 2, max(positive) * 2)
    ax.set_xlabel("beta (beta = 0 on the linear part of the axis)")


def plot_sweep_metrics(result: VIBSweepResult, axes: Any = None) -> Any:
    """Test accuracy (left) and the rate and I(Z;Y) bounds (right) against beta.

    Returns the two Axes (created on one figure when ``axes`` is None). beta = 0 sits on the
    linear part of a symmetric-log axis.
    """
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    betas = [p.beta for p in result.points]
    ax_acc, ax_bits = axes
    ax_acc.plot(betas, [p.test_accuracy for p in result.points], marker="o", label="test")
    ax_acc.plot(betas, [p.train_accuracy for p in result.points], marker=".", ls="--", label="train")
    ax_acc.axhline(result.chance_accuracy, color="0.5", lw=1, ls=":", label="chance (majority class)")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_title(f"VIB on {result.config.dataset}: accuracy")
    ax_acc.legend(fontsize=8)
    _beta_axis(ax_acc, betas)
    ax_bits.plot(betas, [p.rate_bits for p in result.points], marker="o",
                 label="rate = E KL (upper bound on I(Z;X))")
    ax_bits.plot(betas, [p.I_ZY_bits for p in result.points], marker="s",
                 label="H(Y) - CE (lower bound on I(Z;Y))")
    ax_bits.axhline(result.h_y_bits, color="0.5", lw=1, ls=":", label=f"H(Y) = {result.h_y_bits:.3f}")
    ax_bits.set_yscale("symlog", linthresh=1.0)
    lowest = min(0.0, *[p.I_ZY_bits for p in result.points])
    ax_bits.set_ylim(lowest - 0.3, max(p.rate_bits for p in result.points) * 2)
    ax_bits.set_ylabel("bits (test split)")
    ax_bits.set_title("variational bounds")
    ax_bits.legend(fontsize=8)
    _beta_axis(ax_bits, betas)
    return axes


def plot_sweep_plane(result: VIBSweepResult, ax: Any = None) -> Any:
    """The sweep's points in the information plane: I(Z;Y) lower bound against the rate (bits)."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4))
    rates = np.array([p.rate_bits for p in result.points])
    izy = np.array([p.I_ZY_bits for p in result.points])
    ax.plot(rates, izy, color="0.6", lw=1, zorder=1)
    colors = plt_colors(len(result.points))
    for p, color in zip(result.points, colors, strict=True):
        ax.scatter([p.rate_bits], [p.I_ZY_bits], color=color, zorder=2, label=f"beta = {p.beta:g}")
    ax.axhline(result.h_y_bits, color="0.5", lw=1, ls=":", label=f"H(Y) = {result.h_y_bits:.3f}")
    ax.plot([0, result.h_y_bits], [0, result.h_y_bits], color="0.7", lw=1, ls="--",
            label="I(Z;Y) <= I(Z;X)")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(-0.2, max(float(rates.max()), 1.0) * 3)
    ax.legend(fontsize=7, loc="center right")
    ax.set_xlabel("rate [bits] (upper bound on I(Z;X))")
    ax.set_ylabel("H(Y) - CE [bits] (lower bound on I(Z;Y))")
    ax.set_title(f"VIB on {result.config.dataset}: information plane (test split)")
    return ax


def plt_colors(n: int) -> list[Any]:
    """``n`` colors along viridis (small beta dark, large beta yellow)."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def plot_ib_curve_with_layers(curve: Any, layers: Sequence[Mapping[str, Any]] = (),
                              sweep: VIBSweepResult | None = None, ax: Any = None) -> Any:
    """The exact IB curve with trained layers (final I(X;T), I(T;Y)) and VIB points placed on it.

    No point can lie above the curve: the layers' coordinates are estimates (binning), and the VIB
    points are bounds (rate >= I(Z;X), H(Y) - CE <= I(Z;Y)), which put them right of and below it.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.5, 4.5))
    x_max = max([float(np.max(curve.i_xt)) * 1.2, 1.5, *[r["I_XT"] for r in layers]])
    curve.plot(ax=ax, x_max=x_max, label="exact IB curve")
    markers = iter("os^Dv<>p")
    for activation in dict.fromkeys(r["activation"] for r in layers):
        rows = [r for r in layers if r["activation"] == activation]
        ax.scatter([r["I_XT"] for r in rows], [r["I_TY"] for r in rows], marker=next(markers, "o"),
                   label=f"{activation} layers (final)", zorder=3)
        for r in rows:
            ax.annotate(r["layer"], (r["I_XT"], r["I_TY"]), fontsize=6, xytext=(3, -8),
                        textcoords="offset points")
    if sweep is not None:
        ax.scatter([p.rate_bits for p in sweep.points], [p.I_ZY_bits for p in sweep.points], marker="x",
                   color="k", label="VIB (rate, H(Y) - CE), test split", zorder=3)
    ax.set_xscale("symlog", linthresh=1.0)
    right = max([x_max, *([p.rate_bits for p in sweep.points] if sweep is not None else [])])
    ax.set_xlim(-0.1, right * 1.5)
    ax.set_xlabel(f"{ax.get_xlabel()} (VIB: rate)")
    ax.set_ylabel(f"{ax.get_ylabel()} (VIB: H(Y) - CE)")
    ax.set_title("SZT 12-bit task: exact IB curve")
    ax.legend(loc="lower right", fontsize=7)
    return ax
