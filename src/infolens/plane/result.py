"""``PlaneResult``: information-plane measurements, their phases and compression scores.

A result is a list of records, one number each::

    {"run": "run", "seed": 0, "activation": "tanh", "epoch": 12, "layer": "layers.2",
     "quantity": "I_XT", "estimator": "binning(bins=30)", "value": 3.91, "units": "bits"}

Definitions used throughout (all per estimator, activation and layer; ``smooth`` is a centred
moving average over that many *recorded* points, shrinking at the ends, 1 = none):

* **peak** I(X;T): the maximum of the smoothed I(X;T) curve; its epoch ends the *fitting* phase.
* **final** I(X;T) (and I(T;Y)): the smoothed value at the last recorded epoch.
* **compression score** ``1 - final / peak``: how far I(X;T) falls after its peak, as a fraction
  of the peak (0 when it never falls, 0 when the peak is <= 0).
* a layer **compresses** when its score exceeds ``threshold`` (default 0.05: I(X;T) ends at least
  5 % below its peak); the *compression* phase then runs from the peak epoch to the end.

Replicates are the (run, seed) pairs of an activation; "mean over seeds" averages over them.
These numbers describe the estimator as much as the network: with a deterministic network,
binning and KDE numbers depend on the bin size or noise variance (see
:mod:`infolens.plane.estimate`), which is why :func:`infolens.plane.sensitivity` exists.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from infolens._units import UNITS
from infolens._validation import check_float, check_int, check_probability_level, fail

COLUMNS: tuple[str, ...] = ("run", "seed", "activation", "epoch", "layer", "quantity", "estimator",
                            "value", "units")
QUANTITIES: tuple[str, ...] = ("I_XT", "I_TY")
#: The fields that identify one measurement (re-recording it replaces the value).
KEY: tuple[str, ...] = ("run", "seed", "activation", "epoch", "layer", "quantity", "estimator")
_CURVE = ["estimator", "activation", "layer"]


def _check_record(record: Any, index: int, fn: str) -> dict[str, Any]:
    name = f"records[{index}]"
    if not isinstance(record, Mapping):
        raise fail(name, fn, "a mapping with keys " + ", ".join(COLUMNS), record)
    missing = [key for key in COLUMNS if key not in record]
    if missing:
        raise fail(name, fn, "a mapping with keys " + ", ".join(COLUMNS),
                   got=f"a record without {', '.join(missing)}")
    out = dict(record)
    for key in ("seed", "epoch"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise fail(f"{name}[{key!r}]", fn, "an int >= 0", value)
        out[key] = int(value)
    if out["quantity"] not in QUANTITIES:
        raise fail(f"{name}['quantity']", fn, "'I_XT' or 'I_TY'", out["quantity"])
    if out["units"] not in UNITS:
        raise fail(f"{name}['units']", fn, "'bits' or 'nats'", out["units"])
    value = out["value"]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(f"{name}['value']", fn, "a real number", value)
    out["value"] = float(value)
    for key in ("run", "activation", "layer", "estimator"):
        out[key] = str(out[key])
    return out


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` points; the window shrinks at both ends."""
    if window <= 1 or len(values) <= 1:
        return values.astype(np.float64)
    kernel = np.ones(window)
    total = np.convolve(values, kernel, mode="same")
    count = np.convolve(np.ones(len(values)), kernel, mode="same")
    return total / count


def _peak_final(epochs: np.ndarray, values: np.ndarray, window: int) -> dict[str, float]:
    """Peak (epoch, value), final value and compression score of one curve sorted by epoch."""
    smoothed = _smooth(values, window)
    i = int(np.argmax(smoothed))
    peak, final = float(smoothed[i]), float(smoothed[-1])
    score = 1.0 - final / peak if peak > 0 else 0.0
    return {"peak_epoch": int(epochs[i]), "peak": peak, "final": final, "score": score,
            "final_epoch": int(epochs[-1])}


