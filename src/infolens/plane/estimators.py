"""The table of information-plane estimators: one entry per estimator, every fact about it there.

Each :class:`PlaneEstimator` entry declares its settings (default and checker, like
:data:`infolens.estimators.api.METHODS`), a cross-setting check, the quantities it estimates,
its capabilities (``needs_inputs``: it reads the input vectors X; ``costly``: O(n^2) or worse per
layer, so experiments run it on a subset of epochs; ``consumes``: how it reads a layer, which a
streaming recorder uses), the caveat a report prints, and how its label (the store's join key)
is written. :class:`LayerEstimator` (a name plus validated settings) reads everything from here,
so no caller compares estimator names.

``consumes`` is one of

* ``"codes"``: one integer symbol per sample (:meth:`PlaneEstimator.codes`); I(X;T) and I(T;Y)
  are counts of symbols and of (symbol, label) pairs, so a streaming recorder
  (:mod:`infolens.plane.stream`) quantizes a layer batch by batch and keeps one key per sample.
  An entry with ``levels`` (its quantizer, given the layer's value range when ``needs_range``
  says it uses one: ``binning`` without ``range``) streams; one without (``adaptive_binning``,
  whose edges are quantiles of the whole layer) is given the whole layer;
* ``"sample"``: the whole layer (n, features) at once, or the seeded ``subsample`` of its rows
  that :class:`~infolens.plane.InformationPlane` is given;
* ``"minibatch"``: ``information`` reads one minibatch of rows at a time, the sample indices of
  each given by the entry's ``minibatches(n, params)`` (one minibatch of all n rows without),
  and each quantity is the mean of its minibatch values
  (:class:`~infolens.plane._minibatch.MinibatchMean`; the same minibatches whether the layer is
  whole or streamed). The matrix-based Renyi functional of Wickstrom et al. 2019 evaluates
  seeded batches of 200: a streaming recorder runs the model over the samples in the order of
  those batches (:func:`~infolens.plane._minibatch.reading_order`), so one batch of rows waits
  at a time.

``matrix_renyi`` (:mod:`infolens.estimators.matrix_renyi`): I(X;T) from the Gram matrices of
the flattened inputs X and of the layer, I(T;Y) from the layer's and the one-hot label kernel's,
``S(A) + S(B) - S(A o B)`` with Renyi order ``alpha``, averaged over seeded batches of
``batch_size`` (:func:`~infolens.estimators.matrix_renyi.seeded_batches`, its ``minibatches``;
``None``: one batch of all n samples, O(n^3) per layer). In the plane its kernel width defaults
to ``"knn"`` (the mean distance to the 50th neighbour, per batch and variable, as Wickstrom et
al.'s experiments choose it): layers are not of unit scale, and the
Silverman rule of :func:`infolens.matrix_renyi_entropy` read 0.15 bits of I(X;T) on every layer
of an untrained digits CNN (all samples inside one kernel width) where ``"knn"`` reads 3.9.
Token ids reach it (and every ``needs_inputs`` estimator) one-hot per position
(:meth:`infolens.model_inputs.ModelInputs.vectors`): a Gram matrix of id numbers would measure
how far apart the ids are numbered.

Its I(T;Y) has a finite-batch upward bias: in batches of 200 a random 64-unit layer independent
of 4 balanced labels reads about 1.1 of 2 bits, and the shuffled-label I(T;Y) the same, so it
carries ``shuffled_baseline`` (:mod:`infolens.plane.flags`; computed per batch, labels permuted,
about 1.1-1.2 times the time, ``benchmarks/plane_baselines.py``), and the record carries the
baseline as ``shuffled_I_TY``. There is no ``debias`` (estimate minus baseline): the functional
is not additive in its bias (S(T o Y) of dependent T and Y is not S(T o Y') of a shuffled Y'
plus the information), so the difference estimates no defined quantity, can go negative, and
one permutation is one draw of the null, not its mean. Read the flag and the two numbers.

``v_information`` estimates I(T;Y) only (the usable information of a held-out probe,
:func:`infolens.v_information`): pair it with an estimator of I(X;T) in a per-quantity mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from infolens._validation import (
    check_choice,
    check_float,
    check_int,
    check_seed,
    integer_row_codes,
    unique_row_codes,
)
from infolens.estimators.api import METHODS, Checker
from infolens.estimators.binning import quantize_adaptive, quantize_fixed
from infolens.estimators.matrix_renyi import (
    check_alpha,
    check_batch_size,
    check_kernel_width,
    input_kernel,
    plane_information,
    seeded_batches,
)
from infolens.plane._layer_information import activity_scaled, grid_levels, kde_information, sp_information
from infolens.plane.flags import BASELINE_SEED, SHUFFLED_KEY
from infolens.quantize import check_grid

#: The two quantities of a plane record.
QUANTITIES: tuple[str, ...] = ("I_XT", "I_TY")
#: How an estimator reads a layer (see the module notes).
CONSUMES: tuple[str, ...] = ("codes", "sample", "minibatch")

#: ``information(t, y, n_classes, x, params, quantities) -> {quantity: nats}`` (a value may be an
#: :class:`~infolens.Estimate` in nats: its flags then join the record's).
Information = Callable[[np.ndarray, np.ndarray, int, "np.ndarray | None", Mapping[str, Any],
                        tuple[str, ...]], dict[str, float]]


@dataclass(frozen=True)
class PlaneEstimator:
    """One row of :data:`TABLE` (see the module notes for the fields)."""

    name: str
    params: Mapping[str, tuple[Any, Checker]]
    #: None for ``consumes == "codes"`` (the counts of :meth:`to_codes` give both quantities).
    information: Information | None
    consumes: str = "sample"
    quantities: tuple[str, ...] = QUANTITIES
    needs_inputs: bool = False
    costly: bool = False
    #: Settings always shown in the label (others only when not at their default; ``bins`` never).
    label_keys: Callable[[Mapping[str, Any]], tuple[str, ...]] = lambda params: ()
    #: Extra check across settings, after each setting passed its own checker.
    check: Callable[[Mapping[str, Any], str], None] | None = None
    #: ``codes(t, params) -> int64 array (n,)`` for ``consumes == "codes"``.
    to_codes: Callable[[np.ndarray, Mapping[str, Any]], np.ndarray] | None = None
    #: ``levels(t, params, value_range) -> (n, d) array`` for streaming ``consumes == "codes"``:
    #: the quantized rows of a batch (equal rows, equal symbols, in every batch), where
    #: ``value_range`` is the (min, max) of the whole layer when ``needs_range(params)``.
    levels: Callable[[np.ndarray, Mapping[str, Any], tuple[float, float] | None], np.ndarray] | None = None
    needs_range: Callable[[Mapping[str, Any]], bool] = lambda params: False
    #: ``minibatches(n, params) -> [sample indices, ...]`` for ``consumes == "minibatch"``: every
    #: sample in exactly one minibatch (None: one minibatch of all n samples, in order).
    minibatches: Callable[[int, Mapping[str, Any]], list[np.ndarray]] | None = None
    #: ``prepare_inputs(x_rows, params)``: what ``information`` reads of the inputs of one
    #: minibatch (matrix Renyi: their Gram matrix), computed once for every layer of a recording
    #: (:class:`~infolens.plane._minibatch.SharedInputs`); None: the input rows themselves.
    prepare_inputs: Callable[[np.ndarray, Mapping[str, Any]], Any] | None = None
    #: ``caveat(params) -> str``: what a report says about the numbers ("" for nothing).
    caveat: Callable[[Mapping[str, Any]], str] = lambda params: ""

    @property
    def fixed_width(self) -> bool:
        """Whether the estimator can bin at a fixed width (a ``bin_width`` setting: ``binning``),
        the estimator of Shwartz-Ziv & Tishby 2017 and Saxe et al. 2018."""
        return "bin_width" in self.params

    @property
    def defaults(self) -> dict[str, Any]:
        return {key: default for key, (default, _) in self.params.items()}

    def label(self, params: Mapping[str, Any]) -> str:
        """``name(key=value, ...)``: the label key settings, then every other non-default one."""
        shown = list(self.label_keys(params))
        defaults = self.defaults
        shown += [key for key, value in params.items()
                  if key not in shown and key != "bins" and value != defaults.get(key)]
        parts = [f"{key}={_format(params[key])}" for key in shown]
        return f"{self.name}({', '.join(parts)})" if parts else self.name


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_format(v) for v in value) + ")"
    return str(value)


# ---------------------------------------------------------------- count-based estimators
def _binning_levels(t: np.ndarray, p: Mapping[str, Any], value_range: Any = None) -> np.ndarray:
    return quantize_fixed(t, p["bins"], p["bin_width"], p["range"] if p["range"] is not None else value_range)


def _binning_codes(t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    return integer_row_codes(_binning_levels(t, p))


def _adaptive_codes(t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    return integer_row_codes(quantize_adaptive(t, p["bins"], p["scope"]))


def _plugin_codes(t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    return unique_row_codes(t)


def _plugin_levels(t: np.ndarray, p: Mapping[str, Any], value_range: Any = None) -> np.ndarray:
    return t + t.dtype.type(0)  # the rows as they are; + 0 makes -0.0 equal to 0.0, as np.unique does


def _quantized_levels(t: np.ndarray, p: Mapping[str, Any], value_range: Any = None) -> np.ndarray:
    return grid_levels(t, p["bits"], p["low"], p["high"])


def _quantized_codes(t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    return integer_row_codes(_quantized_levels(t, p))


def _count_entry(name: str, params: Mapping[str, tuple[Any, Checker]], to_codes: Callable[..., np.ndarray],
                 **fields: Any) -> PlaneEstimator:
    """A count-based entry: :class:`~infolens.plane.estimate.LayerEstimator` counts its codes."""
    return PlaneEstimator(name, params, None, consumes="codes", to_codes=to_codes, **fields)


def _binning_caveat(params: Mapping[str, Any]) -> str:
    if params.get("bin_width") is None:
        return ""
    return (f"The bins are {params['bin_width']:.4g} wide, the width of 30 equal bins over "
            "tanh's range [-1, 1] as in Shwartz-Ziv & Tishby (2017), and the same width is used for ReLU, "
            "whose activations are unbounded. Thirty bins spread over each layer's own range instead "
            "widen as ReLU activations grow, which reads as compression (see the sensitivity table).")


# ---------------------------------------------------------------- sample estimators
def _kde(t: np.ndarray, y: np.ndarray, n_classes: int, x: Any, params: Mapping[str, Any],
         quantities: tuple[str, ...]) -> dict[str, float]:
    i_xt, i_ty, shuffled = kde_information(t, y, n_classes, params)
    return {"I_XT": i_xt, "I_TY": i_ty, SHUFFLED_KEY: shuffled}


def _adaptive_kde(t: np.ndarray, y: np.ndarray, n_classes: int, x: Any, params: Mapping[str, Any],
                  quantities: tuple[str, ...]) -> dict[str, float]:
    return _kde(activity_scaled(t), y, n_classes, x, params, quantities)


def _sample_propagation(t: np.ndarray, y: np.ndarray, n_classes: int, x: Any, params: Mapping[str, Any],
                        quantities: tuple[str, ...]) -> dict[str, float]:
    i_xt, i_ty, shuffled = sp_information(t, y, n_classes, params)
    return {"I_XT": i_xt, "I_TY": i_ty, SHUFFLED_KEY: shuffled}


def _ksg(t: np.ndarray, y: np.ndarray, n_classes: int, x: Any, params: Mapping[str, Any],
         quantities: tuple[str, ...]) -> dict[str, float]:
    from infolens.estimators.api import estimate_raw

    out = {}
    if "I_XT" in quantities:
        out["I_XT"] = estimate_raw("ksg", x, t, **params)
    if "I_TY" in quantities:
        out["I_TY"] = estimate_raw("mixed", t, y.astype(np.float64)[:, None], k=params["k"])
    return out


def _v_information(t: np.ndarray, y: np.ndarray, n_classes: int, x: Any, params: Mapping[str, Any],
                   quantities: tuple[str, ...]) -> dict[str, float]:
    from infolens.estimators.usable import v_information

    return {"I_TY": v_information(t, y, units="nats", **params)}  # its flags join the record's


def _matrix_renyi(t: np.ndarray, y: np.ndarray, n_classes: int, x: Any, params: Mapping[str, Any],
                  quantities: tuple[str, ...]) -> dict[str, float]:
    values, shuffled = plane_information(t, y, x, dict(params), quantities, shuffle_seed=BASELINE_SEED)
    return values if shuffled is None else {**values, SHUFFLED_KEY: shuffled}


def _matrix_renyi_caveat(params: Mapping[str, Any]) -> str:
    batch = params["batch_size"]
    cap = "log2 n" if batch is None else f"log2 {batch} = {np.log2(batch):.2f} bits (the batch size)"
    return (f"I(X;T) and I(T;Y) are matrix-based Renyi alpha-informations (alpha = {params['alpha']:g}; "
            "Sanchez Giraldo et al. 2014, Wickstrom et al. 2019) of Gaussian Gram matrices, not Shannon "
            f"information: each lies in [0, {cap}] and depends on the kernel width "
            f"({params['kernel_width']!r}).")


def _positive_c(name: str, value: Any, fn: str) -> Any:
    if isinstance(value, str) and value == "auto":
        return value
    return check_float(name, value, fn, minimum=0.0, strict_minimum=True)


_KDE_PARAMS = METHODS["kde"].params


def _check_quantized(params: Mapping[str, Any], fn: str) -> None:
    check_grid(params["bits"], params["low"], params["high"], fn)


#: Every plane estimator, in the order the docs present them.
TABLE: dict[str, PlaneEstimator] = {entry.name: entry for entry in (
    _count_entry("binning", METHODS["binning"].params, _binning_codes, levels=_binning_levels,
                 needs_range=lambda p: p["range"] is None,
                 label_keys=lambda p: ("bin_width",) if p.get("bin_width") is not None else ("bins",),
                 caveat=_binning_caveat),
    _count_entry("adaptive_binning", METHODS["adaptive_binning"].params, _adaptive_codes,
                 label_keys=lambda p: ("bins",)),
    PlaneEstimator("kde", _KDE_PARAMS, _kde, costly=True, label_keys=lambda p: ("noise_var",)),
    PlaneEstimator("adaptive_kde", dict(_KDE_PARAMS), _adaptive_kde, costly=True,
                   label_keys=lambda p: ("noise_var",)),
    PlaneEstimator("sample_propagation", {
        "noise_var": _KDE_PARAMS["noise_var"],
        "n_mc": (None, lambda name, value, fn: None if value is None
                 else check_int(name, value, fn, minimum=2)),
        "random_state": (0, check_seed),
        "draws": (1, lambda name, value, fn: check_int(name, value, fn, minimum=1))},
        _sample_propagation, costly=True, label_keys=lambda p: ("noise_var",)),
    _count_entry("quantized", {
        "bits": (8, lambda name, value, fn: check_grid(value, 0.0, 1.0, fn)[0]),
        "low": (-1.0, lambda name, value, fn: check_float(name, value, fn)),
        "high": (1.0, lambda name, value, fn: check_float(name, value, fn))},
        _quantized_codes, levels=_quantized_levels, label_keys=lambda p: ("bits",),
        check=_check_quantized),
    PlaneEstimator("ksg", METHODS["ksg"].params, _ksg, needs_inputs=True, costly=True,
                   label_keys=lambda p: ("k",)),
    _count_entry("plugin", METHODS["plugin"].params, _plugin_codes, levels=_plugin_levels),
    PlaneEstimator("matrix_renyi", {
        "alpha": (1.01, lambda name, value, fn: check_alpha(value, fn)),
        "kernel_width": ("knn", lambda name, value, fn: check_kernel_width(value, fn)),
        "batch_size": (200, lambda name, value, fn: check_batch_size(value, fn)),
        "seed": (0, check_seed)},
        _matrix_renyi, consumes="minibatch", needs_inputs=True, costly=True,
        minibatches=lambda n, p: seeded_batches(n, p["batch_size"], p["seed"]), prepare_inputs=input_kernel,
        label_keys=lambda p: ("alpha", "batch_size"), caveat=_matrix_renyi_caveat),
    PlaneEstimator("v_information", {
        "family": ("linear", lambda name, value, fn: check_choice(name, value, ("linear", "mlp"), fn)),
        "C": ("auto", _positive_c),
        "n_splits": (5, lambda name, value, fn: check_int(name, value, fn, minimum=2)),
        "test_size": (0.25, lambda name, value, fn: check_float(
            name, value, fn, minimum=0.0, maximum=0.9, strict_minimum=True)),
        "seed": (0, check_seed),
        "hidden": (64, lambda name, value, fn: check_int(name, value, fn, minimum=1)),
        "epochs": (60, lambda name, value, fn: check_int(name, value, fn, minimum=1))},
        _v_information, quantities=("I_TY",), costly=True, label_keys=lambda p: ("family",),
        caveat=lambda p: ("I(T;Y) is the usable information of a held-out " + p["family"] + " probe "
                          "(Xu et al. 2020): the drop in held-out cross-entropy against a null model "
                          "fitted the same way. It is a lower bound on Shannon's I(T;Y), finite for "
                          "deterministic networks, and about 0 where no label is decodable.")),
)}


def entry(name: Any, fn: str) -> PlaneEstimator:
    """The table entry of ``name``; anything else raises, listing the choices."""
    return TABLE[check_choice("estimator", name, tuple(TABLE), fn)]


__all__ = ["CONSUMES", "QUANTITIES", "TABLE", "PlaneEstimator", "entry"]
