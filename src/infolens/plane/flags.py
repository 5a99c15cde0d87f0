"""Flags on information-plane records: when a number says more about the estimator than the layer.

The vocabulary is that of :class:`~infolens.Estimate` (``near_log_n``), plus the plane's own:

* ``near_log_n`` (I(X;T)): within :data:`LOG_N_MARGIN` nats (1 nat = 1.44 bits, the margin of
  :func:`~infolens.estimate_mi`) of ln n, the most any estimate of I(X;T) can reach when X is the
  identity of n samples: the estimate is limited by the sample size, not by the layer.
* ``all_distinct`` (both, count-based estimators): every sample occupies its own cell. Then
  I(X;T) = log2 n and I(T;Y) = H(Y) whatever the network does: the layer is saturated at this
  resolution (a wide layer, or bins too fine).
* ``shuffled_baseline`` (I(T;Y), count-based estimators): the same estimator, on the same codes,
  reads at least :data:`BASELINE_FRACTION` of this I(T;Y) for labels shuffled independently of the
  layer (one fixed permutation, seed 0); flagged only when I(T;Y) is at least
  :data:`MIN_TY_FRACTION` of H(Y). A layer cannot carry information about labels it never saw,
  so most of the number is the estimator's bias. This needs no oracle: an untrained 2,048-unit
  ReLU layer binned at 30 bins reads I(T;Y) = H(Y) for random labels and carries the flag.
* ``disagree`` (sensitivity tables, :func:`infolens.plane.sensitivity`): the estimators of the
  table call the same layer compressing and not compressing, with compression scores further
  apart than their spreads over seeds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from infolens._validation import InfoLensWarning
from infolens.estimators.discrete import entropy_plugin

#: Margin of ``near_log_n``, in nats (as :func:`~infolens.estimate_mi`).
LOG_N_MARGIN = 1.0
#: ``shuffled_baseline`` when the shuffled-label I(T;Y) is at least this fraction of I(T;Y) ...
BASELINE_FRACTION = 0.5
#: ... and I(T;Y) is at least this fraction of H(Y).
MIN_TY_FRACTION = 0.1
#: Seed of the label permutation of the baseline.
BASELINE_SEED = 0

FLAGS: tuple[str, ...] = ("near_log_n", "all_distinct", "shuffled_baseline", "disagree")


def layer_flags(values: Mapping[str, float], y: np.ndarray, n_classes: int, *,
                codes: np.ndarray | None = None,
                baseline: Callable[[np.ndarray], float] | None = None) -> dict[str, list[str]]:
    """The flags of each quantity in ``values`` (nats) for one layer of n = ``len(y)`` samples.

    ``codes`` (one symbol per sample) and ``baseline`` (I(T;Y) in nats of the same estimator for
    given labels) come from count-based estimators; without them only ``near_log_n`` is checked.
    """
    n = len(y)
    out: dict[str, list[str]] = {q: [] for q in values}
    distinct = codes is not None and len(np.unique(codes)) == n
    if "I_XT" in values and values["I_XT"] > math.log(n) - LOG_N_MARGIN:
        out["I_XT"].append("near_log_n")
    for quantity in out:
        if distinct:
            out[quantity].append("all_distinct")
    if "I_TY" in values and baseline is not None:
        i_ty = values["I_TY"]
        if i_ty >= MIN_TY_FRACTION * entropy_plugin(y) and i_ty > 0:
            shuffled = np.random.default_rng(BASELINE_SEED).permutation(y)
            if baseline(shuffled) >= BASELINE_FRACTION * i_ty:
                out["I_TY"].append("shuffled_baseline")
    return out


def warn_flags(flagged: Mapping[str, Mapping[str, list[str]]], label: str, fn: str) -> None:
    """One warning naming every flagged (layer, quantity) of a recording, if there is any.

    The message names no epoch, so Python's default filter shows it once per recording site
    while the same layers stay flagged (every record keeps its own ``flags``)."""
    if not flagged:
        return
    parts = "; ".join(f"{layer} {quantity}: {', '.join(flags)}" for layer, by in flagged.items()
                      for quantity, flags in by.items())
    warnings.warn(f"{fn}: under {label}: {parts} (see infolens.plane.flags: these numbers "
                  "describe the estimator's saturation, not the layer).", InfoLensWarning, stacklevel=4)


__all__ = ["BASELINE_FRACTION", "FLAGS", "LOG_N_MARGIN", "MIN_TY_FRACTION", "layer_flags", "warn_flags"]
