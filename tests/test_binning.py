"""Quantizers (fixed bins, bin width, range, equal mass) and binned MI of a known discretized case."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infolens as il
from infolens import InfoLensError
from infolens.estimators.binning import quantize_equal_mass, quantize_fixed


def col(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)[:, None]


# ----------------------------------------------------------------------------- quantize_fixed

def test_fixed_bins_over_the_data_range() -> None:
    x = col([0.0, 0.25, 0.5, 0.75, 1.0])
    # bins are [0, .25), [.25, .5), [.5, .75), [.75, 1]: the maximum goes in the last bin
    np.testing.assert_array_equal(quantize_fixed(x, bins=4)[:, 0], [0, 1, 2, 3, 3])
    np.testing.assert_array_equal(quantize_fixed(x, bins=2)[:, 0], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(quantize_fixed(x, bins=1)[:, 0], [0, 0, 0, 0, 0])
    assert quantize_fixed(x, bins=4).dtype == np.int64


def test_fixed_bins_share_one_range_across_columns() -> None:
    # the range is that of the whole layer (0..10), as in Shwartz-Ziv & Tishby, not per column
    x = np.array([[0.0, 10.0], [10.0, 0.0], [5.0, 4.0]])
    np.testing.assert_array_equal(quantize_fixed(x, bins=2), [[0, 1], [1, 0], [1, 0]])


def test_fixed_bins_with_explicit_range_clip_outside_values() -> None:
    x = col([-1.0, 0.0, 0.49, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(quantize_fixed(x, bins=2, value_range=(0.0, 1.0))[:, 0],
                                  [0, 0, 0, 1, 1, 1])


def test_bin_width() -> None:
    x = col([0.0, 0.49, 0.5, 0.99, 1.0, 1.2])
    # width 0.5 from the minimum 0: edges 0, .5, 1.0, 1.5 -> ceil(1.2 / .5) = 3 bins
    np.testing.assert_array_equal(quantize_fixed(x, bin_width=0.5)[:, 0], [0, 0, 1, 1, 2, 2])
    # with a range (0, 1): 2 bins, values at or above 1 clipped into the last one
    np.testing.assert_array_equal(quantize_fixed(x, bin_width=0.5, value_range=(0.0, 1.0))[:, 0],
                                  [0, 0, 1, 1, 1, 1])
    # bins is ignored when a width is given
    np.testing.assert_array_equal(quantize_fixed(x, bins=100, bin_width=0.5),
                                  quantize_fixed(x, bins=3, bin_width=0.5))


def test_constant_data_fall_in_one_bin() -> None:
    x = np.full((5, 2), 3.0)
    assert (quantize_fixed(x, bins=30) == 0).all()
    assert (quantize_fixed(x, bin_width=0.1) == 0).all()
    assert (quantize_equal_mass(x, bins=30) == 0).all()


# ----------------------------------------------------------------------------- equal mass

@pytest.mark.parametrize(("n", "bins"), [(100, 4), (120, 30), (30, 30), (1000, 7)])
def test_equal_mass_bins_have_equal_counts(n: int, bins: int) -> None:
    x = np.random.default_rng(0).permutation(np.linspace(-3, 5, n))[:, None] ** 3
    codes = quantize_equal_mass(x, bins)[:, 0]
    counts = np.bincount(codes)
    assert len(counts) == bins
    # n distinct values in b bins: every bin holds floor(n/b) or ceil(n/b) samples
    assert counts.min() >= n // bins and counts.max() <= -(-n // bins)
    # bins are ordered: a larger value never gets a smaller bin index
    order = np.argsort(x[:, 0])
    assert (np.diff(codes[order]) >= 0).all()


def test_equal_mass_ties_share_a_bin_and_columns_are_separate() -> None:
    x = np.column_stack([np.r_[np.zeros(50), np.arange(1.0, 51.0)], np.arange(100.0)])
    codes = quantize_equal_mass(x, 4)
    assert len(np.unique(codes[:50, 0])) == 1  # the 50 tied zeros stay together
    assert len(np.unique(codes[:, 0])) < 4  # so the first column gets fewer bins
    # indices are contiguous from 0 even when an edge coincides with the tied minimum
    np.testing.assert_array_equal(np.unique(codes[:, 0]), np.arange(len(np.unique(codes[:, 0]))))
    np.testing.assert_array_equal(np.bincount(codes[:, 1]), [25, 25, 25, 25])


def test_equal_mass_is_invariant_under_monotone_transforms() -> None:
    x = np.random.default_rng(1).standard_normal((500, 3))
    np.testing.assert_array_equal(quantize_equal_mass(x, 10), quantize_equal_mass(np.exp(x), 10))


# ----------------------------------------------------------------------------- binned MI

def discretized_channel(n_per_symbol: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous X = A + 0.5 U with A uniform on {0..3} (exactly balanced) and U ~ U[0, 1);
    the label Y = A with probability 0.7, else one of the 3 other symbols.

    Any quantizer whose edges fall in the gaps [a + 0.5, a + 1) recovers A exactly, so the binned
    MI is the MI of the 4 x 4 channel table.
    """
    rng = np.random.default_rng(seed)
    a = np.repeat(np.arange(4), n_per_symbol)
    x = a + 0.5 * rng.random(a.size)
    flip = rng.random(a.size) >= 0.7
    y = np.where(flip, (a + rng.integers(1, 4, a.size)) % 4, a)
    channel = np.full((4, 4), 0.1)
    np.fill_diagonal(channel, 0.7)
    return x, y, channel / 4


