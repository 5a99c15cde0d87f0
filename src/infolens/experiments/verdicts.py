"""Compress or not, with an interval over seeds: the rows ``infolens compare`` reads.

One row per (variant, estimator, split, hidden layer) in ``summary["compression"]`` and one per
(variant, estimator, split) in ``summary["verdicts"]``, for the main job and every experiment
preset alike.

Definitions
-----------
ratio
    final / peak I(X;T) of one seed's curve, both taken on the curve smoothed by a centred
    3-point moving average (:meth:`infolens.PlaneResult.compression_scores`): 1 when I(X;T)
    never falls after its peak, 0.5 when it ends at half its peak.
interval
    The Student t 95% interval of the mean ratio over seeds; with one seed, the single value.
rule
    ``compresses`` is true when the whole interval lies below :data:`COMPRESSES_BELOW` (at
    least a 10% fall, beyond the seed-to-seed spread), false when it lies above
    :data:`KEEPS_ABOVE` (at most a 3% fall), and null (undecided) otherwise. A verdict is true
    when any hidden layer compresses, false when every hidden layer keeps its information, null
    otherwise; its ratio and interval are those of the most compressing layer (lowest mean ratio).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["COMPRESSES_BELOW", "INTERVAL", "KEEPS_ABOVE", "RULE", "compression_rows", "verdict_rows"]

COMPRESSES_BELOW = 0.9
KEEPS_ABOVE = 0.97
INTERVAL = ("Student t 95% interval over seeds of the mean of final / peak I(X;T) (each seed's curve "
            "smoothed by a centred 3-point moving average); with one seed, the single value")
RULE = (f"compresses = true when the interval lies below {COMPRESSES_BELOW}, false when it lies above "
        f"{KEEPS_ABOVE}, null otherwise; a verdict (per variant, estimator, split) is true when any hidden "
        "layer compresses, false when none does and every one stays above the upper threshold, null "
        "otherwise, and shows the most compressing layer")

PaperSays = Callable[[str, str], "bool | None"]


def _decide(low: float, high: float) -> bool | None:
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    if high < COMPRESSES_BELOW:
        return True
    if low > KEEPS_ABOVE:
        return False
    return None


def _number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def compression_rows(result: Any, *, split: str, layers: Sequence[str],
                     paper_says: PaperSays | None = None, ci: float = 0.95) -> list[dict[str, Any]]:
    """One row per (variant, estimator, layer in ``layers``) of ``result`` (a PlaneResult).

    The ``activation`` column of the records is the variant. Rows carry the keys of the summary
    schema (variant, estimator, split, layer, ratio_mean, ratio_low, ratio_high, n_seeds,
    compresses, paper_says) and, for the report, peak_I_XT, final_I_XT, final_I_TY and units.
    """
    rows: list[dict[str, Any]] = []
    if len(result) == 0:
        return rows
    scores = result.compression_scores(ci=ci, smooth=3)
    finals = {est: result.summary(estimator=est) for est in result.estimators}
    wanted = list(layers)
    for row in scores.to_dict(orient="records"):
        if row["layer"] not in wanted:
            continue
        mean = 1.0 - row["score"]
        if row["n_seeds"] > 1:
            low, high = 1.0 - row["score_high"], 1.0 - row["score_low"]
        else:
            low = high = mean
        layer_final = finals[row["estimator"]].get(row["activation"], {}).get(row["layer"], {})
        rows.append({"variant": row["activation"], "estimator": row["estimator"], "split": split,
                     "layer": row["layer"], "ratio_mean": _number(mean), "ratio_low": _number(low),
                     "ratio_high": _number(high), "n_seeds": int(row["n_seeds"]),
                     "compresses": _decide(low, high),
                     "paper_says": (None if paper_says is None
                                    else paper_says(row["activation"], row["estimator"])),
                     "peak_I_XT": _number(row["peak_I_XT"]), "final_I_XT": _number(row["final_I_XT"]),
                     "final_I_TY": _number(layer_final.get("final_I_TY", math.nan)), "units": row["units"]})
    rows.sort(key=lambda r: (r["variant"], r["estimator"], r["split"], wanted.index(r["layer"])))
    return rows


def verdict_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (variant, estimator, split) of :func:`compression_rows`, aggregating its layers."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["variant"], row["estimator"], row["split"]), []).append(row)
    out = []
    for group in groups.values():
        ranked = sorted(group, key=lambda r: math.inf if r["ratio_mean"] is None else r["ratio_mean"])
        best = dict(ranked[0])
        decisions = [r["compresses"] for r in group]
        best["compresses"] = True if True in decisions else (False if all(d is False for d in decisions)
                                                             else None)
        best["n_layers"] = len(group)
        out.append(best)
    return out
