"""The compress-or-not rows of every run's summary (infolens.experiments.verdicts), on hand-made
planes whose ratios and intervals are known in closed form."""

from __future__ import annotations

import math

import pytest
from scipy import stats

import infolens as il
from infolens.experiments.verdicts import compression_rows, verdict_rows


def _plane(curves: dict[tuple[str, int, str], list[float]]) -> il.PlaneResult:
    records = []
    for (variant, seed, layer), values in curves.items():
        for epoch, value in enumerate(values):
            for quantity in ("I_XT", "I_TY"):
                records.append({"run": "r", "seed": seed, "activation": variant, "epoch": epoch,
                                "layer": layer, "quantity": quantity, "estimator": "binning(bins=30)",
                                "value": value, "units": "bits"})
    return il.PlaneResult(records, layers=["layers.0", "layers.1"])


# plateaus of three points keep the 3-point moving average equal to the raw values at peak and end
FALLS_TO = {0: [0, 10, 10, 10, 5, 5, 5], 1: [0, 10, 10, 10, 6, 6, 6], 2: [0, 10, 10, 10, 7, 7, 7]}


def test_ratio_mean_and_t_interval_over_seeds_and_the_stated_rule():
    curves = {("tanh", s, "layers.0"): values for s, values in FALLS_TO.items()}
    curves |= {("tanh", s, "layers.1"): [0, 10, 10, 10, 10, 10, 10] for s in FALLS_TO}
    rows = compression_rows(_plane(curves), split="test", layers=["layers.0", "layers.1"],
                            paper_says=lambda variant, estimator: True)
    first, second = rows
    half = stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)  # ratios 0.5, 0.6, 0.7: sd 0.1
    assert first["ratio_mean"] == pytest.approx(0.6)
    assert (first["ratio_low"], first["ratio_high"]) == pytest.approx((0.6 - half, 0.6 + half))
    assert first["compresses"] is True            # 0.6 + 0.248 < 0.9
    assert second["ratio_mean"] == pytest.approx(1.0) and second["compresses"] is False
    assert first["split"] == "test" and first["n_seeds"] == 3 and first["paper_says"] is True
    verdict, = verdict_rows(rows)
    assert verdict["layer"] == "layers.0" and verdict["compresses"] is True and verdict["n_layers"] == 2


def test_an_interval_straddling_the_thresholds_is_undecided_and_one_seed_is_its_own_interval():
    curves = {("relu", 0, "layers.0"): FALLS_TO[0], ("relu", 1, "layers.0"): [0, 10, 10, 10, 10, 10, 10]}
    row, = compression_rows(_plane(curves), split="train", layers=["layers.0"])
    assert row["ratio_mean"] == pytest.approx(0.75)
    assert row["compresses"] is None and row["paper_says"] is None
    assert verdict_rows([row])[0]["compresses"] is None
    one_seed = _plane({("relu", 0, "layers.0"): FALLS_TO[2]})
    single, = compression_rows(one_seed, split="train", layers=["layers.0"])
    assert single["ratio_low"] == single["ratio_mean"] == single["ratio_high"] == pytest.approx(0.7)
    assert single["compresses"] is True
