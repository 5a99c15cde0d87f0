"""The raw estimate the information plane uses, and the resampling module behind intervals: the same
numbers as the public estimators, and intervals of the stated kind."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infolens as il
from infolens.estimators import _resampling
from infolens.estimators.api import estimate_raw


@pytest.mark.parametrize(("method", "params"), [("ksg", {"k": 4}), ("gaussian", {}), ("binning", {"bins": 8}),
                                                ("adaptive_binning", {"bins": 5})])
def test_estimate_raw_is_estimate_mi_in_nats(method, params) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 1))
    y = x + rng.normal(size=(300, 1))
    public = il.estimate_mi(x, y, method=method, units="nats", **params).value
    assert estimate_raw(method, x, y, **params) == public


def test_estimate_raw_counts_its_arrays_for_the_quantity() -> None:
    rng = np.random.default_rng(1)
    x, y, z = (rng.integers(0, 3, size=(500, 1)) for _ in range(3))
    assert estimate_raw("plugin", x) == il.estimate_entropy(x, method="plugin", units="nats").value
    assert estimate_raw("plugin", x, y, z) == il.estimate_cmi(x, y, z, method="plugin", units="nats").value
    with pytest.raises(il.InfoLensError, match="'bins' parameter of estimate_raw"):
        estimate_raw("plugin", x, bins=3)


def test_bootstrap_interval_of_a_mean_matches_its_standard_error() -> None:
    values = np.random.default_rng(2).normal(size=2000)

    def evaluate(rows, y_order=None):
        return float(values if rows is None else values[rows].mean()), {}

    rng = np.random.default_rng(3)
    low, high = _resampling.interval(evaluate, float(values.mean()), len(values), 0.95, 400, rng, "bootstrap")
    half = 1.96 * values.std() / math.sqrt(len(values))  # 0.044; bootstrap noise ~ 5% of it
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)


def test_half_sample_interval_of_a_mean_matches_its_standard_error() -> None:
    """Half-samples without replacement: the deviations' spread is the full sample's (no sqrt(2) loss)."""
    values = np.random.default_rng(4).normal(size=2000)

    def evaluate(rows, y_order=None):
        return float(values[rows].mean()), {}

    rng = np.random.default_rng(5)
    low, high = _resampling.interval(evaluate, float(values.mean()), len(values), 0.95, 400, rng, "subsample")
    half = 1.96 * values.std() / math.sqrt(len(values))  # 0.044; 400 draws: ~5% noise on the quantiles
    assert (high - low) / 2 == pytest.approx(half, rel=0.15)


def test_subsampled_estimate_uses_disjoint_parts_and_says_so() -> None:
    values = np.arange(100.0)

    def evaluate(rows, y_order=None):
        return float(values[rows].mean()), {"size": float(len(rows))}

    got = _resampling.resample(evaluate, 100, max_samples=20, level=None, n_resamples=10,
                               kind="bootstrap", rng=np.random.default_rng(0))
    assert got.subsampled and got.n_used == 20 and got.level == 0.95
    assert got.counts == {"n_subsamples": 5.0} and got.details == {"size": 20.0}
    assert got.value == pytest.approx(49.5, abs=1e-12)  # five disjoint parts cover every row once
    assert got.rows is not None and len(np.unique(got.rows)) == 20
