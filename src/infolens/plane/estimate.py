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
    fail,
    to_numpy,
)
from infolens.estimators.api import method_params
from infolens.estimators.discrete import entropy_miller_madow, entropy_plugin
from infolens.estimators.result import Estimate
from infolens.plane._minibatch import MinibatchMean, SharedInputs
from infolens.plane.estimators import QUANTITIES, TABLE, PlaneEstimator, entry

#: Estimators of the information plane, in the order the docs present them.
ESTIMATORS: tuple[str, ...] = tuple(TABLE)
#: ``estimator="auto"``: per layer and quantity, by :func:`auto_choice`.
AUTO = "auto"
#: Bins of the binning that ``"auto"`` tries first.
AUTO_BINS = 30
#: ``"auto"`` keeps binning while the occupied cells are at most this fraction of the samples
#: (then H(T_q) <= log2 n - 2 bits, clear of the ``near_log_n`` margin of 1 nat = 1.44 bits).
AUTO_MAX_CELLS = 0.25


@dataclass(frozen=True)
class LayerEstimator:
    """A validated information-plane estimator: its name and its settings, defaults included.

    Build it with :func:`make_layer_estimator`; call :meth:`information` per layer. What it can
    do (``needs_inputs``, ``costly``, ``consumes``, ``quantities``) is its entry of
    :data:`infolens.plane.estimators.TABLE`.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> PlaneEstimator:
        """The estimator's row of :data:`~infolens.plane.estimators.TABLE`."""
        return TABLE[self.name]

    @property
    def label(self) -> str:
        """The estimator with its settings, e.g. ``"binning(bins=30)"``, as stored in records."""
        return self.spec.label(self.params)

    @property
    def caveat(self) -> str:
        """What a report says about this estimator's numbers (``""`` for nothing)."""
        return self.spec.caveat(self.params)

    def codes(self, t: np.ndarray) -> np.ndarray:
        """One integer symbol per sample (count-based estimators only; see :func:`layer_codes`)."""
        if self.spec.to_codes is None:
            raise fail("estimator", "LayerEstimator.codes", "a count-based estimator ("
                       + ", ".join(n for n, e in TABLE.items() if e.to_codes is not None) + ")", self.name)
        return self.spec.to_codes(t, self.params)

    def information(self, t: np.ndarray, y: np.ndarray, n_classes: int,
                    x: np.ndarray | None = None, *,
                    quantities: tuple[str, ...] = QUANTITIES) -> tuple[float, float]:
        """``(I(X;T), I(T;Y))`` in nats for one layer (NaN for a quantity not in ``quantities``).

        Parameters
        ----------
        t : ndarray of shape (n, d)
            The layer's activations (float32 or float64; count-based estimators quantize in
            that precision).
        y : ndarray of shape (n,)
            Integer labels 0..n_classes-1.
        n_classes : int
        x : ndarray of shape (n, d_x), optional
            Input vectors; required by estimators that read them (``needs_inputs``: ksg).
        quantities : tuple of str
            The quantities to compute, a subset of this estimator's ``quantities``.
        """
        values, _ = self.measure(t, y, n_classes, x, quantities=quantities)
        return values.get("I_XT", np.nan), values.get("I_TY", np.nan)

    def measure(self, t: np.ndarray, y: np.ndarray, n_classes: int, x: np.ndarray | None = None, *,
                quantities: tuple[str, ...] = QUANTITIES, inputs: SharedInputs | None = None,
                ) -> tuple[dict[str, float], dict[str, list[str]]]:
        """``({quantity: nats}, {quantity: flags})`` for one layer: :meth:`information` and the
        saturation flags of :func:`infolens.plane.flags.layer_flags` (the shuffled-label
        baseline and the all-distinct check for count-based estimators, from the same codes; the
        shuffled-label baseline of an estimator that computes it, kept among the values as
        :data:`~infolens.plane.flags.SHUFFLED_KEY`),
        after the estimator's own flags when its entry returns an :class:`~infolens.Estimate`
        (in nats) for a quantity (``v_information``'s ``overfit``, ``at_chance``, ...). A
        ``"minibatch"`` estimator is the mean over the minibatches of
        :class:`~infolens.plane.stream.MinibatchMean`, reading the inputs of each minibatch from
        ``inputs`` (shared by the layers of a recording) when given."""

        if self.spec.needs_inputs and x is None:
            raise fail("x", "LayerEstimator.information",
                       f"the input vectors for estimator={self.name!r}", None)
        if self.spec.to_codes is not None:
            return self.measure_codes(self.codes(t), y, n_classes, quantities=quantities)
        if self.spec.consumes == "minibatch":
            mean = MinibatchMean(self, y, n_classes, x, quantities, inputs=inputs)
            mean.add(t, np.arange(len(t)))
            return self.flagged(mean.values(), y, n_classes, quantities)
        values = self.spec.information(t, y, n_classes, x, self.params, quantities)
        return self.flagged(values, y, n_classes, quantities)

    def measure_codes(self, codes: np.ndarray, y: np.ndarray, n_classes: int, *,
                      quantities: tuple[str, ...] = QUANTITIES
                      ) -> tuple[dict[str, float], dict[str, list[str]]]:
        """:meth:`measure` of a count-based estimator from its codes (one integer symbol per
        sample, equal symbols for equal quantized rows; any labelling of the symbols)."""
        correction = self.params.get("correction", "plugin")
        i_xt, i_ty = count_information(codes, y, n_classes, correction)
        return self.flagged({"I_XT": i_xt, "I_TY": i_ty}, y, n_classes, quantities, codes=codes)

    def flagged(self, values: Mapping[str, Any], y: np.ndarray, n_classes: int,
                quantities: tuple[str, ...], *,
                codes: np.ndarray | None = None) -> tuple[dict[str, float], dict[str, list[str]]]:
        """``values`` (nats, or Estimates in nats) of ``quantities`` with their flags (see
        :meth:`measure`)."""
        from infolens.plane.flags import SHUFFLED_KEY, layer_flags

        own = {q: list(values[q].flags) if isinstance(values[q], Estimate) else [] for q in quantities}
        shuffled = values.get(SHUFFLED_KEY) if "I_TY" in quantities else None
        values = {q: float(values[q].value if isinstance(values[q], Estimate) else values[q])
                  for q in quantities}
        correction = self.params.get("correction", "plugin")
        baseline = shuffled if codes is None else (
            lambda labels: count_information(codes, labels, n_classes, correction)[1])
        found = layer_flags(values, y, n_classes, codes=codes, baseline=baseline)
        if shuffled is not None:
            values[SHUFFLED_KEY] = float(shuffled)
        return values, {q: own[q] + [f for f in found[q] if f not in own[q]] for q in quantities}


