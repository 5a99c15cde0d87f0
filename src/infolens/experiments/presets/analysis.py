"""What an experiment's report shows, measured once from its store and written to ``summary.json``.

``summary.json`` of an experiment run holds

``experiment``
    ``name``, ``title``, ``paper`` (full citation), ``claim`` (one sentence), ``note``,
    ``estimators`` (label -> settings), ``splits``, ``seeds``, ``dataset``, ``variants``,
    ``samples`` (split -> number of inputs of its plane), ``config``.
    ``rule`` and ``interval``: how ``compresses`` is decided (:mod:`infolens.experiments.verdicts`).
``compression``, ``verdicts``
    The rows of :mod:`infolens.experiments.verdicts` (hidden layers).
``output_compression``
    The same rows for the output layer (softmax probabilities), without ``paper_says``.
``accuracy``
    variant -> ``train``/``test`` final accuracy, mean and per seed.
``clustering`` (noisy-nets)
    Per (variant, split, hidden layer): the Spearman rank correlation over recorded epochs between
    the seed-mean I(X;T) and the seed-mean clustering score, over all epochs and after the peak.
``timings``
    Seconds of setup, training, estimation, clustering, other recording (forward passes, metrics,
    snapshots, store), analysis and report, and the stacking gain.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infolens._json import read_json, write_json
from infolens._validation import fail
from infolens.experiments.plane.config import RunPaths, read_config
from infolens.experiments.presets.config import ExperimentConfig
from infolens.experiments.presets.run import SPLITS, layer_names, load_data
from infolens.experiments.presets.spec import Preset
from infolens.experiments.verdicts import INTERVAL, RULE, compression_rows, verdict_rows

__all__ = ["ExperimentData", "analyze_experiment", "load_experiment"]

Log = Callable[[str], None]


@dataclass
class ExperimentData:
    """An experiment run directory's settings, planes (per split) and metrics, read from its store."""

    root: Path
    config: ExperimentConfig
    results: dict[str, Any]          # split -> PlaneResult
    metrics: Any                     # DataFrame: split, seed, activation, epoch, metric, value
    layers: list[str]

    @property
    def preset(self) -> Preset:
        return self.config.preset

    @property
    def hidden_layers(self) -> list[str]:
        return self.layers[:-1]

    def labels(self) -> dict[str, dict[str, str]]:
        """Recorded variant name -> estimator key -> its label (as stored in the records)."""
        preset = self.preset
        return {name: preset.labels_of(v) for v in preset.variants for name in preset.recorded_names(v)}


def is_experiment_dir(out: str | os.PathLike[str]) -> bool:
    """Whether ``out/config.json`` describes an experiment preset run (not the main job)."""
    path = Path(out) / "config.json"
    try:
        data = read_json(path, "is_experiment_dir")
    except Exception:  # noqa: BLE001 - any unreadable file is simply not an experiment directory
        return False
    return isinstance(data, dict) and isinstance(data.get("config"), dict) and "experiment" in data["config"]


def load_experiment(out: str | os.PathLike[str], fn: str = "load_experiment") -> ExperimentData:
    """Read the settings and the store of a run directory written by ``run_experiment``."""
    import pandas as pd

    from infolens.plane import PlaneResult
    from infolens.store import RunStore

    paths = RunPaths(Path(out))
    config = read_config(paths, fn, ExperimentConfig)
    if not paths.store.is_file():
        raise fail("out", fn, "a run directory with store.sqlite", str(out))
    layers = layer_names(config.preset)
    results, frames = {}, []
    with RunStore(paths.store) as store:
        for split in SPLITS:
            results[split] = PlaneResult(store.measurements(split), layers=layers)
            frame = pd.DataFrame(store.metrics(split), columns=["run", "seed", "activation", "epoch", "name",
                                                                "value"])
            frames.append(frame.rename(columns={"run": "split", "name": "metric"}))
    if not len(results["train"]):
        raise fail("out", fn, "a run with at least one recorded epoch", str(out))
    return ExperimentData(root=paths.root, config=config, results=results,
                          metrics=pd.concat(frames, ignore_index=True), layers=layers)


def analyze_experiment(out: str | os.PathLike[str], *, timings: Mapping[str, Any] | None = None,
                       log: Log | None = None) -> dict[str, Any]:
    """Compute and write ``summary.json`` of an experiment run (see the module notes)."""
    start = time.perf_counter()
    data = load_experiment(out, "analyze_experiment")
    paths = RunPaths(data.root)
    stored = _stored_timings(paths)
    stored.update(timings or {})
    summary = summarize_experiment(data)
    stored["analysis"] = time.perf_counter() - start
    summary["timings"] = _rounded(stored)
    write_json(paths.summary, summary)
    if log is not None:
        log(f"Wrote {paths.summary}.")
    return summary


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(float(value), 3) if isinstance(value, float) else value


