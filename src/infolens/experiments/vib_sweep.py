"""The ``infolens ib`` experiment: a VIB beta sweep, and the exact IB curve of the SZT task.

:func:`run_vib_sweep` trains one :class:`~infolens.bottleneck.vib.VIBClassifier` per beta (MLP
encoder in-256-256, Gaussian bottleneck K = 32, linear decoder, Adam 1e-3). All betas train
*together*: the models' parameters are stacked and one ``torch.func.vmap`` call runs every model on
the same minibatch (each beta's loss only reaches its own slice of the stacked parameters, and Adam
is elementwise, so this is exactly independent training, without the per-model Python overhead).
Every model starts from the same weights (one seed) and sees the same minibatches, so the betas
differ only in their loss and their posterior noise.

After training, each model is evaluated on the test split with ``n_eval_samples`` posterior
samples per input: accuracy from the averaged class probabilities, the rate (an upper bound on
I(Z;X)) and ``H(Y) - CE`` (a lower bound on I(Z;Y), with ``H(Y)`` the plug-in entropy of the
test labels), in bits.

:func:`run_ib_sweep` writes to its output directory ``summary.json`` (``points``: one
``{"beta", "test_accuracy", "rate_bits", "I_ZY_bits"}`` per beta, plus train-split values, the
evaluated expectations under ``checks`` and ``timings``); the report
(:func:`infolens.report.ib.build_ib_report`, run after it by :func:`infolens.jobs.run_ib_experiment`)
draws ``vib_sweep.png`` (accuracy and both bounds against beta), ``vib_plane.png`` (the points in
the information plane) and a self-contained ``report.html``. For ``dataset="szt12"`` it also
computes the exact IB curve of the task (:func:`infolens.bottleneck.ib_curve`,
``I(T;Y) = min(I(X;T), H(Y))`` for its deterministic labels)
and draws it with the VIB points and, given the directory of an ``infolens run`` information-plane
run, that run's trained layers (final I(X;T) and I(T;Y), read from its store).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infolens._standardize import standardize
from infolens._threads import torch_threads
from infolens._validation import check_choice, check_float, check_int, fail

__all__ = [
    "DEFAULT_BETAS",
    "SweepPoint",
    "VIBSweepConfig",
    "VIBSweepResult",
    "load_plane_layers",
    "plot_ib_curve_with_layers",
    "plot_sweep_metrics",
    "plot_sweep_plane",
    "run_ib_sweep",
    "run_vib_sweep",
    "szt_ib_curve",
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
    """The outcome of :func:`run_vib_sweep`.

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


# ------------------------------------------------------------------------------------- training
def _load(dataset: str, seed: int) -> Any:
    from infolens.data import load

    return load(dataset, seed)


