"""Everything the main job's report shows, measured once after training and stored.

:func:`analyze` reads a run directory (config, store, weight snapshots) and writes

``summary.json``
    Per activation: ``test_accuracy`` and ``layers`` (layer name -> ``width``, ``peak_I_XT``,
    ``final_I_XT``, ``final_I_TY`` in bits, means over seeds); ``estimator`` (its settings);
    ``checks`` (the expected outcome of the issue, evaluated); ``timings``; ``files``.
``analysis.json``
    Compression scores, the phase table and the data-processing check of the run's plane.
``sensitivity.json``
    The recorded activations (rebuilt from the snapshots) re-estimated under other estimators.
``probes.json``, ``maps.npz``
    Linear probes of every layer of the first seed's network of each activation at the final
    epoch, and the 3-D PCA map of its last hidden layer.

The report (:func:`infolens.report.plane.build_report`) only reads these files and the store.
``infolens analyze DIR`` runs this step again on a finished run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infolens._json import write_json
from infolens._validation import fail
from infolens.experiments.plane.config import (
    DEFAULT_BIN_WIDTH,
    FIGURES,
    RUN_ID,
    PlaneRunConfig,
    RunPaths,
    read_config,
)

__all__ = ["RunData", "analyze", "expected_outcome", "load_run", "sensitivity_estimators", "summarize"]

Log = Callable[[str], None]


@dataclass
class RunData:
    """A run directory's settings, recorded plane and metrics (read from the store)."""

    root: Path
    config: PlaneRunConfig
    result: Any                 # PlaneResult
    metrics: Any                # DataFrame: activation, seed, epoch, metric, value
    widths: tuple[int, ...]
    layers: list[str]
    estimator_label: str
    units: str
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden_layers(self) -> list[str]:
        return self.layers[:-1]


def load_run(out: str | os.PathLike[str], fn: str = "load_run") -> RunData:
    """Read the settings and the store of a run directory written by ``run_plane``."""
    import pandas as pd

    from infolens.models import reference_widths
    from infolens.plane import PlaneResult
    from infolens.store import RunStore

    paths = RunPaths(Path(out))
    config = read_config(paths, fn)
    if not paths.store.is_file():
        raise fail("out", fn, "a run directory with store.sqlite", str(out))
    widths = reference_widths(config.dataset)
    layers = [f"layers.{i}" for i in range(len(widths) - 1)]
    with RunStore(paths.store) as store:
        if RUN_ID not in {r["run_id"] for r in store.runs()}:
            raise fail("out", fn, "a run directory whose store holds the main job", str(out))
        result = PlaneResult(store.measurements(RUN_ID), layers=layers)
        metrics = pd.DataFrame(store.metrics(RUN_ID), columns=["run", "seed", "activation", "epoch",
                                                               "name", "value"])
    if len(result) == 0:
        raise fail("out", fn, "a run with at least one recorded epoch", str(out))
    metrics = metrics.rename(columns={"name": "metric"})
    label = config.layer_estimator.label
    return RunData(root=paths.root, config=config, result=result, metrics=metrics, widths=widths,
                   layers=layers, estimator_label=label, units=result.units)


