"""``Quantize``: round activations to a fixed grid of ``2**bits`` levels, straight-through.

Lorenzen, Igel & Nielsen (2022) quantize every layer's activations in the forward pass, so that
each layer ``T`` takes finitely many values and ``I(X; T)`` and ``I(T; Y)`` over a data set are
exact discrete quantities: no binning and no estimator. The plane's ``"quantized"`` estimator
(:mod:`infolens.plane.estimate`) computes them and checks that the activations lie on the grid.

The grid is fixed per module: ``2**bits`` equally spaced levels from ``low`` to ``high``
(``low + k (high - low) / (2**bits - 1)``, ``k = 0 .. 2**bits - 1``); inputs outside are clipped
to the end levels. A fixed range (rather than one learned or tracked over training, as in
quantization-aware training) keeps the grid the same at every epoch, so the estimator knows it
and the planes of different epochs count the same symbols. Pick it from the activation:
``[-1, 1]`` for tanh (the default), ``[0, 1]`` for a sigmoid, ``[0, high]`` with a ``high`` above
the typical activations for ReLU.

The backward pass is the clipped straight-through estimator (Bengio, Leonard & Courville 2013):
the gradient passes unchanged where ``low <= x <= high`` and is zero outside.

References
----------
L. Lorenzen, C. Igel and M. Nielsen, "Information bottleneck: exact analysis of (quantized)
neural networks", ICLR 2022.
Y. Bengio, N. Leonard and A. Courville, "Estimating or propagating gradients through stochastic
neurons for conditional computation", arXiv:1308.3432, 2013.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from infolens._validation import check_float, check_int, fail

#: Most bits of a grid: level indices stay exact in float32 arithmetic.
MAX_BITS = 16


def check_grid(bits: object, low: object, high: object, fn: str) -> tuple[int, float, float]:
    """``(bits, low, high)`` checked: ``1 <= bits <= 16`` and finite ``low < high``."""
    bits = check_int("bits", bits, fn, minimum=1, maximum=MAX_BITS)
    low = check_float("low", low, fn)
    high = check_float("high", high, fn)
    if not high > low or not math.isfinite(high - low):
        raise fail("high", fn, f"a finite float above low={low:g}", high)
    return bits, low, high


class _RoundStraightThrough(torch.autograd.Function):
    """Grid levels forward (exactly ``low + k step``); the gradient of the clip backward."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, low: float,
                high: float, step: float) -> torch.Tensor:
        inside = (x >= low) & (x <= high)
        ctx.save_for_backward(inside)
        return torch.round((x.clamp(low, high) - low) / step) * step + low

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,
                 grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        (inside,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * inside, None, None, None


class Quantize(nn.Module):
    """Round the input to ``2**bits`` uniform levels in ``[low, high]``; straight-through backward.

    Parameters
    ----------
    bits : int
        Bits per value, 1 to 16: the grid has ``2**bits`` levels (256 for the default 8).
    low, high : float
        The first and last level; inputs outside are clipped to them.

    Notes
    -----
    Forward: ``low + round((clip(x, low, high) - low) / step) * step``, ``step = (high - low) /
    (2**bits - 1)``, in the input's dtype and on its device. Backward: the gradient of
    ``clip(x, low, high)`` (1 inside the range, 0 outside), the clipped straight-through
    estimator. Record this module's output with the plane's ``"quantized"`` estimator and the same
    ``bits``, ``low`` and ``high``.
    """

    def __init__(self, bits: int = 8, low: float = -1.0, high: float = 1.0) -> None:
        super().__init__()
        self.bits, self.low, self.high = check_grid(bits, low, high, "Quantize")

    @property
    def step(self) -> float:
        """Distance between neighbouring levels."""
        return (self.high - self.low) / (2**self.bits - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _RoundStraightThrough.apply(x, self.low, self.high, self.step)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, low={self.low:g}, high={self.high:g}"


__all__ = ["MAX_BITS", "Quantize", "check_grid"]
