"""Shared test configuration: torch threads, a modest hypothesis profile, a numpy/torch backend fixture.

Torch threads: ``INFOLENS_TEST_THREADS`` (default 1) is set with ``torch.set_num_threads`` for the
whole session, and the ``threads`` fixture hands the same number to the jobs that set their own
(``run_plane(threads=...)``, ``VIBSweepConfig(threads=...)``, the CLI's ``--threads``), so
``INFOLENS_TEST_THREADS=2 pytest -m slow`` runs every training test with two threads.

The ``nx`` fixture runs a test once per backend (numpy, torch): ``nx.array(values)`` builds the
backend's array (float64), ``nx.to_float(result)`` reads a scalar result back, so one test body
checks that both backends agree with the same closed-form value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from scipy import integrate, stats

#: Torch threads of the session (tiny tensors on shared cores: 1 is fastest, 2 must give the same verdicts).
TEST_THREADS = int(os.environ.get("INFOLENS_TEST_THREADS", "1"))
torch.set_num_threads(TEST_THREADS)

settings.register_profile("infolens", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "infolens"))
# The fuzz suite (tests/test_fuzz_api.py): bounded in the normal run, INFOLENS_FUZZ=long for more.
settings.register_profile("infolens-fuzz", max_examples=60, deadline=5000, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("infolens-fuzz-long", max_examples=2000, deadline=5000,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_PROFILE = "infolens-fuzz-long" if os.environ.get("INFOLENS_FUZZ") == "long" else "infolens-fuzz"


#: CI sets this (``.ci/run``): a test whose optional tool is missing fails there instead of skipping.
REQUIRE_EXTRAS = bool(os.environ.get("INFOLENS_REQUIRE_EXTRAS"))


def require(available: bool, reason: str) -> None:
    """Skip the calling test with ``reason`` when ``available`` is false, or fail under CI.

    Used by the tests of optional tools (a browser, Ray, the docs tool chain, a notebook kernel):
    outside CI a machine without the tool skips them with a reason that says how to install it;
    ``INFOLENS_REQUIRE_EXTRAS=1`` (set by ``.ci/run``) turns that skip into a failure, so CI cannot
    pass by skipping.
    """
    if available:
        return
    if REQUIRE_EXTRAS:
        pytest.fail(f"required under INFOLENS_REQUIRE_EXTRAS: {reason}")
    pytest.skip(reason)


def localhost_env(script_dir: str) -> dict[str, str]:
    """The environment of a two-process torch.distributed child on 127.0.0.1 (gloo): a free port,
    one thread, and ``script_dir`` on the path (the helper scripts next to the tests)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = os.pathsep.join([script_dir, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "GLOO_SOCKET_IFNAME": "lo",
            "OMP_NUM_THREADS": "1", "PYTHONPATH": path}


@pytest.fixture
def threads() -> int:
    """The torch threads of this session (``INFOLENS_TEST_THREADS``, default 1)."""
    return TEST_THREADS


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


def sample_joint(pxy: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` integer samples (x, y) drawn from the joint table ``pxy`` (X on axis 0)."""
    flat = np.random.default_rng(seed).choice(pxy.size, size=n, p=np.ravel(pxy))
    return flat // pxy.shape[1], flat % pxy.shape[1]


def plugin_mi_tolerance(pxy: np.ndarray, n: int, sds: float = 5.0) -> float:
    """``sds`` standard deviations of the plug-in MI of ``n`` samples plus its bias, in nats.

    Delta method (Paninski 2003): sd = sqrt(Var[i(X;Y)] / n) with i = ln p(x,y) / (p(x) p(y)),
    first-order bias (Kx - 1)(Ky - 1) / (2n).
    """
    px, py = pxy.sum(axis=1, keepdims=True), pxy.sum(axis=0, keepdims=True)
    support = pxy > 0
    pmi = np.log(pxy[support] / (px @ py)[support])
    var = float(np.sum(pxy[support] * pmi**2) - np.sum(pxy[support] * pmi) ** 2)
    bias = (np.count_nonzero(px) - 1) * (np.count_nonzero(py) - 1) / (2 * n)
    return sds * math.sqrt(var / n) + bias


@pytest.fixture
def joint_sampler() -> Callable[[np.ndarray, int, int], tuple[np.ndarray, np.ndarray]]:
    """:func:`sample_joint`: samples from a joint probability table."""
    return sample_joint


@pytest.fixture
def mi_tolerance() -> Callable[..., float]:
    """:func:`plugin_mi_tolerance`: a derived tolerance for discrete MI estimates."""
    return plugin_mi_tolerance


def gaussian_mixture_entropy_1d(centres: np.ndarray, variance: float,
                                weights: np.ndarray | None = None) -> float:
    """Exact differential entropy in nats of ``sum_j w_j N(c_j, variance)`` by adaptive quadrature."""
    centres = np.asarray(centres, dtype=np.float64)
    weights = np.full(len(centres), 1.0 / len(centres)) if weights is None else np.asarray(weights)
    sd = math.sqrt(variance)

    def integrand(t: float) -> float:
        density = float(np.sum(weights * stats.norm.pdf(t, loc=centres, scale=sd)))
        return -density * math.log(density) if density > 0 else 0.0

    low, high = centres.min() - 12 * sd, centres.max() + 12 * sd
    value, _ = integrate.quad(integrand, low, high, points=sorted(centres.tolist()), limit=500,
                              epsabs=1e-12)
    return value


@pytest.fixture
def mixture_entropy() -> Callable[..., float]:
    """:func:`gaussian_mixture_entropy_1d`: exact entropy of a 1-D Gaussian mixture."""
    return gaussian_mixture_entropy_1d