def make_layer_estimator(estimator: Any, params: Mapping[str, Any], fn: str) -> LayerEstimator:
    """Validate ``estimator`` and its parameters (unknown ones raise) and fill in defaults.

    Parameters follow :data:`infolens.estimators.api.METHODS`: ``bins``, ``bin_width``,
    ``range``, ``correction`` (binning); ``bins``, ``scope``, ``correction`` (adaptive binning);
    ``noise_var``, ``bound`` (kde, adaptive_kde: there ``noise_var`` is relative to
    ``max|T|^2``); ``k``, ``variant``, ``metric`` (ksg); none for plugin; and for the plane-only
    estimators ``noise_var`` (the variance ``sigma^2`` of the network's noise), ``n_mc``,
    ``random_state``, ``draws`` (sample_propagation) and ``bits``, ``low``, ``high``
    (quantized, as given to :class:`~infolens.Quantize`). The table entry of each estimator
    (:data:`infolens.plane.estimators.TABLE`) holds these settings and their checks.
    """
    if isinstance(estimator, LayerEstimator):
        return estimator
    spec = entry(estimator, fn)
    checked = method_params(spec.name, spec.params, dict(params), fn)
    if spec.check is not None:
        spec.check(checked, fn)
    return LayerEstimator(spec.name, checked)


