"""The information bottleneck, solved and trained.

* Classical IB on a discrete joint distribution: :func:`iterative_ib` (Tishby, Pereira & Bialek
  1999), :func:`deterministic_ib` (Strouse & Schwab 2017), :func:`generalized_ib` (their alpha),
  and :func:`ib_curve` returning an :class:`IBCurve`.
* PyTorch losses: :class:`VariationalBottleneck` and :class:`VIBLoss` (Alemi et al. 2017), the
  nonlinear IB (Kolchinsky, Tracey & Wolpert 2019), MI bounds as losses (MINE, NWJ, InfoNCE,
  SMILE) and :func:`cross_entropy_logits`.

Names are imported lazily, so the numpy-only IB solvers do not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "IBCurve": "infolens.bottleneck.iterative",
    "IBSolution": "infolens.bottleneck.iterative",
    "iterative_ib": "infolens.bottleneck.iterative",
    "deterministic_ib": "infolens.bottleneck.iterative",
    "generalized_ib": "infolens.bottleneck.iterative",
    "ib_curve": "infolens.bottleneck.iterative",
    "joint_from_samples": "infolens.bottleneck.iterative",
    "VariationalBottleneck": "infolens.bottleneck.vib",
    "VIBLoss": "infolens.bottleneck.vib",
    "VIBTerms": "infolens.bottleneck.vib",
    "VIBClassifier": "infolens.bottleneck.vib",
    "BottleneckSample": "infolens.bottleneck.vib",
    "gaussian_rate": "infolens.bottleneck.vib",
    "vib_terms": "infolens.bottleneck.vib",
    "predict_proba": "infolens.bottleneck.vib",
    "GaussianNoise": "infolens.bottleneck.nonlinear",
    "NonlinearIBLoss": "infolens.bottleneck.nonlinear",
    "NonlinearIBTerms": "infolens.bottleneck.nonlinear",
    "kde_mi_upper_bound": "infolens.bottleneck.nonlinear",
    "MIBoundLoss": "infolens.bottleneck.objectives",
    "InfoNCELoss": "infolens.bottleneck.objectives",
    "NWJLoss": "infolens.bottleneck.objectives",
    "MINELoss": "infolens.bottleneck.objectives",
    "SMILELoss": "infolens.bottleneck.objectives",
    "cross_entropy_logits": "infolens.bottleneck.objectives",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'infolens.bottleneck' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
