"""numpy / torch dispatch so that one implementation of a measure serves both.

``get_backend(*arrays)`` returns :data:`NUMPY` for array-likes and :data:`TORCH` as soon as one
argument is a torch tensor; code then calls only ``nx.*``, so a numpy input gives numpy floats and
a tensor input gives a differentiable tensor on the input's device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from infolens._validation import _is_tensor


class _NumpyBackend:
    name = "numpy"

    def asarray(self, x: Any, like: Any = None) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def xlogy(self, x: Any, y: Any) -> Any:
        return special.xlogy(x, y)

    def log(self, x: Any) -> Any:
        with np.errstate(divide="ignore"):
            return np.log(x)

    def sum(self, x: Any, axis: Any = None) -> Any:
        return np.sum(x, axis=axis)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def scalar(self, x: Any) -> Any:
        return float(x)


class _TorchBackend:
    name = "torch"

    def asarray(self, x: Any, like: Any = None) -> Any:
        import torch

        if _is_tensor(x):
            return x if x.is_floating_point() else x.double()
        device = like.device if like is not None else None
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.float64
        return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)

    def xlogy(self, x: Any, y: Any) -> Any:
        import torch

        return torch.xlogy(x, y)

    def log(self, x: Any) -> Any:
        import torch

        return torch.log(x)

    def sum(self, x: Any, axis: Any = None) -> Any:
        import torch

        if axis is None:
            return torch.sum(x)
        return torch.sum(x, dim=axis)

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def scalar(self, x: Any) -> Any:
        return x


NUMPY = _NumpyBackend()
TORCH = _TorchBackend()


def get_backend(*arrays: Any) -> _NumpyBackend | _TorchBackend:
    """The torch backend if any argument is a tensor, else numpy."""
    return TORCH if any(_is_tensor(a) for a in arrays) else NUMPY