@pytest.mark.parametrize("params", [
    {"method": "binning", "bins": 4, "range": (0.0, 4.0)},
    {"method": "binning", "bin_width": 1.0, "range": (0.0, 4.0)},
    {"method": "binning", "bins": 8, "range": (0.0, 4.0)},  # splits each cluster: same MI
    {"method": "adaptive_binning", "bins": 4},
])
def test_binned_mi_of_a_discretized_channel(params: dict, mi_tolerance) -> None:
    x, y, pxy = discretized_channel(2500, seed=0)
    truth = il.mutual_information(pxy, units="nats")
    est = il.estimate_mi(x, y, units="nats", **params)
    codes = quantize_fixed(x[:, None], 4, None, (0.0, 4.0))[:, 0]
    assert est.value == pytest.approx(il.estimate_mi(codes, y, "plugin", units="nats").value,
                                      abs=1e-12 if params.get("bins") != 8 else 1e-2)
    # Y is sampled: the estimate is within the plug-in tolerance (5 sd + bias) of the truth
    assert abs(est.value - truth) <= mi_tolerance(pxy, len(x))
    assert est.params["bins"] == params.get("bins", 30)


def test_binned_entropy_of_uniform_data() -> None:
    # U[0, 1) in 8 equal bins: H = 3 bits; sd of plug-in H of a uniform is 0, bias 7/(2n ln 2)
    x = np.random.default_rng(4).random(20_000)
    est = il.estimate_entropy(x, method="binning", bins=8, range=(0.0, 1.0))
    assert est.value == pytest.approx(3.0, abs=5e-3)
    assert est.value <= 3.0  # the plug-in entropy never exceeds log2(#bins)


def test_binning_miller_madow_correction_is_the_textbook_term() -> None:
    x, y, _ = discretized_channel(50, seed=1)
    plugin = il.estimate_mi(x, y, method="binning", bins=4, units="nats")
    mm = il.estimate_mi(x, y, method="binning", bins=4, units="nats", correction="miller_madow")
    codes = quantize_fixed(x[:, None], 4)[:, 0]
    kx, ky, kxy = len(np.unique(codes)), len(np.unique(y)), len(np.unique(codes * 4 + y))
    assert mm.value - plugin.value == pytest.approx((kx - 1 + ky - 1 - (kxy - 1)) / (2 * len(x)))


def test_binned_mi_of_a_deterministic_layer_is_the_binned_entropy() -> None:
    """A deterministic T = f(X) with X the sample identity: I(X;T) = H(binned T) <= ln N."""
    t = np.tanh(np.random.default_rng(5).standard_normal((1000, 3)))
    ids = np.arange(1000)
    mi = il.estimate_mi(ids, t, method="binning", bins=5, units="nats")
    h = il.estimate_entropy(t, method="binning", bins=5, units="nats")
    assert mi.value == pytest.approx(h.value, abs=1e-12)
    assert h.value <= math.log(1000)


@pytest.mark.parametrize(("params", "match"), [
    ({"bins": 0}, r"'bins' parameter of estimate_mi must be an int >= 1. Got 0 instead"),
    ({"bins": 2.5}, r"'bins' .*int.*Got 2.5"),
    ({"bin_width": -1.0}, r"'bin_width' parameter of estimate_mi must be a finite float > 0.0. "
                          r"Got -1.0 instead"),
    ({"range": (1.0, 0.0)}, r"'range' .*low < high.*Got \(1.0, 0.0\)"),
    ({"range": "wide"}, r"'range' .*pair \(low, high\).*Got 'wide'"),
    ({"correction": "chao"}, r"'correction' .*'plugin', 'miller_madow'.*Got 'chao'"),
    ({"bin": 3}, r"'bin' parameter of estimate_mi must be a parameter of method='binning' "
                 r"\(allowed: bin_width, bins, correction, range\). Got an unknown parameter 'bin'"),
])
def test_binning_parameters_are_checked(params: dict, match: str) -> None:
    x = np.random.default_rng(6).random((50, 2))
    with pytest.raises(InfoLensError, match=match):
        il.estimate_mi(x, x[:, 0], method="binning", **params)


def test_adaptive_binning_refuses_fixed_bin_parameters() -> None:
    x = np.random.default_rng(7).random(50)
    with pytest.raises(InfoLensError, match=r"'bin_width' .*method='adaptive_binning'"):
        il.estimate_mi(x, x, method="adaptive_binning", bin_width=0.1)
