"""numpy / torch dispatch so that one implementation of a measure serves both.

``get_backend(*arrays)`` returns :data:`NUMPY` for array-likes and :data:`TORCH` as soon as one
argument is a torch tensor; code then calls only ``nx.*``, so a numpy input gives numpy floats and
a tensor input gives a differentiable tensor on the input's device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from infolens._validation import _is_tensor, to_numpy


class _NumpyBackend:
    name = "numpy"

    def asarray(self, x: Any, like: Any = None) -> np.ndarray:
        return np.asarray(to_numpy(x), dtype=np.float64)

    def xlogy(self, x: Any, y: Any) -> Any:
        return special.xlogy(x, y)

    def log(self, x: Any) -> Any:
        with np.errstate(divide="ignore"):
            return np.log(x)

    def sum(self, x: Any, axis: Any = None) -> Any:
        return np.sum(x, axis=axis)

    def max(self, x: Any) -> Any:
        return np.max(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def scalar(self, x: Any) -> Any:
        return float(x)


class _TorchBackend:
    name = "torch"

    def asarray(self, x: Any, like: Any = None) -> Any:
        import torch

        if _is_tensor(x):
            if x.dtype in (torch.float16, torch.bfloat16):
                return x.float()  # 16-bit logs are off by up to 1%; autograd follows the cast
            return x if x.is_floating_point() else x.double()
        device = like.device if like is not None else None
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.float64
        dtype = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
        return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)

    def xlogy(self, x: Any, y: Any) -> Any:
        """``x log y`` with ``0 log y = 0`` and a finite gradient there (0 for x, 0 for y).

        ``torch.xlogy`` gives the value but a NaN or infinite gradient at ``x = y = 0``, which
        would make every measure of a table with zeros useless as a loss. Both branches of the
        ``where`` are finite where they are not taken (``log 1 = 0``), so no NaN leaks back.
        """
        import torch

        positive = x > 0
        safe = torch.where(positive, y, torch.ones_like(y))
        return torch.where(positive, x * torch.log(safe), torch.zeros_like(x))

    def log(self, x: Any) -> Any:
        import torch

        return torch.log(x)

    def sum(self, x: Any, axis: Any = None) -> Any:
        import torch

        if axis is None:
            return torch.sum(x)
        return torch.sum(x, dim=axis)

    def max(self, x: Any) -> Any:
        import torch

        return torch.max(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def scalar(self, x: Any) -> Any:
        return x


NUMPY = _NumpyBackend()
TORCH = _TorchBackend()


def get_backend(*arrays: Any) -> _NumpyBackend | _TorchBackend:
    """The torch backend if any argument is a tensor, else numpy."""
    return TORCH if any(_is_tensor(a) for a in arrays) else NUMPY
