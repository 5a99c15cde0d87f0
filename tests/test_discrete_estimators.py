"""Plug-in, Miller-Madow and Chao-Shen estimators on discrete channels with exact MI.

Tolerances (the ``mi_tolerance`` fixture). For n samples of a table with full support, the
plug-in MI has bias ``(Kx - 1)(Ky - 1) / (2n)`` nats and standard deviation
``sqrt(Var[i(X;Y)] / n)`` with ``i = ln p(x,y) / (p(x) p(y))`` the pointwise MI (delta method;
Paninski 2003). Every estimate must land within ``5 sd + |plug-in bias|`` of the exact MI: a
seeded test that fails by chance at most once in ~10^6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import infolens as il
from infolens.estimators import discrete

DISCRETE = ("plugin", "miller_madow", "chao_shen")


def symmetric_channel(k: int, keep: float) -> np.ndarray:
    """Joint table of X uniform on k symbols and Y = X with prob ``keep``, else another symbol."""
    channel = np.full((k, k), (1.0 - keep) / (k - 1))
    np.fill_diagonal(channel, keep)
    return channel / k


TABLES = {
    "symmetric 4x4": symmetric_channel(4, 0.7),
    "binary erasure": np.array([[0.45, 0.05, 0.0], [0.0, 0.05, 0.45]]),  # p(erase) = 0.1
    "skewed 3x5": np.array([[0.20, 0.05, 0.05, 0.00, 0.00],
                            [0.02, 0.30, 0.03, 0.05, 0.00],
                            [0.00, 0.00, 0.05, 0.15, 0.10]]),
}


@pytest.mark.parametrize("method", DISCRETE)
@pytest.mark.parametrize("name", list(TABLES))
def test_mi_on_discrete_channels_at_n_10000(method: str, name: str, joint_sampler, mi_tolerance) -> None:
    pxy = TABLES[name]
    truth = il.mutual_information(pxy, units="nats")
    n = 10_000
    x, y = joint_sampler(pxy, n, 1)
    est = il.estimate_mi(x, y, method=method, units="nats")
    assert est.method == method and est.n_samples == n
    assert abs(est.value - truth) <= mi_tolerance(pxy, n), (est.value, truth)


def test_binary_erasure_channel_has_the_textbook_capacity() -> None:
    # a binary erasure channel with erasure 0.1 and uniform input carries 1 - 0.1 = 0.9 bits
    assert il.mutual_information(TABLES["binary erasure"]) == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize("method", DISCRETE)
def test_entropy_of_a_known_distribution(method: str) -> None:
    p = np.array([0.5, 0.25, 0.125, 0.125])  # 1.75 bits
    x = np.random.default_rng(2).choice(4, size=10_000, p=p)
    # sd of the plug-in entropy: sqrt(Var[log2 p(X)] / n) = sqrt(0.6875 / 1e4) = 0.0083 bits
    est = il.estimate_entropy(x, method=method)
    assert est.value == pytest.approx(1.75, abs=5 * 0.0083 + 3 / (2 * 10_000 * math.log(2)))


def test_hand_computed_values() -> None:
    codes = np.array([0, 0, 0, 1, 1, 2])  # frequencies 1/2, 1/3, 1/6
    plugin = -(0.5 * math.log(0.5) + math.log(1 / 3) / 3 + math.log(1 / 6) / 6)
    assert discrete.entropy_plugin(codes) == pytest.approx(plugin, abs=1e-15)
    assert discrete.entropy_miller_madow(codes) == pytest.approx(plugin + 2 / 12, abs=1e-15)
    # Chao-Shen for counts (3, 1, 1): n = 5, f1 = 2, coverage C = 1 - 2/5 = 0.6,
    # p~ = C * (3, 1, 1)/5 = (0.36, 0.12, 0.12), H = -sum p~ ln p~ / (1 - (1 - p~)^5)
    expected = -(0.36 * math.log(0.36) / (1 - 0.64**5) + 2 * 0.12 * math.log(0.12) / (1 - 0.88**5))
    assert discrete.entropy_chao_shen(np.array([0, 0, 0, 1, 2])) == pytest.approx(expected, abs=1e-15)
    # codes need not be contiguous and order does not matter
    assert discrete.entropy_plugin(np.array([7, 2, 7, 7, 2, 9])) == pytest.approx(plugin)


def test_single_symbol_has_zero_entropy() -> None:
    for fn in (discrete.entropy_plugin, discrete.entropy_miller_madow, discrete.entropy_chao_shen):
        assert fn(np.zeros(50, dtype=np.int64)) == 0.0
        assert fn(np.zeros(1, dtype=np.int64)) == 0.0


def test_chao_shen_agrees_with_plugin_when_well_sampled() -> None:
    # no singletons and n p_i >> 1: coverage 1 and inclusion probabilities 1 to ~1e-200
    codes = np.repeat(np.arange(4), [4000, 3000, 2000, 1000])
    assert discrete.entropy_chao_shen(codes) == pytest.approx(discrete.entropy_plugin(codes), abs=1e-12)


@pytest.mark.parametrize("n", [500, 100_000])
def test_chao_shen_finite_with_all_singletons(n: int) -> None:
    """All-singleton samples: f1 = n is replaced by n - 1; the estimate stays finite (no overflow)."""
    est = il.estimate_entropy(np.arange(n), method="chao_shen", units="nats")
    assert est.is_finite
    # every symbol seen once says the support is much larger than n: above the plug-in ln n
    assert est.value > math.log(n)
    assert est.value < 3 * math.log(n)


def test_bias_corrections_beat_plugin_when_undersampled() -> None:
    """1000 equiprobable symbols seen through 300 samples: plug-in is ~1.3 nats low."""
    k, n, seeds = 1000, 300, range(10)
    truth = math.log(k)
    errors = {m: [] for m in DISCRETE}
    for seed in seeds:
        codes = np.random.default_rng(seed).integers(0, k, n)
        for method in DISCRETE:
            errors[method].append(il.estimate_entropy(codes, method=method, units="nats").value - truth)
    bias = {m: float(np.mean(e)) for m, e in errors.items()}
    assert bias["plugin"] < -1.0  # clearly biased downwards
    assert abs(bias["miller_madow"]) < abs(bias["plugin"]) - 0.3
    assert abs(bias["chao_shen"]) < abs(bias["plugin"]) - 0.3
    assert abs(bias["chao_shen"]) < abs(bias["miller_madow"])  # coverage helps most here


def test_bias_corrections_reduce_mi_bias_under_independence() -> None:
    """Independent X, Y on 20 x 20 symbols with n = 400: plug-in MI is biased up by ~0.45 nats."""
    errors = {m: [] for m in DISCRETE}
    for seed in range(10):
        rng = np.random.default_rng(seed)
        x, y = rng.integers(0, 20, 400), rng.integers(0, 20, 400)
        for method in DISCRETE:
            errors[method].append(il.estimate_mi(x, y, method=method, units="nats").value)
    bias = {m: float(np.mean(e)) for m, e in errors.items()}  # truth is 0
    assert bias["plugin"] > 0.3
    # with 400 samples over 400 cells many cells go unseen, so Miller-Madow's K_obs undercounts
    # and removes only about half of the bias (measured: 0.53 -> 0.26, Chao-Shen -0.12)
    assert abs(bias["miller_madow"]) < 0.75 * bias["plugin"]
    assert abs(bias["chao_shen"]) < 0.75 * bias["plugin"]


def test_multivariate_discrete_rows_are_symbols() -> None:
    """Two fair bits (b1, b2) as one variable: 2 bits; MI with b1 alone is 1 bit."""
    bits = np.random.default_rng(3).integers(0, 2, (4000, 2))
    assert il.estimate_entropy(bits, method="plugin").value == pytest.approx(2.0, abs=0.01)
    assert il.estimate_mi(bits, bits[:, 0], method="plugin").value == pytest.approx(1.0, abs=0.01)
    # I(b1; b2 | (b1 xor b2)) = 1 bit: given the parity, b2 determines b1
    parity = bits[:, 0] ^ bits[:, 1]
    assert il.estimate_cmi(bits[:, 0], bits[:, 1], parity, method="plugin").value == pytest.approx(
        1.0, abs=0.01)
    assert il.estimate_mi(bits[:, 0], bits[:, 1], method="plugin").value == pytest.approx(0, abs=0.01)
