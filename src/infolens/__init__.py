"""infolens: information theory for deep learning.

Exact measures on probability tables, estimators from samples, the information plane of any
PyTorch model, the information bottleneck, and per-layer probes and embeddings. The public API
is re-exported here and imported lazily, so ``import infolens`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from infolens._validation import InfoLensError, InfoLensWarning
from infolens.measures import (
    conditional_entropy,
    conditional_mutual_information,
    cross_entropy,
    entropy,
    joint_entropy,
    js_divergence,
    kl_divergence,
    mutual_information,
    self_information,
)

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "Estimate": "infolens.estimators.result",
    "estimate_entropy": "infolens.estimators.api",
    "estimate_mi": "infolens.estimators.api",
    "estimate_cmi": "infolens.estimators.api",
    "METHODS": "infolens.estimators.api",
    "list_layers": "infolens.layers",
    "capture": "infolens.layers",
    "run_model": "infolens.model_inputs",
    "InformationPlane": "infolens.plane",
    "PlaneResult": "infolens.plane",
    "Schedule": "infolens.plane",
    "sensitivity": "infolens.plane",
    "RunStore": "infolens.store",
    "verify_pruning": "infolens.pruning",
    "embed_sequence": "infolens.embedding",
    "run_sweep": "infolens.sweeps",
    "grid": "infolens.sweeps",
    "probe_layers": "infolens.probes",
    "ProbeReport": "infolens.probes",
    "v_information": "infolens.estimators.usable",
    "VInformation": "infolens.estimators.usable",
    "embed": "infolens.embedding",
    "Embedding": "infolens.embedding",
    "GaussianNoise": "infolens.noise",
    "Quantize": "infolens.quantize",
    "gaussian_mixture_entropy": "infolens.estimators.sample_propagation",
    "class_clustering": "infolens.clustering",
}
_SUBMODULES = {"bottleneck", "data", "viz", "models", "estimators", "measures", "report",
               "integrations", "sweeps", "store"}

__all__ = [
    "InfoLensError",
    "InfoLensWarning",
    "conditional_entropy",
    "conditional_mutual_information",
    "cross_entropy",
    "entropy",
    "joint_entropy",
    "js_divergence",
    "kl_divergence",
    "mutual_information",
    "self_information",
    *_LAZY,
    *sorted(_SUBMODULES),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"infolens.{name}")
    raise AttributeError(f"module 'infolens' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