@dataclass(frozen=True)
class PlaneEstimators:
    """The estimator of each quantity of a plane: one for both, one per quantity, or ``"auto"``.

    Build it with :func:`make_plane_estimators`. ``label`` is the ``estimator`` field of every
    record (the store's join key, the same for I(X;T) and I(T;Y) so their curves pair up): the
    estimator's own label when one estimator makes both numbers (unchanged from a single
    estimator), ``"I_XT: <label>; I_TY: <label>"`` for two, ``"auto"`` for the automatic choice.
    When the two differ, each record also carries ``estimated_by``: the label of the estimator
    that made that number.
    """

    by_quantity: Mapping[str, LayerEstimator] = field(default_factory=dict)
    auto: bool = False

    @property
    def label(self) -> str:
        if self.auto:
            return AUTO
        labels = {q: e.label for q, e in self.by_quantity.items()}
        if len(set(labels.values())) == 1:
            return labels["I_XT"]
        return "; ".join(f"{q}: {label}" for q, label in labels.items())

    @property
    def single(self) -> LayerEstimator | None:
        """The one estimator of both quantities, or None (two of them, or ``"auto"``)."""
        if self.auto or self.by_quantity["I_XT"] != self.by_quantity["I_TY"]:
            return None
        return self.by_quantity["I_XT"]

    @property
    def needs_inputs(self) -> bool:
        return self.auto or any(e.spec.needs_inputs for e in self.by_quantity.values())

    def for_layer(self, t: np.ndarray) -> dict[str, LayerEstimator]:
        """The estimator of each quantity on the layer ``t`` (for ``"auto"``: :func:`auto_choice`)."""
        return auto_choice(t) if self.auto else dict(self.by_quantity)


def make_plane_estimators(estimator: Any, params: Mapping[str, Any], fn: str) -> PlaneEstimators:
    """Validate a plane's ``estimator``: a name, a ``{"estimator": name, **settings}`` dict or a
    :class:`LayerEstimator` (with ``params``) for both quantities, ``"auto"``, or a mapping
    ``{"I_XT": ..., "I_TY": ...}`` whose values are a name, a ``{"estimator": name, **settings}``
    dict or a :class:`LayerEstimator` (then ``params`` must be empty: each quantity carries its
    own settings)."""
    if isinstance(estimator, PlaneEstimators):
        return estimator
    if isinstance(estimator, str) and estimator == AUTO:
        if params:
            raise fail(next(iter(params)), fn, "no estimator setting with estimator='auto' (it "
                       "chooses the estimators and their settings)", params[next(iter(params))])
        return PlaneEstimators(auto=True)
    if isinstance(estimator, Mapping) and "estimator" in estimator:  # one, with its settings
        settings = dict(estimator)
        name = settings.pop("estimator")
        clash = sorted(set(settings) & set(params))
        if clash:
            raise fail(clash[0], fn, "given once, in estimator= or as a keyword", params[clash[0]])
        estimator, params = name, {**settings, **params}
    if not isinstance(estimator, Mapping):
        one = make_layer_estimator(estimator, params, fn)
        if one.spec.quantities != QUANTITIES:
            raise fail("estimator", fn, "an estimator of both I(X;T) and I(T;Y), or a mapping "
                       f"{{'I_XT': ..., 'I_TY': ...}} ({one.name} estimates "
                       f"{' and '.join(one.spec.quantities)} only, e.g. "
                       f"estimator={{'I_XT': 'binning', 'I_TY': {one.name!r}}})", one.name)
        return PlaneEstimators({q: one for q in QUANTITIES})
    if params:
        key = next(iter(params))
        raise fail(key, fn, "a setting inside the per-quantity estimator, e.g. estimator={'I_XT': "
                   "{'estimator': 'kde', 'noise_var': 0.1}, 'I_TY': 'binning'}", params[key])
    if set(estimator) != set(QUANTITIES):
        raise fail("estimator", fn, "a mapping with the keys 'I_XT' and 'I_TY'",
                   got=f"keys {sorted(map(str, estimator))}")
    out = {}
    for quantity in QUANTITIES:
        value = estimator[quantity]
        if isinstance(value, Mapping):
            settings = dict(value)
            value = make_layer_estimator(settings.pop("estimator", None), settings, fn)
        else:
            value = make_layer_estimator(value, {}, fn)
        if quantity not in value.spec.quantities:
            raise fail(f"estimator[{quantity!r}]", fn, "an estimator of " + quantity + " (" + ", ".join(
                n for n, e in TABLE.items() if quantity in e.quantities) + ")", value.name)
        out[quantity] = value
    return PlaneEstimators(out)


