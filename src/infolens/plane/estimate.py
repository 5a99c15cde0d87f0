"""Per-layer I(X;T) and I(T;Y) under the information-plane estimators.

X is the *identity* of each input sample (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018): the n
inputs are n equally likely, distinct symbols. For a deterministic network T = f(X), so

* ``binning``, ``adaptive_binning``, ``plugin``: I(X;T) = H(T_q), the plug-in entropy of the
  quantized layer (T_q is a function of X), and I(T;Y) = H(T_q) - H(T_q | Y) from one pass of
  counts. Both are entropies of the *quantizer's* output: they change with the bin size and are
  bounded by ln n (every sample in its own bin) and H(Y) respectively. The plug-in entropy is
  biased downwards when the number of occupied bins is not small against n.
  ``adaptive_binning`` is per-unit equal-mass bins (``scope="unit"``, default) or the
  entropy-based adaptive binning of Chelombiev et al. 2019 (``scope="layer"``: one set of edges
  per layer and epoch, equal numbers of distinct activation values per bin).
* ``quantized``: the layer is already quantized (:class:`~infolens.Quantize` with the same
  ``bits``, ``low``, ``high``; Lorenzen, Igel & Nielsen 2022). I(X;T) = H(T) and I(T;Y) are the
  same counts as ``plugin``, and here they are *exact*, not estimates: X is uniform over the n
  inputs and T = Q(f(X)) is a function of X, so p(t) and p(t, y) over the data set are exactly
  the counts divided by n; no bin size, bandwidth or sampling bias enters. Activations off the
  grid raise (they would make every row its own symbol, I(X;T) = ln n, silently).
* ``kde``: T + Z with Gaussian noise Z of variance ``noise_var`` (Kolchinsky & Tracey 2017, as
  in Saxe et al. 2018): I(X;T) = H(T + Z) - H(Z) and I(T;Y) = H(T + Z) - sum_y p(y) H(T + Z | y),
  each entropy bounded by pairwise distances between the samples (``bound="upper"`` by default).
  The numbers describe the noisy channel, not the deterministic network; they grow as
  ``noise_var`` shrinks.
* ``adaptive_kde`` (Chelombiev et al. 2019): ``kde`` with the noise variance scaled to the
  layer's activity at that epoch: ``noise_var * max|T|^2``, with ``max|T|`` the largest absolute
  activation of the layer (all units and samples). Equivalently the KDE of ``T / max|T|`` with
  ``noise_var``, so the numbers do not change when a layer's activations are rescaled (ReLU
  layers growing over training); for a saturated tanh layer (``max|T| = 1``) it equals ``kde``.
  Provenance: the paper scales the noise to the maximum activity of the layer at each epoch; the
  authors' public code (github.com/ivansche/adaptive_estimators) shows a fixed ``sig = 0.01`` in
  its KDE path, so the exact constant is not recoverable from it. We scale the standard
  deviation with ``max|T|`` (variance with ``max|T|^2``), the choice that makes the estimate
  invariant to the activation scale.
* ``sample_propagation`` (Goldfeld et al. 2019): for a network with Gaussian noise of variance
  ``noise_var`` after the layer (:class:`~infolens.GaussianNoise`; record the module that feeds
  the noise, whose output is the centres f(X)), I(X;T) = h(T) - h(T | X) and I(T;Y) = h(T) -
  sum_y p(y) h(T | y), each h the entropy of a Gaussian mixture on the layer's centres by Monte
  Carlo (:func:`~infolens.gaussian_mixture_entropy`; ``n_mc`` draws, seeded by ``random_state``).
  With ``draws=1`` (default) h(T | X) = h(Z): exact up to the Monte Carlo error for the first
  noisy layer (and for a noise-free network, where it is ``kde`` with the mixture entropy
  computed instead of bounded). A deeper layer of a network with noise in every layer has
  centres that depend on the earlier layers' noise: one recording pass gives I(X, Z_prev; T),
  an upper bound on I(X;T). For the real I(X;T), record the layer ``draws = k`` times per input
  (k forward passes, each with fresh noise upstream) and pass an array of shape (n, k, features)
  to :meth:`~infolens.plane.InformationPlane.record_activations`: h(T | x_i) is then the
  mixture on input i's k centres (Goldfeld et al.'s sample propagation), h(T) the mixture on all
  n k centres. Cost per entropy: ``n_mc x (centres) x d`` multiply-adds, blocked.
* ``ksg``: the Kraskov-Stoegbauer-Grassberger k-NN estimate of I(X;T) with X the input vectors
  and the mixed discrete-continuous k-NN estimate (Gao et al. 2017) of I(T;Y). Caveat: for a
  deterministic map the true I(X;T) is infinite when X is continuous, or H(T) = ln n when X is a
  set of n distinct discrete inputs; every finite number returned is a statement about the
  estimator (its k and sample size), not about the network. Inputs with many ties (binary
  inputs such as the 12-bit task) break the continuity assumption of k-NN estimators.

All functions here return nats; :class:`~infolens.plane.InformationPlane` converts to the
requested units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infolens._units import from_nats
from infolens._validation import (
    _is_tensor,
    as_samples,
    check_choice,
    check_float,
    check_int,
    check_seed,
    fail,
    integer_row_codes,
    to_numpy,
    unique_row_codes,
)
from infolens.estimators._pairwise import as_float64
from infolens.estimators.api import METHODS, Checker, estimate_raw, method_params
from infolens.estimators.binning import quantize_adaptive, quantize_fixed
from infolens.estimators.discrete import entropy_miller_madow, entropy_plugin
from infolens.quantize import check_grid

#: Estimators of the information plane, in the order the docs present them.
ESTIMATORS: tuple[str, ...] = ("binning", "adaptive_binning", "kde", "adaptive_kde",
                               "sample_propagation", "quantized", "ksg", "plugin")
_COUNT_BASED = ("binning", "adaptive_binning", "plugin", "quantized")
_KDE_PARAMS = METHODS["kde"].params
#: Settings of the estimators that exist only in the plane, as (default, checker) pairs like
#: :data:`infolens.estimators.api.METHODS`; the others take the settings of their method there.
_PLANE_PARAMS: dict[str, dict[str, tuple[Any, Checker]]] = {
    "adaptive_kde": dict(_KDE_PARAMS),
    "sample_propagation": {
        "noise_var": _KDE_PARAMS["noise_var"],
        "n_mc": (None, lambda name, value, fn: None if value is None
                 else check_int(name, value, fn, minimum=2)),
        "random_state": (0, check_seed),
        "draws": (1, lambda name, value, fn: check_int(name, value, fn, minimum=1))},
    "quantized": {"bits": (8, lambda name, value, fn: check_grid(value, 0.0, 1.0, fn)[0]),
                  "low": (-1.0, lambda name, value, fn: check_float(name, value, fn)),
                  "high": (1.0, lambda name, value, fn: check_float(name, value, fn))},
}
#: Settings that always appear in an estimator's label (others only when not at their default).
_LABEL_KEYS = {"binning": ("bins",), "adaptive_binning": ("bins",), "kde": ("noise_var",),
               "adaptive_kde": ("noise_var",), "sample_propagation": ("noise_var",),
               "quantized": ("bits",), "ksg": ("k",), "plugin": ()}


@dataclass(frozen=True)
class LayerEstimator:
    """A validated information-plane estimator: its name and its settings, defaults included.

    Build it with :func:`make_layer_estimator`; call :meth:`information` per layer.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The estimator with its settings, e.g. ``"binning(bins=30)"``, as stored in records."""
        defaults = {key: default for key, (default, _) in _params(self.name).items()}
        if self.name == "binning" and self.params.get("bin_width") is not None:
            shown = ["bin_width"]
        else:
            shown = list(_LABEL_KEYS[self.name])
        shown += [key for key, value in self.params.items()
                  if key not in shown and key not in ("bins",) and value != defaults.get(key)]
        parts = [f"{key}={_format(self.params[key])}" for key in shown]
        return f"{self.name}({', '.join(parts)})" if parts else self.name

    def information(self, t: np.ndarray, y: np.ndarray, n_classes: int,
                    x: np.ndarray | None = None) -> tuple[float, float]:
        """``(I(X;T), I(T;Y))`` in nats for one layer.

        Parameters
        ----------
        t : ndarray of shape (n, d)
            The layer's activations (float32 or float64; count-based estimators quantize in
            that precision).
        y : ndarray of shape (n,)
            Integer labels 0..n_classes-1.
        n_classes : int
        x : ndarray of shape (n, d_x), optional
            Input vectors; required by ``ksg`` only.
        """
        if self.name in _COUNT_BASED:
            return _count_information(layer_codes(t, self), y, n_classes,
                                      self.params.get("correction", "plugin"))
        if self.name == "kde":
            return _kde_information(t, y, n_classes, self.params)
        if self.name == "adaptive_kde":
            return _kde_information(_activity_scaled(t), y, n_classes, self.params)
        if self.name == "sample_propagation":
            return _sp_information(t, y, n_classes, self.params)
        if x is None:
            raise fail("x", "LayerEstimator.information", "the input vectors for estimator='ksg'",
                       None)
        return _ksg_information(t, y, x, self.params)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_format(v) for v in value) + ")"
    return str(value)


def make_layer_estimator(estimator: Any, params: Mapping[str, Any], fn: str) -> LayerEstimator:
    """Validate ``estimator`` and its parameters (unknown ones raise) and fill in defaults.

    Parameters follow :data:`infolens.estimators.api.METHODS`: ``bins``, ``bin_width``,
    ``range``, ``correction`` (binning); ``bins``, ``scope``, ``correction`` (adaptive binning);
    ``noise_var``, ``bound`` (kde, adaptive_kde: there ``noise_var`` is relative to
    ``max|T|^2``); ``k``, ``variant``, ``metric`` (ksg); none for plugin; and for the plane-only
    estimators ``noise_var`` (the variance ``sigma^2`` of the network's noise), ``n_mc``,
    ``random_state``, ``draws`` (sample_propagation) and ``bits``, ``low``, ``high``
    (quantized, as given to :class:`~infolens.Quantize`).
    """
    if isinstance(estimator, LayerEstimator):
        return estimator
    name = check_choice("estimator", estimator, ESTIMATORS, fn)
    checked = method_params(name, _params(name), dict(params), fn)
    if name == "quantized":
        check_grid(checked["bits"], checked["low"], checked["high"], fn)
    return LayerEstimator(name, checked)


def _params(name: str) -> Mapping[str, tuple[Any, Checker]]:
    """The (default, checker) pairs of an estimator's settings."""
    return _PLANE_PARAMS[name] if name in _PLANE_PARAMS else METHODS[name].params


def layer_codes(t: np.ndarray, estimator: LayerEstimator) -> np.ndarray:
    """One integer symbol per sample: the row of bin indices of each sample, encoded.

    ``binning`` uses equal bins over the layer's own range (all units share it, as in
    Shwartz-Ziv & Tishby) unless ``range`` or ``bin_width`` is given; ``adaptive_binning`` uses
    equal-mass bins per unit; ``plugin`` takes the activations as already discrete. Codes
    identify rows (equal rows, equal codes) but need not be dense.
    """
    p = estimator.params
    if estimator.name == "plugin":
        return unique_row_codes(t)
    if estimator.name == "quantized":
        return integer_row_codes(grid_levels(t, p["bits"], p["low"], p["high"]))
    if estimator.name == "binning":
        quantized = quantize_fixed(t, p["bins"], p["bin_width"], p["range"])
    else:
        quantized = quantize_adaptive(t, p["bins"], p["scope"])
    return integer_row_codes(quantized)


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


def _count_information(codes: np.ndarray, y: np.ndarray, n_classes: int,
                       correction: str) -> tuple[float, float]:
    """I(X;T) = H(T) and I(T;Y) = H(T) + H(Y) - H(T, Y) from symbol codes, in nats.

    One sort of the joint symbol ``(T, Y)`` gives dense codes for both T and (T, Y) (entropy
    ignores order), which the discrete estimators then count.
    """
    entropy = entropy_miller_madow if correction == "miller_madow" else entropy_plugin
    joint = np.sort(codes * n_classes + y)
    h_ty = entropy(_dense(joint))
    h_t = entropy(_dense(joint // n_classes))
    return h_t, h_t + entropy(y) - h_ty


def _dense(sorted_codes: np.ndarray) -> np.ndarray:
    """Codes 0..K-1 for a sorted array of symbols (equal symbols, equal codes)."""
    new = np.empty(len(sorted_codes), dtype=np.int64)
    new[0] = 0
    np.not_equal(sorted_codes[1:], sorted_codes[:-1], out=new[1:])
    return np.cumsum(new, out=new)


def _kde_information(t: np.ndarray, y: np.ndarray, n_classes: int,
                     params: Mapping[str, Any]) -> tuple[float, float]:
    """H(T+Z) once, then I(X;T) = H(T+Z) - H(Z) and I(T;Y) = H(T+Z) - sum_c p(c) H(T+Z | c).

    Same numbers as ``mi_identity_kde`` and ``mi_kde`` of :mod:`infolens.estimators.kde`, with
    the mixture entropy of the whole layer computed once instead of twice.
    """
    from infolens.estimators.kde import entropy_kde, noise_entropy

    noise_var, bound = params["noise_var"], params["bound"]
    h_t = entropy_kde(t, noise_var=noise_var, bound=bound)[0]
    weights = np.bincount(y, minlength=n_classes) / len(y)
    h_t_given_y = sum(weights[c] * entropy_kde(t[y == c], noise_var=noise_var, bound=bound)[0]
                      for c in range(n_classes) if weights[c] > 0)
    return h_t - noise_entropy(t.shape[1], noise_var), h_t - h_t_given_y


def _activity_scaled(t: np.ndarray) -> np.ndarray:
    """``t / max|t|`` (``t`` itself when it is all zeros): the adaptive KDE's rescaling."""
    peak = float(np.abs(t).max()) if t.size else 0.0
    return t / peak if peak > 0 else t


def _sp_information(t: np.ndarray, y: np.ndarray, n_classes: int,
                    params: Mapping[str, Any]) -> tuple[float, float]:
    """I(X;T) and I(T;Y) by sample propagation, from ``draws`` recordings concatenated per row.

    See :func:`infolens.estimators.sample_propagation.layer_information`; the draws are seeded by
    ``random_state``.
    """
    from infolens.estimators.sample_propagation import layer_information

    draws = params["draws"]
    if t.shape[1] % draws:
        raise fail("activations", "estimator='sample_propagation'",
                   f"{draws} recordings of the layer per input (draws={draws}), shape (n, "
                   f"{draws}, features) or (n, {draws} * features)", t)
    centres = as_float64(t).reshape(t.shape[0], draws, -1)
    info = layer_information(centres, y, n_classes, float(np.sqrt(params["noise_var"])),
                             params["n_mc"], params["random_state"])
    return info["I_XT"], info["I_TY"]


def _ksg_information(t: np.ndarray, y: np.ndarray, x: np.ndarray,
                     params: Mapping[str, Any]) -> tuple[float, float]:
    i_xt = estimate_raw("ksg", x, t, **params)
    i_ty = estimate_raw("mixed", t, y.astype(np.float64)[:, None], k=params["k"])
    return i_xt, i_ty


def layer_matrix(value: Any, name: str, n: int, fn: str, *, keep_float32: bool = False) -> np.ndarray:
    """One layer's activations as a finite float array of shape (n, features).

    Accepts a torch tensor (any device; detached and copied to the CPU) or an array of shape
    (n, ...); trailing dimensions are flattened. The result is float64, or float32 when
    ``keep_float32`` and the activations are float32 (the count-based estimators quantize in the
    network's own precision, which saves a conversion on the hot path).
    """
    if _is_tensor(value) and str(value.dtype) not in ("torch.float32", "torch.float64"):
        value = value.detach().float()  # half, bfloat16 and integer tensors have no numpy twin here
    try:
        arr = to_numpy(value)
    except (TypeError, ValueError, RuntimeError) as err:  # ragged lists, meta tensors
        raise fail(name, fn, "a numeric activation array", value) from err
    if arr.ndim == 0 or arr.shape[0] != n:
        raise fail(name, fn, f"an activation array with {n} rows (one per input sample)", arr)
    arr = arr.reshape(n, -1)
    if keep_float32 and arr.dtype == np.float32 and arr.shape[1] > 0:
        if not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise fail(name, fn, "finite (no NaN or inf)", arr, got=f"{bad} non-finite values")
        return arr
    return as_samples(arr, name, fn)


def plane_records(activations: Mapping[str, Any], y: np.ndarray, n_classes: int,
                  estimator: LayerEstimator, epoch: int, *, units: str, fn: str,
                  x: np.ndarray | None = None, run: str = "run", seed: int = 0,
                  activation: str = "", **tags: Any) -> list[dict[str, Any]]:
    """Records ``I_XT`` and ``I_TY`` of each layer of ``activations`` (in mapping order)."""
    label = estimator.label
    records = []
    for layer, value in activations.items():
        t = layer_matrix(value, f"activations[{layer!r}]", len(y), fn,
                         keep_float32=estimator.name in _COUNT_BASED)
        i_xt, i_ty = estimator.information(t, y, n_classes, x)
        for quantity, nats in (("I_XT", i_xt), ("I_TY", i_ty)):
            records.append({"run": run, "seed": seed, "activation": activation, "epoch": epoch,
                            "layer": str(layer), "quantity": quantity, "estimator": label,
                            "value": float(from_nats(nats, units)), "units": units, **tags})
    return records


__all__ = ["ESTIMATORS", "LayerEstimator", "layer_codes", "layer_matrix", "make_layer_estimator",
           "plane_records"]
