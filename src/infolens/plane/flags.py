"""Flags on information-plane records: when a number says more about the estimator than the layer.

The vocabulary is that of :class:`~infolens.Estimate` (``near_log_n``), plus the plane's own:

* ``near_log_n`` (I(X;T)): within :data:`LOG_N_MARGIN` nats (1 nat = 1.44 bits, the margin of
  :func:`~infolens.estimate_mi`) of ln n, the most any estimate of I(X;T) can reach when X is the
  identity of n samples: the estimate is limited by the sample size, not by the layer.
* ``all_distinct`` (both, count-based estimators): every sample occupies its own cell. Then
  I(X;T) = log2 n and I(T;Y) = H(Y) whatever the network does: the layer is saturated at this
  resolution (a wide layer, or bins too fine).
* ``shuffled_baseline`` (I(T;Y)): the same estimator, on the same layer, reads at least
  :data:`BASELINE_FRACTION` of this I(T;Y) for labels shuffled independently of the layer (one
  fixed permutation, seed 0, :func:`shuffled_labels`); flagged only when I(T;Y) is at least
  :data:`MIN_TY_FRACTION` of H(Y) (:func:`baseline_flag`, the one rule). A layer cannot carry
  information about labels it never saw, so most of the number is the estimator's bias. This
  needs no oracle: an untrained 2,048-unit ReLU layer binned at 30 bins reads I(T;Y) = H(Y) for
  random labels and carries the flag. Which estimators compute it, and at what cost:

  - count-based ones, from the same codes (one more sort), only when the rule's floor is met;
  - ``kde`` and ``adaptive_kde`` on every layer, on all the rows they read: H(T+Z) is shared, only
    the class-conditional mixtures are evaluated again (sum_c n_c^2 of the n^2 + sum_c n_c^2 pair
    terms, so about 1 + 1 / (C + 1) times the time for C balanced classes). When the noise is far
    narrower than the distances between samples (a wide random layer) the upper bound reads
    I(X;T) = ln n and I(T;Y) = H(Y) whatever the labels, and the shuffled labels read H(Y) too.
    A closed-form saturation test (noise width against nearest-neighbour distances) would cost
    the same O(n^2) distances and only catch complete saturation; the baseline also catches a
    partly saturated layer and cannot fire on one whose I(T;Y) needs the real labels;
  - ``sample_propagation``, on the same Monte Carlo draws (the mixture over all centres shared,
    one more class mixture per draw: about 1 + 1 / (C + 1) times the time); its numbers are
    those of the noisy network, which on n distinct inputs far apart against the noise does
    carry H(Y) about any labelling of them, so the flag says what the number reflects;
  - ``matrix_renyi``, per minibatch with the minibatch's labels shuffled (seed 0): S(T) and
    S(Y) are unchanged, one more eigendecomposition of the Hadamard joint per minibatch; the
    baseline is the row-weighted mean over the minibatches, like the estimate.

  These estimators also put the baseline itself on the I(T;Y) record, in the record's units, as
  :data:`SHUFFLED_FIELD` (the count-based ones do not, to keep their records unchanged).
* ``disagree`` (sensitivity tables, :func:`infolens.plane.sensitivity`): the estimators of the
  table call the same layer compressing and not compressing, with compression scores further
  apart than their spreads over seeds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

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
#: Key of the shuffled-label I(T;Y) (nats) among the values of an estimator that computes it.
SHUFFLED_KEY = "I_TY_shuffled"
#: Field of that baseline on an I(T;Y) record (in the record's units).
SHUFFLED_FIELD = "shuffled_I_TY"

FLAGS: tuple[str, ...] = ("near_log_n", "all_distinct", "shuffled_baseline", "disagree")


def shuffled_labels(y: np.ndarray) -> np.ndarray:
    """The labels ``y`` in the fixed random order of the baseline (seed :data:`BASELINE_SEED`)."""
    return np.random.default_rng(BASELINE_SEED).permutation(y)


def baseline_flag(i_ty: float, y: np.ndarray, baseline: float | Callable[[], float]) -> bool:
    """The ``shuffled_baseline`` rule: I(T;Y) (nats) is at least :data:`MIN_TY_FRACTION` of H(Y)
    and the shuffled-label I(T;Y) ``baseline`` (nats, or a function computing it, called only past
    that floor) is at least :data:`BASELINE_FRACTION` of it."""
    if not (i_ty > 0 and i_ty >= MIN_TY_FRACTION * entropy_plugin(y)):
        return False
    value = baseline() if callable(baseline) else baseline
    return bool(value >= BASELINE_FRACTION * i_ty)


def layer_flags(values: Mapping[str, float], y: np.ndarray, n_classes: int, *,
                codes: np.ndarray | None = None,
                baseline: float | Callable[[np.ndarray], float] | None = None) -> dict[str, list[str]]:
    """The flags of each quantity in ``values`` (nats) for one layer of n = ``len(y)`` samples.

    ``codes`` (one symbol per sample) come from count-based estimators; ``baseline`` is the
    shuffled-label I(T;Y) in nats, computed by the estimator itself, or a function of labels
    giving the same estimator's I(T;Y) (called with :func:`shuffled_labels`). Without them only
    ``near_log_n`` is checked.
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
        given = baseline
        value = (lambda: given(shuffled_labels(y))) if callable(given) else given
        if baseline_flag(values["I_TY"], y, value):
            out["I_TY"].append("shuffled_baseline")
    return out


def flag_shares(records: Any) -> list[dict[str, Any]]:
    """How often each (layer, quantity, flag) occurs in a plane's records, for reports.

    ``records`` is a DataFrame of plane records (:meth:`infolens.PlaneResult.to_frame`); records
    without a ``flags`` column (planes stored before flags existed) give no rows. Returns
    ``[{"layer", "quantity", "flag", "records", "share"}]`` in record order, ``share`` the
    fraction of that layer's records of that quantity carrying the flag.
    """
    if "flags" not in records.columns:
        return []
    rows: dict[tuple[str, str, str], int] = {}
    totals: dict[tuple[str, str], int] = {}
    for layer, quantity, flags in zip(records["layer"], records["quantity"], records["flags"], strict=True):
        totals[(layer, quantity)] = totals.get((layer, quantity), 0) + 1
        for flag in str(flags or "").split(","):
            if flag:
                rows[(layer, quantity, flag)] = rows.get((layer, quantity, flag), 0) + 1
    return [{"layer": layer, "quantity": quantity, "flag": flag, "records": count,
             "share": count / totals[(layer, quantity)]} for (layer, quantity, flag), count in rows.items()]


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


__all__ = ["BASELINE_FRACTION", "FLAGS", "LOG_N_MARGIN", "MIN_TY_FRACTION", "SHUFFLED_FIELD", "SHUFFLED_KEY",
           "baseline_flag", "flag_shares", "layer_flags", "shuffled_labels", "warn_flags"]