def auto_choice(t: np.ndarray) -> dict[str, LayerEstimator]:
    """The estimators ``estimator="auto"`` uses on the layer ``t``, per quantity.

    Rule: ``binning(bins=30)`` over the layer's own range when it leaves the layer well below
    saturation (occupied cells at most :data:`AUTO_MAX_CELLS` of the samples, so the plug-in
    entropy stays at least 2 bits below log2 n); otherwise (never binning on a saturated layer)
    the matrix-based Renyi information ``matrix_renyi`` at its defaults (alpha 1.01, ``"knn"``
    width, batches of 200; token-id inputs one-hot per position) for I(X;T), which keeps telling
    saturated layers apart where the KDE bound sits at log2 n, and the usable information of a
    held-out linear probe (``v_information``) for I(T;Y), which on a saturated layer stays about
    0 where no label is decodable instead of reading H(Y). So ``"auto"`` reads the inputs X. The
    records name the choice in ``estimated_by``.
    """
    binning = make_layer_estimator("binning", {"bins": AUTO_BINS}, "auto")
    cells = len(np.unique(binning.codes(t)))
    if cells <= AUTO_MAX_CELLS * len(t):
        return {q: binning for q in QUANTITIES}
    return {"I_XT": make_layer_estimator("matrix_renyi", {}, "auto"),
            "I_TY": make_layer_estimator("v_information", {}, "auto")}


def layer_codes(t: np.ndarray, estimator: LayerEstimator) -> np.ndarray:
    """One integer symbol per sample: the row of bin indices of each sample, encoded.

    ``binning`` uses equal bins over the layer's own range (all units share it, as in
    Shwartz-Ziv & Tishby) unless ``range`` or ``bin_width`` is given; ``adaptive_binning`` uses
    equal-mass bins per unit; ``plugin`` takes the activations as already discrete;
    ``quantized`` reads the levels of its grid. Codes identify rows (equal rows, equal codes)
    but need not be dense.
    """
    return estimator.codes(t)