def _stored_timings(paths: RunPaths) -> dict[str, Any]:
    try:
        return dict(read_json(paths.summary, "analyze_experiment").get("timings", {}))
    except Exception:  # noqa: BLE001 - a missing or damaged summary is rebuilt
        return {}


def summarize_experiment(data: ExperimentData) -> dict[str, Any]:
    """The contents of ``summary.json`` (without timings) computed from ``data``."""
    preset, labels = data.preset, data.labels()
    key_of = {label: key for per_variant in labels.values() for key, label in per_variant.items()}
    settings = {label: preset.estimators_of(v)[key] for v in preset.variants
                for key, label in preset.labels_of(v).items()}

    def paper_says(variant: str, estimator: str) -> bool | None:
        base = next((v for v in preset.variants if variant.split(" ")[0] == v.name), None)
        return None if base is None else base.paper_says.get(key_of.get(estimator, ""), None)

    rows, output = [], []
    for split in SPLITS:
        rows += compression_rows(data.results[split], split=split, layers=data.hidden_layers,
                                 paper_says=paper_says)
        output += compression_rows(data.results[split], split=split, layers=data.layers[-1:])
    split_data = load_data(preset)
    n_train = len(split_data.y_train) if preset.plane_train_samples is None else min(
        preset.plane_train_samples, len(split_data.y_train))
    out: dict[str, Any] = {
        "experiment": {"name": preset.name, "title": preset.title, "paper": preset.paper,
                       "claim": preset.claim, "note": preset.note,
                       "estimators": settings,
                       "splits": list(SPLITS), "seeds": list(data.config.seeds), "dataset": preset.dataset,
                       "variants": [name for v in preset.variants for name in preset.recorded_names(v)],
                       "samples": {"train": n_train, "test": len(split_data.y_test)},
                       "epochs": preset.epochs, "config": data.config.to_dict(),
                       "units": data.results["train"].units, "rule": RULE, "interval": INTERVAL},
        "compression": rows,
        "verdicts": verdict_rows(rows),
        "output_compression": output,
        "accuracy": _accuracy(data),
    }
    if preset.clustering:
        out["clustering"] = clustering_agreement(data)
    out["files"] = {name: str(data.root / name) for name in ("report.html", "summary.json", "store.sqlite")}
    return out


def _accuracy(data: ExperimentData) -> dict[str, Any]:
    frame = data.metrics
    out: dict[str, Any] = {}
    for variant in data.preset.variants:
        entry: dict[str, Any] = {}
        for split in SPLITS:
            part = frame[(frame["activation"] == variant.name) & (frame["metric"] == f"{split}_accuracy")]
            if part.empty:
                continue
            last = part[part["epoch"] == part["epoch"].max()].sort_values("seed")
            values = [float(v) for v in last["value"]]
            entry[split] = {"mean": float(np.mean(values)), "per_seed": values,
                            "epoch": int(part["epoch"].max())}
        out[variant.name] = entry
    return out


def clustering_agreement(data: ExperimentData) -> list[dict[str, Any]]:
    """Spearman correlation over recorded epochs of seed-mean I(X;T) and seed-mean clustering score.

    Per (variant, estimator, split, hidden layer), over all recorded epochs and over the epochs
    from the peak of I(X;T) on. A strongly negative value after the peak means that I(X;T) falls
    while the representations cluster (the coincidence Goldfeld et al. 2019 report).
    """
    from scipy.stats import spearmanr

    rows = []
    frame = data.metrics
    for split in SPLITS:
        plane = data.results[split].to_frame()
        plane = plane[plane["quantity"] == "I_XT"]
        groups = plane.groupby(["activation", "estimator", "layer"], sort=False)
        for (variant, estimator, layer), part in groups:
            if layer not in data.hidden_layers:
                continue
            ixt = part.groupby("epoch")["value"].mean()
            clus = frame[(frame["split"] == split) & (frame["activation"] == variant)
                         & (frame["metric"] == f"clustering {layer}")].groupby("epoch")["value"].mean()
            common = ixt.index.intersection(clus.index)
            if len(common) < 3:
                continue
            a, b = ixt.loc[common].to_numpy(), clus.loc[common].to_numpy()
            peak = int(np.argmax(a))
            after = (spearmanr(a[peak:], b[peak:]).statistic if len(common) - peak >= 3 else math.nan)
            rows.append({"variant": variant, "estimator": estimator, "split": split, "layer": layer,
                         "spearman_all": _finite(spearmanr(a, b).statistic),
                         "spearman_after_peak": _finite(after),
                         "epochs_after_peak": int(len(common) - peak), "peak_epoch": int(common[peak])})
    return rows


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