def analyze(out: str | os.PathLike[str], *, timings: Mapping[str, float] | None = None,
            log: Log | None = None) -> dict[str, Any]:
    """Measure what the report shows and store it (see the module notes); return the summary.

    ``timings`` of a training session are merged into the stored ones.
    """
    say = log or (lambda message: None)
    data = load_run(out, "analyze")
    paths = RunPaths(data.root)
    stored = _stored_timings(paths)
    stored.update(timings or {})
    snapshots = _snapshot_files(paths)
    if data.config.sensitivity:
        say("Estimator sensitivity: re-estimating the recorded epochs under other estimators ...")
        t0 = time.perf_counter()
        write_json(paths / "sensitivity.json", compute_sensitivity(data, snapshots, log=say))
        stored["sensitivity"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    probes, maps = compute_probes(data, snapshots[-1])
    write_json(paths / "probes.json", probes)
    _save_npz(paths / "maps.npz", maps)
    stored["probes"] = time.perf_counter() - t0
    write_json(paths / "analysis.json", plane_tables(data))
    summary = summarize(data, stored)
    write_json(paths.summary, summary)
    say(f"Wrote {paths.summary}.")
    return summary


def _save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    from infolens._atomic import atomic_write

    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def _stored_timings(paths: RunPaths) -> dict[str, float]:
    import json

    try:
        return dict(json.loads(paths.summary.read_text()).get("timings", {}))
    except (OSError, ValueError, AttributeError):
        return {}


def _snapshot_files(paths: RunPaths) -> list[Path]:
    files = sorted(paths.snapshots.glob("epoch_*.pt"))
    if not files:
        raise fail("out", "analyze", "a run directory with weight snapshots", str(paths.root))
    return files


def _member_activations(data: RunData, model: Any, x: Any) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """``{(activation, seed): {layer: array}}`` of the stacked model on ``x`` (output: softmax)."""
    from infolens.plane import run_layers

    acts = run_layers(model, x, data.layers, members=model.members)
    return {member: {name: value[m].numpy() for name, value in acts.items()}
            for m, member in enumerate(model.members)}


def _snapshot_model(data: RunData, path: Path) -> tuple[Any, int]:
    from infolens.store import load_checkpoint

    model = data.config.model()
    state = load_checkpoint(path)
    model.load_state_dict(state["model"])
    return model, int(state["epoch"])


def sensitivity_estimators(config: PlaneRunConfig) -> dict[str, dict[str, Any]]:
    """The estimator settings of the sensitivity table: the run's own first, then alternatives.

    Binning with half and double the bin width, 30 equal bins over each layer's own range at each
    epoch (Shwartz-Ziv & Tishby's rule; for ReLU the bins widen as activations grow), 30
    equal-mass bins over all of a layer's activation values (the entropy-based adaptive binning of
    Chelombiev et al. 2019), and the Kolchinsky-Tracey KDE upper bound
    with noise variance 0.1 (Saxe et al. 2018) on a subset of epochs.
    """
    own = {"estimator": config.estimator, **config.estimator_params}
    own_label = config.layer_estimator.label
    width = DEFAULT_BIN_WIDTH
    candidates = {
        f"binning(bin_width={width / 2:.4g})": {"estimator": "binning", "bin_width": width / 2},
        f"binning(bin_width={2 * width:.4g})": {"estimator": "binning", "bin_width": 2 * width},
        "binning(bins=30, per-layer range)": {"estimator": "binning", "bins": 30},
        "adaptive_binning(bins=30, scope=layer)": {"estimator": "adaptive_binning", "bins": 30,
                                                   "scope": "layer"},
        "kde(noise_var=0.1)": {"estimator": "kde", "noise_var": 0.1},
    }
    out = {f"{own_label} (this run)": own}
    for label, spec in candidates.items():
        if spec not in out.values():
            out[label] = spec
    return out


def compute_sensitivity(data: RunData, snapshots: list[Path], *, log: Log | None = None) -> dict[str, Any]:
    """Re-estimate the activations of every snapshot under :func:`sensitivity_estimators`."""
    import pandas as pd
    import torch

    from infolens.data import load
    from infolens.plane import sensitivity

    config = data.config
    split = load(config.dataset, config.data_seed)
    x_all = torch.as_tensor(split.x, dtype=torch.float32)
    by_member: dict[tuple[str, int], dict[int, dict[str, np.ndarray]]] = {m: {} for m in config.members}
    for path in snapshots:
        model, epoch = _snapshot_model(data, path)
        for member, acts in _member_activations(data, model, x_all).items():
            by_member[member][epoch] = acts
    epochs = sorted(by_member[config.members[0]])
    n_pick = min(config.costly_epochs, len(epochs))
    pick = sorted({epochs[int(round(i))] for i in np.linspace(0, len(epochs) - 1, n_pick)})
    # the costly estimators (O(n^2) per layer) see the first seed of each activation at a few epochs
    costly = {m: {e: acts for e, acts in per.items() if e in pick}
              for m, per in by_member.items() if m[1] == config.seeds[0]}
    from infolens.plane.estimators import entry

    settings = sensitivity_estimators(config)
    # capabilities from the table of plane estimators: O(n^2) ones see fewer epochs
    is_costly = {label: entry(spec["estimator"], "sensitivity").costly for label, spec in settings.items()}
    if n_pick == 0:
        settings = {k: v for k, v in settings.items() if not is_costly[k]}
    frames = []
    seconds: dict[str, float] = {}
    for label, spec in settings.items():
        t0 = time.perf_counter()
        subset = costly if is_costly[label] else by_member
        frames.append(sensitivity(subset, split.y, {label: spec}, x=split.x, run=RUN_ID).to_frame())
        seconds[label] = time.perf_counter() - t0
        if log is not None:
            log(f"  sensitivity: {label} in {seconds[label]:.1f} s")
    rows = pd.concat(frames, ignore_index=True).to_dict(orient="records")
    return {"settings": settings, "rows": rows, "seconds": seconds, "costly_epochs": pick,
            "costly_seed": config.seeds[0], "epochs": epochs}


def compute_probes(data: RunData, snapshot: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Linear probes of each layer and the 3-D PCA map of the last hidden layer, at ``snapshot``.

    Probes (:func:`infolens.probes.probe_layers`) are fitted on the held-out test inputs of the
    first seed's network of each activation; the map is the PCA of the last hidden layer on all
    inputs (:func:`infolens.embedding.embed`). Returns the JSON part (``epoch``, ``seed``,
    ``n_samples``, ``n_test``, ``probes``: activation -> ProbeReport fields, ``maps``: activation
    -> ``knn_accuracy`` and ``units``) and the arrays (``coords_<activation>`` and ``labels``).
    """
    import torch

    from infolens.data import load
    from infolens.embedding import embed
    from infolens.probes import probe_layers

    config = data.config
    split = load(config.dataset, config.data_seed)
    model, epoch = _snapshot_model(data, snapshot)
    seed = config.seeds[0]
    acts = _member_activations(data, model, torch.as_tensor(split.x, dtype=torch.float32))
    out: dict[str, Any] = {"epoch": epoch, "seed": seed, "n_samples": len(split.y),
                           "n_test": len(split.y_test), "probes": {}, "maps": {}}
    arrays: dict[str, np.ndarray] = {"labels": np.asarray(split.y)}
    for act in config.activations:
        net = model.member(model.members.index((act, seed)))
        out["probes"][act] = probe_layers(net, split.x_test, split.y_test, units=data.units).to_dict()
        layer = acts[(act, seed)][data.hidden_layers[-1]]
        if layer.shape[1] >= 3:
            emb = embed(layer, method="pca", dims=3, labels=split.y)
            arrays[f"coords_{act}"] = emb.coords
            out["maps"][act] = {"knn_accuracy": emb.knn_accuracy, "units": int(layer.shape[1])}
        else:
            out["maps"][act] = {"knn_accuracy": None, "units": int(layer.shape[1])}
    return out, arrays


def plane_tables(data: RunData) -> dict[str, Any]:
    """Compression scores, phases and the data-processing check of the run's own estimator."""
    result = data.result.select(estimator=data.estimator_label)
    return {"compression_scores": result.compression_scores().to_dict(orient="records"),
            "phases": result.phases().to_dict(orient="records"),
            "dpi_violations": len(result.dpi_violations(tol=0.05)), "points": len(result),
            "recorded_epochs": len(data.result.epochs)}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _final_metric(data: RunData, activation: str, metric: str) -> tuple[float, float, list[float]]:
    frame = data.metrics
    part = frame[(frame["activation"] == activation) & (frame["metric"] == metric)]
    if part.empty:
        return math.nan, math.nan, []
    last = part[part["epoch"] == part["epoch"].max()].sort_values("seed")
    values = [float(v) for v in last["value"]]
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, values


def summarize(data: RunData, timings: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The contents of ``summary.json`` (see the module notes), computed from ``data``."""
    per_layer = data.result.summary(estimator=data.estimator_label)
    out: dict[str, Any] = {}
    for act in data.config.activations:
        mean, std, values = _final_metric(data, act, "test_accuracy")
        train_mean, _, _ = _final_metric(data, act, "train_accuracy")
        layers = {}
        for i, name in enumerate(data.layers):
            values_l = per_layer.get(act, {}).get(name, {})
            layers[name] = {"width": int(data.widths[i + 1]),
                            "peak_I_XT": _finite(values_l.get("peak_I_XT", math.nan)),
                            "final_I_XT": _finite(values_l.get("final_I_XT", math.nan)),
                            "final_I_TY": _finite(values_l.get("final_I_TY", math.nan))}
        out[act] = {"test_accuracy": _finite(mean), "test_accuracy_std": _finite(std),
                    "test_accuracy_per_seed": [_finite(v) for v in values],
                    "train_accuracy": _finite(train_mean), "layers": layers}
    cfg = data.config
    out["estimator"] = {"name": cfg.estimator, "label": data.estimator_label,
                        "params": dict(cfg.estimator_params), "units": data.units,
                        "schedule": cfg.schedule, "points_per_decade": cfg.points_per_decade,
                        "samples": "all inputs (train and test)", "recorded_epochs": len(data.result.epochs),
                        "smoothing": "peak and final values use a 3-point moving average of each seed's "
                                     "curve, then the mean over seeds"}
    out["config"] = cfg.to_dict()
    out["checks"] = expected_outcome(out, data)
    out.update(_compression_verdicts(data))
    out["timings"] = {k: round(float(v), 3) for k, v in (timings or {}).items()}
    out["files"] = {name: str(data.root / name) for name in ("report.html", "summary.json", "store.sqlite",
                                                             *sorted(FIGURES))}
    return out


def _compression_verdicts(data: RunData) -> dict[str, Any]:
    """``compression`` and ``verdicts`` rows (:mod:`infolens.experiments.verdicts`) of the run's
    estimator, split "train" (the plane is estimated on all inputs, train and test); on szt12
    under binning the papers say tanh compresses (Shwartz-Ziv & Tishby 2017), ReLU does not
    (Saxe et al. 2018)."""
    from infolens.experiments.verdicts import INTERVAL, RULE, compression_rows, verdict_rows
    from infolens.plane.estimators import entry

    cfg = data.config
    fixed_bins = entry(cfg.estimator, "analyze").fixed_width
    said = {"tanh": True, "relu": False} if cfg.dataset == "szt12" and fixed_bins else {}
    rows = compression_rows(data.result.select(estimator=data.estimator_label), split="train",
                            layers=data.hidden_layers, paper_says=lambda variant, _: said.get(variant))
    return {"compression": rows, "verdicts": verdict_rows(rows), "compression_rule": RULE,
            "compression_interval": INTERVAL}


def expected_outcome(summary: Mapping[str, Any], data: RunData) -> dict[str, Any]:
    """The expected outcome of the main job, evaluated on a summary.

    tanh compresses its last hidden layer (final I(X;T) <= 0.5 x peak), ReLU hidden layers do not
    (every one ends at >= 0.9 x its peak), both reach I(T;Y) >= 0.95 bits in the last hidden layer
    and test accuracy >= 0.95. Checks whose activation is not in the run are left out.
    """
    checks: dict[str, Any] = {}
    hidden = data.hidden_layers
    last = hidden[-1]
    scale = 1.0 if data.units == "bits" else 1.0 / math.log(2.0)

    def ratio(act: str, layer: str) -> float | None:
        entry = summary[act]["layers"][layer]
        if entry["peak_I_XT"] in (None, 0) or entry["final_I_XT"] is None:
            return None
        return entry["final_I_XT"] / entry["peak_I_XT"]

    if "tanh" in summary:
        value = ratio("tanh", last)
        checks["tanh_last_hidden_compresses"] = {
            "rule": f"tanh {last}: final I(X;T) <= 0.5 x peak", "value": value,
            "passed": value is not None and value <= 0.5}
    if "relu" in summary:
        ratios = {layer: ratio("relu", layer) for layer in hidden}
        worst = min((r for r in ratios.values() if r is not None), default=None)
        checks["relu_hidden_do_not_compress"] = {
            "rule": "relu hidden layers: final I(X;T) >= 0.9 x peak", "value": worst, "per_layer": ratios,
            "passed": worst is not None and worst >= 0.9}
    for act in ("tanh", "relu"):
        if act not in summary:
            continue
        ity = summary[act]["layers"][last]["final_I_TY"]
        ity_bits = None if ity is None else ity * scale
        checks[f"{act}_last_hidden_I_TY"] = {
            "rule": f"{act} {last}: final I(T;Y) >= 0.95 bits", "value": ity_bits,
            "passed": ity_bits is not None and ity_bits >= 0.95}
        acc = summary[act]["test_accuracy"]
        checks[f"{act}_test_accuracy"] = {"rule": f"{act}: test accuracy >= 0.95", "value": acc,
                                          "passed": acc is not None and acc >= 0.95}
    if data.config.dataset != "szt12":
        for entry in checks.values():
            entry["note"] = "stated for the szt12 task; informative only on this data set"
    return checks
