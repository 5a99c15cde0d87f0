"""Shared test configuration: one thread, a modest hypothesis profile, a numpy/torch backend fixture.

The ``nx`` fixture runs a test once per backend (numpy, torch): ``nx.array(values)`` builds the
backend's array (float64), ``nx.to_float(result)`` reads a scalar result back, so one test body
checks that both backends agree with the same closed-form value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

# Tiny tensors on 2 shared cores: more threads only add contention.
torch.set_num_threads(1)

settings.register_profile("infolens", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "infolens"))


@dataclass(frozen=True)
class Backend:
    """How a test builds inputs for, and reads outputs from, one array library."""

    name: str

    def array(self, values: Any, requires_grad: bool = False) -> Any:
        data = np.asarray(values, dtype=np.float64)
        if self.name == "numpy":
            return data
        return torch.tensor(data, dtype=torch.float64, requires_grad=requires_grad)

    def to_float(self, value: Any) -> float:
        if isinstance(value, torch.Tensor):
            assert value.ndim == 0, f"expected a 0-d tensor, got shape {tuple(value.shape)}"
            return float(value.detach())
        assert isinstance(value, float), f"numpy backend should return a float, got {type(value)}"
        return value


@pytest.fixture(params=["numpy", "torch"])
def nx(request: pytest.FixtureRequest) -> Backend:
    """The array backend under test (numpy or torch)."""
    return Backend(request.param)