def run_vib_sweep(config: VIBSweepConfig | None = None, *,
                  progress: Callable[[int, int], None] | None = None, **overrides: Any) -> VIBSweepResult:
    """Train one VIB classifier per beta (all together) and evaluate the bounds on the test split.

    Parameters
    ----------
    config : VIBSweepConfig, optional
        Default ``VIBSweepConfig()``; keyword ``overrides`` replace its fields.
    progress : callable, optional
        Called as ``progress(epoch, epochs)`` after every epoch.

    Returns
    -------
    VIBSweepResult
    """
    import torch
    from torch.func import functional_call, stack_module_state, vmap

    from infolens.bottleneck.vib import VIBClassifier, vib_terms

    config = config or VIBSweepConfig()
    if overrides:
        config = VIBSweepConfig(**{**asdict(config), **overrides})
    start = time.perf_counter()
    data = _load(config.dataset, config.seed)
    device = torch.device(config.device)
    x_train, x_test = standardize(data.x_train, data.x_test, ddof=0)
    xtr = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    ytr = torch.as_tensor(np.asarray(data.y_train), dtype=torch.int64, device=device)
    xte = torch.as_tensor(x_test, dtype=torch.float32, device=device)
    yte = torch.as_tensor(np.asarray(data.y_test), dtype=torch.int64, device=device)
    n_classes = int(max(int(ytr.max()), int(yte.max())) + 1)
    betas = torch.tensor(config.betas, dtype=torch.float32, device=device)

    with (torch_threads(config.threads, "run_vib_sweep"),
          torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])):
        models = []
        for _ in config.betas:  # identical initial weights for every beta
            torch.manual_seed(config.seed)
            models.append(VIBClassifier(xtr.shape[1], n_classes, config.k, config.hidden).to(device))
        params, buffers = stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")

        def terms(p: Any, b: Any, xb: Any, yb: Any) -> Any:
            logits, mean, std = functional_call(base, (p, b), (xb,))
            return torch.stack(vib_terms(logits, yb, mean, std))

        batched_terms = vmap(terms, in_dims=(0, 0, None, None), randomness="different")
        optimizer = torch.optim.Adam(params.values(), lr=config.lr)
        n = xtr.shape[0]
        gen = torch.Generator().manual_seed(config.seed)
        history: dict[str, list[list[float]]] = {"rate_bits": [], "cross_entropy_bits": []}
        for epoch in range(config.epochs):
            order = torch.randperm(n, generator=gen).to(device)
            totals = torch.zeros(len(config.betas), 2, device=device)
            for rows in order.split(config.batch_size):
                values = batched_terms(params, buffers, xtr[rows], ytr[rows])  # (M, 2) nats
                loss = (values[:, 0] + betas * values[:, 1]).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                totals += values.detach() * len(rows)
            totals = (totals / n / math.log(2)).cpu().numpy()
            history["cross_entropy_bits"].append(totals[:, 0].tolist())
            history["rate_bits"].append(totals[:, 1].tolist())
            if progress is not None:
                progress(epoch + 1, config.epochs)
        trained = time.perf_counter()

        def evaluate(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            def run(p: Any, b: Any, xb: Any) -> Any:
                return functional_call(base, (p, b), (xb, config.n_eval_samples))

            accuracy, cross_entropy, rate = [], [], []
            with torch.no_grad():
                for rows in torch.arange(x.shape[0], device=device).split(1024):
                    logits, mean, std = vmap(run, in_dims=(0, 0, None), randomness="different")(
                        params, buffers, x[rows])  # (M, S, B, C)
                    proba = torch.softmax(logits, dim=-1).mean(dim=1)
                    accuracy.append((proba.argmax(-1) == y[rows]).float().sum(dim=1))
                    log_q = torch.log_softmax(logits, dim=-1)
                    index = y[rows].reshape(1, 1, -1, 1).expand(*logits.shape[:3], 1)
                    cross_entropy.append(-log_q.gather(-1, index).mean(dim=1).sum(dim=(1, 2)))
                    rate.append(0.5 * (mean.pow(2) + std.pow(2) - 1 - 2 * std.log()).sum(dim=(1, 2)))
            count = x.shape[0]
            return tuple(torch.stack(v).sum(dim=0).cpu().numpy() / count  # type: ignore[return-value]
                         for v in (accuracy, cross_entropy, rate))

        test_acc, test_ce, test_rate = evaluate(xte, yte)
        train_acc, train_ce, train_rate = evaluate(xtr, ytr)
    h_test = _label_entropy_bits(data.y_test)
    h_train = _label_entropy_bits(data.y_train)
    ln2 = math.log(2)
    points = tuple(SweepPoint(beta=float(b), test_accuracy=float(test_acc[i]),
                              rate_bits=float(test_rate[i] / ln2), I_ZY_bits=float(h_test - test_ce[i] / ln2),
                              train_accuracy=float(train_acc[i]), train_rate_bits=float(train_rate[i] / ln2),
                              train_I_ZY_bits=float(h_train - train_ce[i] / ln2))
                   for i, b in enumerate(config.betas))
    end = time.perf_counter()
    chance = float(np.bincount(np.asarray(data.y_test)).max() / len(data.y_test))
    timings = {"train_s": trained - start, "eval_s": end - trained, "total_s": end - start,
               "per_epoch_s": (trained - start) / config.epochs}
    return VIBSweepResult(config=config, points=points, h_y_bits=h_test, h_y_train_bits=h_train,
                          chance_accuracy=chance,
                          n_train=int(xtr.shape[0]), n_test=int(xte.shape[0]),
                          n_features=int(xtr.shape[1]), timings=timings, history=history)


def _label_entropy_bits(labels: Any) -> float:
    from infolens.measures import entropy

    return float(entropy(np.bincount(np.asarray(labels).astype(np.int64)), normalize=True))


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


# --------------------------------------------------------------------------- the SZT task and runs
def szt_ib_curve(units: str = "bits") -> Any:
    """The exact IB curve of the SZT 12-bit task (uniform X over 4096 inputs, deterministic Y)."""
    from infolens.bottleneck import ib_curve
    from infolens.data import szt12

    x, y = szt12()
    return ib_curve(x=x, y=y, betas=np.geomspace(0.25, 64.0, 17), units=units)


def load_plane_layers(run_dir: str | Path) -> list[dict[str, Any]]:
    """The trained layers of an information-plane run (``infolens run``), read from its store.

    Returns records ``{"activation", "layer", "I_XT", "I_TY", "peak_I_XT"}``: the final and peak
    values of the run's own estimator (bits for the default run; 3-point moving average per seed,
    then the mean over seeds, as in the run's summary).
    """
    from infolens.experiments.plane import load_run

    data = load_run(run_dir, "load_plane_layers")
    records = []
    for activation, layers in data.result.summary(estimator=data.estimator_label).items():
        for layer, values in layers.items():
            if not (math.isfinite(values["final_I_XT"]) and math.isfinite(values["final_I_TY"])):
                continue
            records.append({"activation": activation, "layer": layer, "I_XT": float(values["final_I_XT"]),
                            "I_TY": float(values["final_I_TY"]), "peak_I_XT": float(values["peak_I_XT"])})
    return records


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


# ------------------------------------------------------------------------------------ the command
def run_ib_sweep(config: VIBSweepConfig, out: str | Path, *, run_dir: str | Path | None = None,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the sweep (and, on SZT, the exact IB curve), then write ``summary.json`` to ``out``, which
    the report (:func:`infolens.report.ib.build_ib_report`) reads; :func:`infolens.jobs.run_ib_experiment`
    runs both.

    Parameters
    ----------
    config : VIBSweepConfig
    out : path
        Output directory (created).
    run_dir : path, optional
        An information-plane run directory (``infolens run``); only with ``dataset="szt12"``.

    Returns
    -------
    dict
        The contents of ``summary.json``.
    """
    from infolens._json import write_json

    if run_dir is not None and config.dataset != "szt12":
        raise fail("run_dir", "run_ib_experiment", "None unless dataset='szt12' (the exact IB curve "
                   "is that of the SZT task)", got=repr(str(run_dir)))
    layers = load_plane_layers(run_dir) if run_dir is not None else []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = run_vib_sweep(config, progress=progress)
    summary = result.to_dict()
    if config.dataset == "szt12":
        started = time.perf_counter()
        curve = szt_ib_curve()
        summary["ib_curve"] = curve.to_dict()
        summary["timings"]["ib_curve_s"] = round(time.perf_counter() - started, 3)
        summary["plane_layers"] = layers
        if run_dir is not None:
            summary["run_dir"] = str(run_dir)
    write_json(out / "summary.json", summary)
    return summary
