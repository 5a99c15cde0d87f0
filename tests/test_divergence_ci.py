"""Intervals (``ci=``) of the two-sample estimators, against Gaussian and discrete closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infolens as il
from infolens import InfoLensError

MU, SIGMA = 1.0, 1.5  # P = N(0, 1), Q = N(MU, SIGMA^2)
KL_GAUSS = math.log(SIGMA) + (1 + MU**2) / (2 * SIGMA**2) - 0.5                # 0.3499 nats
CROSS_GAUSS = 0.5 * math.log(2 * math.pi * SIGMA**2) + (1 + MU**2) / (2 * SIGMA**2)  # 1.7688 nats
SEEDS = range(20)


def _gaussians(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(1000, 1)), rng.normal(MU, SIGMA, size=(1500, 1))


@pytest.mark.parametrize(("estimate", "truth"), [(il.estimate_kl_divergence, KL_GAUSS),
                                                 (il.estimate_cross_entropy, CROSS_GAUSS)])
def test_knn_half_sample_intervals_cover_the_gaussian_closed_form(estimate, truth) -> None:
    # 90% intervals from 50 half-samples of x and of y, over 20 seeds: at least 14 must cover
    # (P(<= 13 of 20) = 0.002 for a 90% interval); 18 of 20 did when this was written.
    covered = 0
    for seed in SEEDS:
        x, y = _gaussians(seed)
        est = estimate(x, y, units="nats", ci=0.9, n_resamples=50, random_state=0)
        assert est.method == "knn" and est.ci_level == 0.9 and est.ci[0] < est.value < est.ci[1]
        covered += est.ci[0] <= truth <= est.ci[1]
    assert covered >= 14
    again = estimate(*_gaussians(0), units="nats", ci=0.9, n_resamples=50, random_state=0)
    assert again.ci == estimate(*_gaussians(0), units="nats", ci=0.9, n_resamples=50, random_state=0).ci
    assert estimate(*_gaussians(0), units="nats").ci is None  # no interval unless asked


def test_plugin_bootstrap_intervals_cover_the_discrete_closed_form() -> None:
    # KL([.5, .5] || [.25, .75]) = 0.1438 nats; 90% bootstrap intervals over 20 seeds
    truth = il.kl_divergence([0.5, 0.5], [0.25, 0.75], units="nats")
    covered = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        x, y = rng.choice(2, 1000, p=[0.5, 0.5]), rng.choice(2, 1200, p=[0.25, 0.75])
        est = il.estimate_kl_divergence(x, y, units="nats", ci=0.9, n_resamples=100, random_state=seed)
        assert est.method == "plugin" and est.ci[0] < est.value < est.ci[1]
        covered += est.ci[0] <= truth <= est.ci[1]
    assert covered >= 14


def test_plugin_intervals_say_infinite_when_resamples_lose_a_symbol() -> None:
    x = ["a"] * 50 + ["b"] * 50 + ["c"] * 5
    rare = ["a"] * 60 + ["b"] * 60 + ["c"]  # c seen once in y: most resamples lose it
    est = il.estimate_kl_divergence(x, rare, ci=0.9, n_resamples=50, random_state=0)
    assert math.isfinite(est.value) and math.isfinite(est.ci[0]) and est.ci[1] == math.inf
    with pytest.warns(il.InfoLensWarning, match="never occur in 'y'"):
        unseen = il.estimate_kl_divergence(x, ["a", "b"] * 30, ci=0.9, random_state=0)
    assert unseen.value == math.inf and unseen.ci is None and "unseen_in_y" in unseen.flags


def test_bad_interval_arguments_name_the_parameter() -> None:
    x, y = _gaussians(0)
    with pytest.raises(InfoLensError, match=r"The 'ci' parameter of estimate_kl_divergence must be"):
        il.estimate_kl_divergence(x, y, ci=1.5)
    with pytest.raises(InfoLensError, match=r"The 'n_resamples' parameter of estimate_cross_entropy"):
        il.estimate_cross_entropy(x, y, ci=0.9, n_resamples=3)
    with pytest.raises(InfoLensError, match=r"The 'random_state' parameter of estimate_kl_divergence"):
        il.estimate_kl_divergence(x, y, ci=0.9, random_state=-1)
    with pytest.raises(InfoLensError, match=r"The 'ci' parameter of estimate_kl_divergence must be None, "
                                            r"or samples enough for half-sample intervals"):
        il.estimate_kl_divergence(x[:7], y, ci=0.9)