def count_information(codes: np.ndarray, y: np.ndarray, n_classes: int,
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
        if not (np.isfinite(arr.min()) and np.isfinite(arr.max())):  # NaN propagates; no boolean copy
            bad = int((~np.isfinite(arr)).sum())
            raise fail(name, fn, "finite (no NaN or inf)", arr, got=f"{bad} non-finite values")
        return arr
    return as_samples(arr, name, fn)


def grouped(chosen: Mapping[str, LayerEstimator]) -> list[tuple[LayerEstimator, tuple[str, ...]]]:
    """Each distinct estimator of ``chosen`` with the quantities it makes (one pass per estimator)."""
    groups: dict[str, tuple[LayerEstimator, list[str]]] = {}
    for quantity, one in chosen.items():
        groups.setdefault(one.label, (one, []))[1].append(quantity)
    return [(one, tuple(quantities)) for one, quantities in groups.values()]


def measure_group(one: LayerEstimator, wanted: tuple[str, ...], t: np.ndarray, y: np.ndarray,
                  n_classes: int, x: np.ndarray | None, inputs: SharedInputs | None = None,
                  ) -> tuple[dict[str, float], dict[str, list[str]]]:
    """:meth:`LayerEstimator.measure` of the quantities ``wanted`` on the rows ``t`` (with their
    labels ``y`` and inputs ``x``, or ``inputs`` shared by the layers): sample estimators compute
    in float64, count-based ones quantize the layer in the precision it was recorded in, and
    minibatch ones convert one minibatch at a time."""
    layer_t = t if one.spec.consumes in ("codes", "minibatch") else t.astype(np.float64, copy=False)
    return one.measure(layer_t, y, n_classes, x, quantities=wanted, inputs=inputs)


class RecordMaker:
    """Builds the records of a recording, layer by layer, and warns once about the flagged ones.

    ``run``, ``seed``, ``activation`` and ``tags`` are copied into every record; ``subsample``
    (the size of the seeded subsample the ``"sample"`` estimators read, None for all rows) is
    added to the records those estimators made."""

    def __init__(self, plane: PlaneEstimators, epoch: int, units: str, fn: str, *,
                 subsample: int | None = None, run: str = "run", seed: int = 0, activation: str = "",
                 **tags: Any) -> None:
        self.plane, self.epoch, self.units, self.fn = plane, epoch, units, fn
        self.subsample, self.tags = subsample, tags
        self.ids = {"run": run, "seed": seed, "activation": activation}
        self.records: list[dict[str, Any]] = []
        self._flagged: dict[str, dict[str, list[str]]] = {}

    def add(self, layer: str, chosen: Mapping[str, LayerEstimator], nats: Mapping[str, float],
            flags: Mapping[str, list[str]]) -> None:
        """The two records of ``layer`` from its values (nats) and flags (and the shuffled-label
        baseline of I(T;Y), :data:`~infolens.plane.flags.SHUFFLED_FIELD`, when it was computed)."""
        from infolens.plane.flags import SHUFFLED_FIELD, SHUFFLED_KEY

        for quantity in QUANTITIES:
            record = {**self.ids, "epoch": self.epoch, "layer": str(layer), "quantity": quantity,
                      "estimator": self.plane.label, "value": float(from_nats(nats[quantity], self.units)),
                      "units": self.units, "flags": ",".join(flags[quantity]), **self.tags}
            if self.plane.single is None:
                record["estimated_by"] = chosen[quantity].label
            if quantity == "I_TY" and SHUFFLED_KEY in nats:
                record[SHUFFLED_FIELD] = float(from_nats(nats[SHUFFLED_KEY], self.units))
            if self.subsample is not None and chosen[quantity].spec.consumes == "sample":
                record["subsample"] = self.subsample
            self.records.append(record)
            if flags[quantity]:
                self._flagged.setdefault(str(layer), {})[quantity] = list(flags[quantity])

    def finish(self) -> list[dict[str, Any]]:
        """The records, after one :class:`~infolens.InfoLensWarning` naming the flagged ones."""
        from infolens.plane.flags import warn_flags

        warn_flags(self._flagged, self.plane.label, self.fn)
        return self.records


def as_plane_estimators(estimator: LayerEstimator | PlaneEstimators) -> PlaneEstimators:
    """``estimator`` for both quantities, unless it already is a :class:`PlaneEstimators`."""
    if isinstance(estimator, PlaneEstimators):
        return estimator
    return PlaneEstimators({q: estimator for q in QUANTITIES})


def plane_records(activations: Mapping[str, Any], y: np.ndarray, n_classes: int,
                  estimator: LayerEstimator | PlaneEstimators, epoch: int, *, units: str, fn: str,
                  x: np.ndarray | None = None, rows: np.ndarray | None = None, run: str = "run",
                  seed: int = 0, activation: str = "", **tags: Any) -> list[dict[str, Any]]:
    """Records ``I_XT`` and ``I_TY`` of each layer of ``activations`` (in mapping order).

    Every record carries ``flags`` (comma-separated, ``""`` for none; see
    :mod:`infolens.plane.flags`), and ``estimated_by`` when the quantities have different
    estimators or ``estimator`` is ``"auto"``. Flagged numbers are also reported in one
    :class:`~infolens.InfoLensWarning` per call. ``rows`` (sorted sample indices): the subsample
    that ``"sample"`` estimators read (their records carry its size in ``subsample``); the
    others read every row.
    """
    plane = as_plane_estimators(estimator)
    maker = RecordMaker(plane, epoch, units, fn, subsample=None if rows is None else len(rows),
                        run=run, seed=seed, activation=activation, **tags)
    inputs = SharedInputs(x, keep=None)  # what minibatch estimators read of X, for every layer
    for layer, value in activations.items():
        t = layer_matrix(value, f"activations[{layer!r}]", len(y), fn, keep_float32=True)
        chosen = plane.for_layer(t)
        nats: dict[str, float] = {}
        flags: dict[str, list[str]] = {}
        for one, wanted in grouped(chosen):
            if rows is not None and one.spec.consumes == "sample":
                values, found = measure_group(one, wanted, t[rows], y[rows], n_classes,
                                              None if x is None else x[rows])
            else:
                values, found = measure_group(one, wanted, t, y, n_classes, x, inputs)
            nats.update(values)
            flags.update(found)
        maker.add(str(layer), chosen, nats, flags)
    return maker.finish()


__all__ = ["AUTO", "ESTIMATORS", "LayerEstimator", "PlaneEstimators", "RecordMaker", "as_plane_estimators",
           "auto_choice", "grouped", "layer_codes", "layer_matrix", "make_layer_estimator",
           "make_plane_estimators", "measure_group", "plane_records"]
