"""``GaussianNoise``: a layer that adds isotropic Gaussian noise, in training and in evaluation.

Goldfeld et al. (2019) make the information plane well defined by adding noise to every hidden
layer: ``T = f(X) + Z`` with ``Z ~ N(0, sigma^2 I)``. Then ``I(X; T)`` is finite and is the
mutual information of a real channel (the network's own noise), not an artefact of an estimator's
bins or bandwidth. The noise is part of the model, so it is added in ``eval()`` mode too.

What to record
--------------
The estimator of ``I(X; T)`` needs the noise-free *centres* ``f(x_i)`` and ``sigma``, not one noisy
draw. Record the module that feeds the noise, not the noise itself::

    model = nn.Sequential(nn.Linear(12, 10), nn.Tanh(), il.GaussianNoise(0.1),   # "1" gives f(X)
                          nn.Linear(10, 2))
    plane = il.InformationPlane(x, y, layers=["1"], estimator="sample_propagation",
                                noise_var=0.1 ** 2)

Outside the plane, ``il.capture(model, ["2"], inputs=True)`` records the input of the noise layer
``"2"`` (the centres) in ``acts.inputs["2"]``. The module stores nothing between calls.

Layers deeper than the first noisy one see the earlier layers' noise: in one recording pass their
centres are one draw of ``f(T_prev)`` per input, and ``h(T) - h(Z)`` is then
``I(X, Z_prev; T) >= I(X; T)`` (see :mod:`infolens.plane.estimate`).

References
----------
Z. Goldfeld et al., "Estimating information flow in deep neural networks", ICML 2019.
"""

from __future__ import annotations

import torch
from torch import nn

from infolens._validation import check_float


class GaussianNoise(nn.Module):
    """Add i.i.d. ``N(0, sigma^2)`` noise to every entry of the input, in training and evaluation.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise (> 0), in the units of the input. The plane's
        ``"sample_propagation"`` estimator takes its variance, :attr:`noise_var`.

    Notes
    -----
    The noise is drawn with ``torch.randn_like`` on the input's device and dtype, from torch's
    global generator (seed it with ``torch.manual_seed``). Gradients flow to the input unchanged
    (``d(x + z)/dx = 1``). Record the module before this one to get the centres ``f(X)``: see the
    module docstring.
    """

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = check_float("sigma", sigma, "GaussianNoise", minimum=0.0, strict_minimum=True)

    @property
    def noise_var(self) -> float:
        """The noise variance ``sigma^2``."""
        return self.sigma * self.sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sigma * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


__all__ = ["GaussianNoise"]
