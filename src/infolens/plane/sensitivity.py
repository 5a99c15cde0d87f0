"""Estimator sensitivity: re-estimate the same activations under several estimators.

Whether a layer "compresses" depends on how I(X;T) is estimated (Saxe et al. 2018 show binning
and KDE disagree with each other and with themselves across bin sizes and noise levels, and
that double-sided saturating activations compress under binning while ReLU does not). This view
keeps the activations fixed and varies only the estimator, so every difference in the table is
the estimator's doing.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infolens._json import to_jsonable
from infolens._units import check_units
from infolens._validation import as_labels, as_samples, check_float, check_int, fail, to_numpy
from infolens.plane.estimate import make_plane_estimators, plane_records
from infolens.plane.result import PlaneResult

_FN = "sensitivity"


@dataclass(frozen=True, eq=False, repr=False)
class SensitivityResult:
    """Planes of the same activations under several estimators (frozen).

    Attributes
    ----------
    results : dict of str to PlaneResult
        One plane per estimator setting, keyed by the caller's label.
    threshold, smooth :
        The compression rule used by :meth:`to_frame` (see :mod:`infolens.plane.result`).
    """

    results: Mapping[str, PlaneResult]
    threshold: float = field(default=0.05, kw_only=True)
    smooth: int = field(default=3, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", dict(self.results))

    def __repr__(self) -> str:
        return f"SensitivityResult(estimators={list(self.results)}, threshold={self.threshold})"

    def to_dict(self) -> dict[str, Any]:
        """The rule and every plane's records, as plain JSON values (non-finite numbers as null)."""
        return to_jsonable({"threshold": self.threshold, "smooth": self.smooth,
                            "results": {label: result.to_records()
                                        for label, result in self.results.items()}})

    def plot(self, ax: Any = None) -> Any:
        """Compression score of each layer, one bar per estimator (and activation, when there are
        several), drawn by :func:`infolens.viz.plot_compression_scores`. Returns the Axes."""
        from infolens.viz import plot_compression_scores

        frame = self.to_frame()
        several = frame["activation"].nunique() > 1
        groups = [f"{e} ({a})" if several else e for e, a in zip(frame["estimator"], frame["activation"],
                                                                   strict=True)]
        bars = frame.assign(activation=groups).rename(columns={"compression_score": "score"})
        return plot_compression_scores(bars, ax=ax, title="compression by estimator: 1 - final / peak I(X;T)")

    def to_frame(self) -> Any:
        """DataFrame with columns estimator, activation, layer, compression_score, compresses.

        ``compression_score`` is the seed-mean score ``1 - final/peak`` of I(X;T) and
        ``compresses`` is ``compression_score > threshold``.
        """
        import pandas as pd

        frames = []
        for label, result in self.results.items():
            scores = result.compression_scores(smooth=self.smooth, threshold=self.threshold)
            frames.append(pd.DataFrame({
                "estimator": label, "activation": scores["activation"], "layer": scores["layer"],
                "compression_score": scores["score"], "compresses": scores["compresses"]}))
        columns = ["estimator", "activation", "layer", "compression_score", "compresses"]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]

    def table(self) -> Any:
        """``compresses`` pivoted: one row per (activation, layer), one column per estimator."""
        frame = self.to_frame()
        table = frame.pivot(index=["activation", "layer"], columns="estimator", values="compresses")
        layers = list(dict.fromkeys(frame["layer"]))
        order = sorted(table.index, key=lambda key: (list(dict.fromkeys(frame["activation"])).index(key[0]),
                                                     layers.index(key[1])))
        return table.loc[order, list(self.results)]

    def combined(self) -> PlaneResult:
        """All planes in one :class:`PlaneResult` (its ``estimator`` column tells them apart)."""
        out = PlaneResult()
        for result in self.results.values():
            out = out.merge(result)
        return out


def _replicates(activations_by_epoch: Any) -> dict[tuple[str, int], Mapping[int, Mapping[str, Any]]]:
    if not isinstance(activations_by_epoch, Mapping) or not activations_by_epoch:
        raise fail("activations_by_epoch", _FN, "a non-empty mapping", activations_by_epoch)
    keys = list(activations_by_epoch)
    if all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in keys):
        return {("", 0): activations_by_epoch}
    if all(isinstance(k, tuple) and len(k) == 2 for k in keys):
        return {(str(k[0]), int(k[1])): v for k, v in activations_by_epoch.items()}
    raise fail("activations_by_epoch", _FN,
               "{epoch: {layer: array}} or {(activation, seed): {epoch: {layer: array}}}",
               got=f"keys {keys[:5]!r}")


