"""``Quantize`` (Lorenzen, Igel & Nielsen 2022) and the plane's exact ``"quantized"`` estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import infolens as il
from infolens import InfoLensError


def test_forward_rounds_to_the_grid_and_clips() -> None:
    q = il.Quantize(bits=2, low=0.0, high=3.0)  # levels 0, 1, 2, 3
    x = torch.tensor([-5.0, 0.4, 0.6, 1.49, 1.51, 2.5, 2.9, 3.0, 7.0])
    assert q(x).tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0]  # 2.5: half to even
    eight = il.Quantize()  # 8 bits over [-1, 1]: 256 levels, step 2/255
    out = eight(torch.linspace(-1.2, 1.2, 10_001))
    levels = torch.unique(out)
    assert len(levels) == 256 and float(levels[0]) == -1.0 and float(levels[-1]) == 1.0
    assert torch.allclose(torch.diff(levels), torch.full((255,), 2 / 255), atol=1e-6)
    assert "bits=8, low=-1, high=1" in repr(eight)


def test_backward_is_the_clipped_straight_through_estimator() -> None:
    q = il.Quantize(bits=3, low=-1.0, high=1.0)
    x = torch.tensor([-2.0, -1.0, -0.3, 0.0, 0.77, 1.0, 1.5], requires_grad=True)
    (q(x) * torch.arange(1.0, 8.0)).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"bits": 0}, "'bits' parameter of Quantize must be an int >= 1 and <= 16"),
    ({"bits": 2.0}, "'bits' parameter of Quantize"),
    ({"low": 1.0, "high": 1.0}, "'high' parameter of Quantize must be a finite float above low=1"),
    ({"low": float("nan")}, "'low' parameter of Quantize"),
])
def test_bad_grid_raises(kwargs: dict, match: str) -> None:
    with pytest.raises(InfoLensError, match=match):
        il.Quantize(**kwargs)


def _grid_values(codes: np.ndarray, bits: int = 3, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return (low + codes * (high - low) / (2**bits - 1)).astype(np.float32)


def test_quantized_estimator_gives_the_hand_computed_entropies() -> None:
    # 8 samples, 2 units on the 3-bit grid: T takes 3 values a, b, c with counts 4, 2, 2, so
    # I(X;T) = H(T) = 1.5 bits; Y = (0,0,0,1 | 0,0 | 1,1) per value of T
    codes = np.array([[0, 7]] * 4 + [[3, 3]] * 2 + [[5, 1]] * 2)
    y = np.array([0, 0, 0, 1, 0, 0, 1, 1])
    plane = il.InformationPlane(np.zeros((8, 1)), y, estimator="quantized", bits=3)
    i_xt, i_ty = (r["value"] for r in plane.record_activations({"t": _grid_values(codes)}, 0))
    assert i_xt == pytest.approx(1.5, abs=1e-12)
    # H(T, Y): symbols (a,0) x3, (a,1), (b,0) x2, (c,1) x2 -> counts 3, 1, 2, 2 of 8;
    # H(Y) = H(5/8, 3/8); I(T;Y) = 1.5 + 0.9544 - 1.9056 = 0.5488 bits
    h_ty = -sum(c / 8 * math.log2(c / 8) for c in (3, 1, 2, 2))
    h_y = -(5 / 8) * math.log2(5 / 8) - (3 / 8) * math.log2(3 / 8)
    assert i_ty == pytest.approx(1.5 + h_y - h_ty, abs=1e-12)
    assert i_ty == pytest.approx(0.5488, abs=1e-4)


def test_quantized_equals_the_plugin_estimator_on_grid_activations() -> None:
    rng = np.random.default_rng(0)
    t = _grid_values(rng.integers(0, 8, (500, 3)))
    y = rng.integers(0, 4, 500)
    values = {}
    for name, params in (("quantized", {"bits": 3}), ("plugin", {})):
        plane = il.InformationPlane(np.zeros((500, 1)), y, estimator=name, **params)
        values[name] = [r["value"] for r in plane.record_activations({"t": t}, 0)]
    assert values["quantized"] == pytest.approx(values["plugin"], abs=1e-12)


@pytest.mark.parametrize(("bits", "low", "high"), [(16, -1.0, 1.0), (16, 0.0, 1000.0), (1, 0.0, 1.0)])
def test_float32_quantized_values_pass_the_grid_check(bits: int, low: float, high: float) -> None:
    x = torch.linspace(low - 1, high + 1, 300_001)
    t = il.Quantize(bits, low, high)(x)[:, None].numpy()
    plane = il.InformationPlane(np.zeros((len(t), 1)), np.arange(len(t)) % 2, estimator="quantized",
                                bits=bits, low=low, high=high, units="nats")
    i_xt = plane.record_activations({"t": t}, 0)[0]["value"]
    counts = np.unique(t, return_counts=True)[1]
    assert i_xt == pytest.approx(float(-(counts / len(t) * np.log(counts / len(t))).sum()), abs=1e-9)


def test_a_quantized_network_is_on_its_grid() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), il.Quantize(bits=8),
                                torch.nn.Linear(6, 2))
    x = torch.randn(300, 4)
    y = (x[:, 0] > 0).long()
    plane = il.InformationPlane(x, y, layers=["2"], estimator="quantized", units="nats")
    i_xt, i_ty = (r["value"] for r in plane.record(model, 0))
    assert 0.0 < i_xt <= math.log(300) + 1e-12 and 0.0 <= i_ty <= math.log(2) + 1e-12


def test_activations_off_the_grid_raise() -> None:
    plane = il.InformationPlane(np.zeros((4, 1)), [0, 1, 0, 1], estimator="quantized", bits=3)
    with pytest.raises(InfoLensError,
                       match="on the grid of 8 levels from -1 to 1 .* 1 values off the grid, e.g. 0.1"):
        plane.record_activations({"t": np.array([[-1.0], [1.0], [0.1], [1 / 7]])}, 0)
    with pytest.raises(InfoLensError, match="2 values off the grid"):
        plane.record_activations({"t": np.array([[-3.0], [1.0], [3.0], [1 / 7]])}, 0)


def test_bad_quantized_settings_raise() -> None:
    with pytest.raises(InfoLensError,
                       match="'bits' parameter of InformationPlane must be an int >= 1 and <= 16"):
        il.InformationPlane(np.zeros((4, 1)), [0, 1, 0, 1], estimator="quantized", bits=17)
    with pytest.raises(InfoLensError,
                       match="'high' parameter of InformationPlane must be a finite float above low=2"):
        il.InformationPlane(np.zeros((4, 1)), [0, 1, 0, 1], estimator="quantized", low=2.0, high=1.0)