class PlaneResult:
    """Information-plane measurements of one or more runs, seeds, activations and estimators.

    Parameters
    ----------
    records : iterable of mapping
        Each with the keys of :data:`COLUMNS` (extra keys are kept as tag columns). A record
        with the same :data:`KEY` as an earlier one replaces it.
    layers : sequence of str, optional
        The layer order (input side first), used by the DPI check and plots. Default: order of
        first appearance in ``records``.

    Notes
    -----
    All records must share one ``units``.
    """

    def __init__(self, records: Iterable[Mapping[str, Any]] = (), *,
                 layers: Sequence[str] | None = None):
        fn = "PlaneResult"
        by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
        for i, record in enumerate(records):
            clean = _check_record(record, i, fn)
            by_key[tuple(clean[k] for k in KEY)] = clean
        self._records = list(by_key.values())
        units = {r["units"] for r in self._records}
        if len(units) > 1:
            raise fail("records", fn, "records in a single unit", got=f"units {sorted(units)}")
        self.units: str = units.pop() if units else "bits"
        seen = dict.fromkeys(r["layer"] for r in self._records)
        if layers is not None:
            order = [str(layer) for layer in layers]
            self._layers = order + [layer for layer in seen if layer not in order]
        else:
            self._layers = list(seen)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return (f"PlaneResult({len(self)} records, layers={self.layers}, "
                f"activations={self.activations}, estimators={self.estimators}, units={self.units!r})")

    @property
    def layers(self) -> list[str]:
        """Layer names, input side first."""
        return list(self._layers)

    @property
    def activations(self) -> list[str]:
        return list(dict.fromkeys(r["activation"] for r in self._records))

    @property
    def estimators(self) -> list[str]:
        return list(dict.fromkeys(r["estimator"] for r in self._records))

    @property
    def seeds(self) -> list[int]:
        return sorted({r["seed"] for r in self._records})

    @property
    def epochs(self) -> list[int]:
        return sorted({r["epoch"] for r in self._records})

    def to_records(self) -> list[dict[str, Any]]:
        """Copies of the records (dicts with the keys of :data:`COLUMNS`, plus any tags)."""
        return [dict(r) for r in self._records]

    def to_frame(self) -> Any:
        """A pandas DataFrame with the columns of :data:`COLUMNS` (then any tag columns)."""
        import pandas as pd

        frame = pd.DataFrame.from_records(self._records, columns=self._columns())
        return frame.astype({"seed": "int64", "epoch": "int64", "value": "float64"})

    def _columns(self) -> list[str]:
        extra = dict.fromkeys(k for r in self._records for k in r if k not in COLUMNS)
        return [*COLUMNS, *extra]

    def select(self, **criteria: Any) -> PlaneResult:
        """The records whose fields equal the given values (a list or set means "any of")."""
        unknown = [k for k in criteria if k not in self._columns()]
        if unknown:
            raise fail(unknown[0], "PlaneResult.select", "a record field (" + ", ".join(COLUMNS) + ")",
                       got=f"an unknown field {unknown[0]!r}")

        def keep(record: Mapping[str, Any]) -> bool:
            for key, wanted in criteria.items():
                options = wanted if isinstance(wanted, list | tuple | set | frozenset) else (wanted,)
                if record.get(key) not in options:
                    return False
            return True

        return PlaneResult([r for r in self._records if keep(r)], layers=self._layers)

    def merge(self, other: PlaneResult) -> PlaneResult:
        """A new result with the records of both (``other`` wins on equal keys)."""
        if not isinstance(other, PlaneResult):
            raise fail("other", "PlaneResult.merge", "a PlaneResult", other)
        if self._records and other._records and other.units != self.units:
            raise fail("other", "PlaneResult.merge", f"a result in {self.units}",
                       got=f"a result in {other.units}")
        return PlaneResult([*self._records, *other._records],
                           layers=self._layers + [lay for lay in other._layers if lay not in self._layers])

    # ------------------------------------------------------------------ analysis
    def mean_over_seeds(self) -> Any:
        """Mean, standard deviation and count over replicates per (estimator, activation,
        epoch, layer, quantity): a DataFrame with columns estimator, activation, epoch, layer,
        quantity, value, std, n_seeds, units."""
        frame = self.to_frame()
        keys = ["estimator", "activation", "epoch", "layer", "quantity"]
        grouped = frame.groupby(keys, sort=False)["value"]
        out = grouped.agg(value="mean", std="std", n_seeds="count").reset_index()
        out["units"] = self.units
        return self._ordered(out, keys)

    def _ordered(self, frame: Any, keys: list[str]) -> Any:
        """Sort by estimator and activation (first appearance), layer order, then the rest."""
        rank = {"estimator": self.estimators, "activation": self.activations, "layer": self._layers}
        sort_keys = [k for k in ["estimator", "activation", "layer", *keys] if k in frame.columns]
        sort_keys = list(dict.fromkeys(sort_keys))
        frame = frame.sort_values(sort_keys, key=lambda col: col.map(
            {v: i for i, v in enumerate(rank[col.name])}) if col.name in rank else col,
            kind="stable")
        return frame.reset_index(drop=True)

    def _curves(self, quantity: str, per_replicate: bool) -> Iterable[tuple[tuple[Any, ...], Any]]:
        """(key, frame sorted by epoch) per curve of ``quantity``."""
        if per_replicate:
            frame = self.to_frame()
            frame = frame[frame["quantity"] == quantity]
            keys = [*_CURVE, "run", "seed"]
        else:
            frame = self.mean_over_seeds()
            frame = frame[frame["quantity"] == quantity]
            keys = list(_CURVE)
        for key, group in frame.groupby(keys, sort=False):
            yield key, group.sort_values("epoch")

    def phases(self, threshold: float = 0.05, *, smooth: int = 3) -> Any:
        """Fitting and compression phases per (estimator, activation, layer) of the seed-mean curve.

        The fitting phase ends at ``fitting_end_epoch``, the epoch of the peak of the smoothed
        I(X;T); the layer ``compresses`` when I(X;T) then falls by more than ``threshold`` of the
        peak, and the compression phase runs from that epoch to ``final_epoch``
        (``compression_start_epoch`` is missing otherwise). ``I_TY_gain`` is the change of the
        smoothed I(T;Y) from the peak epoch to the end: Shwartz-Ziv & Tishby's compression
        phase has I(T;Y) roughly constant or rising while I(X;T) falls.

        Returns
        -------
        DataFrame with columns estimator, activation, layer, fitting_end_epoch, final_epoch,
        peak_I_XT, final_I_XT, drop, relative_drop, compresses, compression_start_epoch,
        I_TY_at_peak, final_I_TY, I_TY_gain, units.
        """
        import pandas as pd

        fn = "PlaneResult.phases"
        threshold = check_float("threshold", threshold, fn, minimum=0.0, maximum=1.0)
        smooth = check_int("smooth", smooth, fn, minimum=1)
        i_ty = {key: group for key, group in self._curves("I_TY", per_replicate=False)}
        rows = []
        for key, group in self._curves("I_XT", per_replicate=False):
            epochs, values = group["epoch"].to_numpy(), group["value"].to_numpy()
            pf = _peak_final(epochs, values, smooth)
            row = dict(zip(_CURVE, key, strict=True))
            row.update(fitting_end_epoch=pf["peak_epoch"], final_epoch=pf["final_epoch"],
                       peak_I_XT=pf["peak"], final_I_XT=pf["final"], drop=pf["peak"] - pf["final"],
                       relative_drop=pf["score"], compresses=bool(pf["score"] > threshold))
            row["compression_start_epoch"] = pf["peak_epoch"] if row["compresses"] else None
            ty = i_ty.get(key)
            if ty is not None:
                ty_smooth = _smooth(ty["value"].to_numpy(), smooth)
                ty_epochs = ty["epoch"].to_numpy()
                at_peak = float(np.interp(pf["peak_epoch"], ty_epochs, ty_smooth))
                row.update(I_TY_at_peak=at_peak, final_I_TY=float(ty_smooth[-1]),
                           I_TY_gain=float(ty_smooth[-1]) - at_peak)
            else:
                row.update(I_TY_at_peak=math.nan, final_I_TY=math.nan, I_TY_gain=math.nan)
            row["units"] = self.units
            rows.append(row)
        columns = [*_CURVE, "fitting_end_epoch", "final_epoch", "peak_I_XT", "final_I_XT", "drop",
                   "relative_drop", "compresses", "compression_start_epoch", "I_TY_at_peak",
                   "final_I_TY", "I_TY_gain", "units"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["compression_start_epoch"] = frame["compression_start_epoch"].astype("Int64")
        return self._ordered(frame, [])

    def compression_scores(self, ci: float = 0.95, *, smooth: int = 3,
                           threshold: float = 0.05) -> Any:
        """Compression score ``1 - final/peak`` of I(X;T) per replicate, averaged over seeds.

        Parameters
        ----------
        ci : float
            Level of the Student t interval of the mean score over seeds
            (``mean +- t_{(1+ci)/2, n-1} * sd / sqrt(n)``; NaN with one seed).
        smooth : int
            Moving-average window (recorded points) applied to each curve before taking the
            peak: the maximum of a noisy raw curve is biased upwards.
        threshold : float
            ``compresses`` is ``score > threshold``; ``ci_above_threshold`` requires the lower
            end of the interval above it.

        Returns
        -------
        DataFrame with columns estimator, activation, layer, n_seeds, peak_I_XT, final_I_XT,
        score, score_low, score_high, compresses, ci_above_threshold, units (peaks and finals
        are means over seeds).
        """
        import pandas as pd

        fn = "PlaneResult.compression_scores"
        level = check_probability_level("ci", ci, fn)
        smooth = check_int("smooth", smooth, fn, minimum=1)
        threshold = check_float("threshold", threshold, fn, minimum=0.0, maximum=1.0)
        per_seed: dict[tuple[Any, ...], list[dict[str, float]]] = {}
        for key, group in self._curves("I_XT", per_replicate=True):
            pf = _peak_final(group["epoch"].to_numpy(), group["value"].to_numpy(), smooth)
            per_seed.setdefault(tuple(key[:3]), []).append(pf)
        rows = []
        for key, curves in per_seed.items():
            scores = np.array([c["score"] for c in curves])
            n = len(scores)
            mean = float(scores.mean())
            if n > 1:
                half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(scores.std(ddof=1)) / math.sqrt(n)
            else:
                half = math.nan
            rows.append({**dict(zip(_CURVE, key, strict=True)), "n_seeds": n,
                         "peak_I_XT": float(np.mean([c["peak"] for c in curves])),
                         "final_I_XT": float(np.mean([c["final"] for c in curves])),
                         "score": mean, "score_low": mean - half, "score_high": mean + half,
                         "compresses": bool(mean > threshold),
                         "ci_above_threshold": bool(mean - half > threshold) if n > 1 else False,
                         "units": self.units})
        columns = [*_CURVE, "n_seeds", "peak_I_XT", "final_I_XT", "score", "score_low", "score_high",
                   "compresses", "ci_above_threshold", "units"]
        return self._ordered(pd.DataFrame(rows, columns=columns), [])

    def dpi_violations(self, tol: float = 1e-6) -> Any:
        """Where a deeper layer carries more information than the layer before it.

        Along the chain ``Y -> X -> T_1 -> T_2 -> ...`` (``layers`` order), the data-processing
        inequality requires ``I(X;T_{i+1}) <= I(X;T_i)`` and ``I(T_{i+1};Y) <= I(T_i;Y)``. The
        true quantities obey it; estimates need not (binning each layer on its own grid, finite
        samples), so a violation larger than ``tol`` measures estimator error. Consecutive
        *recorded* layers are compared; the check assumes they form a feed-forward chain.

        Returns
        -------
        DataFrame with columns run, seed, activation, estimator, epoch, quantity, layer,
        next_layer, value, next_value, excess (``next_value - value`` > tol), units.
        """
        import pandas as pd

        tol = check_float("tol", tol, "PlaneResult.dpi_violations", minimum=0.0)
        frame = self.to_frame()
        columns = ["run", "seed", "activation", "estimator", "epoch", "quantity", "layer",
                   "next_layer", "value", "next_value", "excess", "units"]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame["_rank"] = frame["layer"].map({layer: i for i, layer in enumerate(self._layers)})
        keys = ["run", "seed", "activation", "estimator", "epoch", "quantity"]
        frame = frame.sort_values([*keys, "_rank"], kind="stable")
        grouped = frame.groupby(keys, sort=False)
        frame["next_layer"] = grouped["layer"].shift(-1)
        frame["next_value"] = grouped["value"].shift(-1)
        frame["excess"] = frame["next_value"] - frame["value"]
        out = frame[frame["next_layer"].notna() & (frame["excess"] > tol)]
        return out[columns].reset_index(drop=True)

    def summary(self, estimator: str | None = None, *, smooth: int = 3) -> dict[str, dict[str, dict]]:
        """``{activation: {layer: {"peak_I_XT", "final_I_XT", "final_I_TY"}}}``, means over seeds.

        Peaks and finals are taken on each seed's smoothed curve (see the module docstring),
        then averaged. With several estimators in the result, name one.
        """
        fn = "PlaneResult.summary"
        estimators = self.estimators
        if estimator is None:
            if len(estimators) > 1:
                raise fail("estimator", fn, "one of " + ", ".join(repr(e) for e in estimators)
                           + " (the result holds several)", None)
            estimator = estimators[0] if estimators else None
        elif estimator not in estimators:
            raise fail("estimator", fn, "one of " + ", ".join(repr(e) for e in estimators), estimator)
        result = self.select(estimator=estimator) if estimator is not None else self
        scores = result.compression_scores(smooth=smooth)
        finals: dict[tuple[str, str], list[float]] = {}
        for key, group in result._curves("I_TY", per_replicate=True):
            finals.setdefault((key[1], key[2]), []).append(
                float(_smooth(group["value"].to_numpy(), smooth)[-1]))
        out: dict[str, dict[str, dict]] = {}
        for row in scores.itertuples(index=False):
            ty = finals.get((row.activation, row.layer))
            out.setdefault(row.activation, {})[row.layer] = {
                "peak_I_XT": float(row.peak_I_XT), "final_I_XT": float(row.final_I_XT),
                "final_I_TY": float(np.mean(ty)) if ty else math.nan}
        return out

    def _repr_html_(self) -> str:
        """A notebook display: what the result holds, the per-layer :meth:`phases` summary, and the
        information plane of its first estimator and activation."""
        from infolens import _html

        epochs = self.epochs
        held = _html.facts([
            ("layers", ", ".join(self.layers)), ("activations", ", ".join(self.activations)),
            ("estimators", ", ".join(self.estimators)), ("seeds", len(self.seeds)),
            ("epochs", f"{epochs[0]} to {epochs[-1]}, {len(epochs)} recorded" if epochs else None)])
        title = f"PlaneResult: {len(self)} records in {self.units}"
        if not self._records:
            return _html.box(title, held)
        summary = self.phases()[[*_CURVE, "peak_I_XT", "final_I_XT", "final_I_TY", "relative_drop",
                                 "compresses"]]
        parts = [held, _html.table(summary, f"per layer, mean over seeds, in {self.units}; relative_drop"
                                            " = 1 - final/peak of the smoothed I(X;T)")]
        first = self.select(estimator=self.estimators[0], activation=self.activations[0])
        measured = {(r["layer"], r["quantity"]) for r in first._records}
        if all((layer, q) in measured for layer, _ in measured for q in QUANTITIES):
            parts.append(_html.figure(lambda ax: first.plot(ax=ax), f"information plane, "
                                      f"{self.estimators[0]}, {self.activations[0]}"))
        return _html.box(title, *parts)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the information plane with :func:`infolens.viz.plot_information_plane`."""
        from infolens import viz

        return viz.plot_information_plane(self, ax=ax, **kwargs)


__all__ = ["COLUMNS", "KEY", "QUANTITIES", "PlaneResult"]