def sensitivity(activations_by_epoch: Mapping[Any, Any], y: Any, estimators: Mapping[str, Mapping[str, Any]],
                *, x: Any = None, units: str = "bits", threshold: float = 0.05, smooth: int = 3,
                run: str = "run", n_samples: int | None = None, random_state: int = 0) -> SensitivityResult:
    """Re-estimate stored activations under several estimators and tabulate compression.

    Parameters
    ----------
    activations_by_epoch : mapping
        ``{epoch: {layer: array (n, ...)}}`` for one network, or
        ``{(activation, seed): {epoch: {layer: array}}}`` for several (the form kept by
        ``InformationPlane(..., keep_activations=True).activations``). Layers are in input-to-
        output order.
    y : array of shape (n,)
        Labels, in the row order of the activations.
    estimators : mapping of str to dict
        ``{label: {"estimator": name, **params}}``, e.g.
        ``{"binning 30": {"estimator": "binning", "bins": 30},
        "kde 1e-2": {"estimator": "kde", "noise_var": 1e-2}}``. Without an ``"estimator"`` key,
        the label itself must be an estimator name.
    x : array of shape (n, ...), optional
        Input vectors; needed by ``ksg``.
    units : {"bits", "nats"}
    threshold, smooth : see :meth:`PlaneResult.compression_scores`.
    run : str
        The ``run`` field of the records.
    n_samples : int, optional
        Estimate on a fixed random subset of this many samples (the same rows for every epoch,
        layer and estimator), e.g. to make the O(n^2) KDE affordable. X is then the identity of
        the subset's samples, so I(X;T) is at most ``log2(n_samples)`` bits under every
        estimator: compare estimators within one table, not with a full-sample plane.
    random_state : int
        Seed of the subset.

    Returns
    -------
    SensitivityResult
    """
    units = check_units(units, _FN)
    threshold = check_float("threshold", threshold, _FN, minimum=0.0, maximum=1.0)
    smooth = check_int("smooth", smooth, _FN, minimum=1)
    labels = as_labels(y, "y", _FN, min_samples=2)
    n_classes = int(labels.max()) + 1
    replicates = _replicates(activations_by_epoch)
    if not isinstance(estimators, Mapping) or not estimators:
        raise fail("estimators", _FN, "a non-empty mapping of label to estimator settings", estimators)
    x_vectors = None
    if x is not None:
        x_vectors = as_samples(to_numpy(x).reshape(len(labels), -1), "x", _FN)
        if len(x_vectors) != len(labels):
            raise fail("x", _FN, f"as long as 'y' ({len(labels)} samples)", got=f"{len(x_vectors)} samples")
    rows = None
    if n_samples is not None:
        n_samples = check_int("n_samples", n_samples, _FN, minimum=2, maximum=len(labels))
        rows = np.sort(np.random.default_rng(random_state).choice(len(labels), n_samples, replace=False))
        labels = labels[rows]
        x_vectors = None if x_vectors is None else x_vectors[rows]
    results = {}
    for label, spec in estimators.items():
        if not isinstance(spec, Mapping):
            raise fail(f"estimators[{label!r}]", _FN, "a dict of estimator settings", spec)
        params = dict(spec)
        estimator = make_plane_estimators(params.pop("estimator", label), params, _FN)
        if estimator.needs_inputs and x_vectors is None:
            raise fail("x", _FN, f"the input vectors for the estimator {estimator.label!r} (it reads X)",
                       None)
        records: list[dict[str, Any]] = []
        layers: list[str] = []
        for (activation, seed), by_epoch in replicates.items():
            for epoch in sorted(by_epoch):
                acts = by_epoch[epoch]
                if rows is not None:
                    acts = {layer: to_numpy(value)[rows] for layer, value in acts.items()}
                layers += [str(lay) for lay in acts if str(lay) not in layers]
                records += plane_records(acts, labels, n_classes, estimator, int(epoch), units=units,
                                         fn=_FN, x=x_vectors, run=run, seed=seed, activation=activation)
        results[str(label)] = PlaneResult(records, layers=layers)
    return SensitivityResult(results, threshold=threshold, smooth=smooth)


__all__ = ["SensitivityResult", "sensitivity"]
