"""The per-layer computations behind the plane estimators of :data:`infolens.plane.estimators.TABLE`
that need more than a call into :mod:`infolens.estimators`: the levels of a quantized layer, the
KDE pair ``I(X;T), I(T;Y)`` with the layer's mixture entropy computed once, the adaptive KDE's
rescaling, and sample propagation. Below the table and the dispatch
(:mod:`infolens.plane.estimate`), all in nats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from infolens._validation import fail
from infolens.estimators._pairwise import as_float64
from infolens.estimators.kde import entropy_kde, noise_entropy
from infolens.estimators.sample_propagation import layer_information
from infolens.plane.flags import shuffled_labels

#: Largest distance of a quantized activation from its grid level, in grid steps: float32
#: rounding of ``low + k step`` stays below 0.01 steps up to 16 bits (2**16 levels, 1.2e-7 of the
#: range at most), while continuous activations are off by up to half a step (any one raises).
GRID_TOLERANCE = 0.05


def grid_levels(t: np.ndarray, bits: int, low: float, high: float) -> np.ndarray:
    """The level index ``k`` in ``0 .. 2**bits - 1`` of every activation on the grid
    ``low + k (high - low) / (2**bits - 1)``; activations off the grid raise."""
    step = (high - low) / (2**bits - 1)
    position = (t.astype(np.float64) - low) / step
    levels = np.rint(position)
    off = np.abs(position - levels) > GRID_TOLERANCE
    outside = (levels < 0) | (levels > 2**bits - 1)
    if off.any() or outside.any():
        bad = float(t.reshape(-1)[np.flatnonzero((off | outside).reshape(-1))[0]])
        raise fail("activations", "estimator='quantized'",
                   f"on the grid of {2**bits} levels from {low:g} to {high:g} (the output of "
                   f"il.Quantize(bits={bits}, low={low:g}, high={high:g}); record the Quantize "
                   "modules, with softmax_output=False if the output layer is one)",
                   got=f"{int((off | outside).sum())} values off the grid, e.g. {bad:.6g}")
    return levels.astype(np.int64)


def kde_information(t: np.ndarray, y: np.ndarray, n_classes: int,
                    params: Mapping[str, Any]) -> tuple[float, float, float]:
    """H(T+Z) once, then I(X;T) = H(T+Z) - H(Z), I(T;Y) = H(T+Z) - sum_c p(c) H(T+Z | c), and
    the same I(T;Y) for the labels shuffled by :func:`infolens.plane.flags.shuffled_labels` (the
    ``shuffled_baseline`` of :mod:`infolens.plane.flags`), all in nats.

    Same numbers as ``mi_identity_kde`` and ``mi_kde`` of :mod:`infolens.estimators.kde`, with
    the mixture entropy of the whole layer computed once instead of twice (and once for the
    baseline: only its class-conditional mixtures are evaluated again).
    """
    noise_var, bound = params["noise_var"], params["bound"]
    h_t = entropy_kde(t, noise_var=noise_var, bound=bound)[0]

    def conditional(labels: np.ndarray) -> float:
        weights = np.bincount(labels, minlength=n_classes) / len(labels)
        return sum(weights[c] * entropy_kde(t[labels == c], noise_var=noise_var, bound=bound)[0]
                   for c in range(n_classes) if weights[c] > 0)

    return (h_t - noise_entropy(t.shape[1], noise_var), h_t - conditional(y),
            h_t - conditional(shuffled_labels(y)))


def activity_scaled(t: np.ndarray) -> np.ndarray:
    """``t / max|t|`` (``t`` itself when it is all zeros): the adaptive KDE's rescaling."""
    peak = float(np.abs(t).max()) if t.size else 0.0
    return t / peak if peak > 0 else t


def sp_information(t: np.ndarray, y: np.ndarray, n_classes: int,
                   params: Mapping[str, Any]) -> tuple[float, float, float]:
    """I(X;T), I(T;Y) and the shuffled-label I(T;Y) (labels of
    :func:`infolens.plane.flags.shuffled_labels`, on the same Monte Carlo draws) by sample
    propagation, from ``draws`` recordings concatenated per row, in nats.

    See :func:`infolens.estimators.sample_propagation.layer_information`; the draws are seeded by
    ``random_state``.
    """
    draws = params["draws"]
    if t.shape[1] % draws:
        raise fail("activations", "estimator='sample_propagation'",
                   f"{draws} recordings of the layer per input (draws={draws}), shape (n, "
                   f"{draws}, features) or (n, {draws} * features)", t)
    centres = as_float64(t).reshape(t.shape[0], draws, -1)
    info = layer_information(centres, y, n_classes, float(np.sqrt(params["noise_var"])),
                             params["n_mc"], params["random_state"], shuffled=shuffled_labels(y))
    return info["I_XT"], info["I_TY"], info["I_TY_shuffled"]
