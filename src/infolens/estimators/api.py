"""``estimate_entropy``, ``estimate_mi`` and ``estimate_cmi``: validate once, then dispatch.

Each method is described by a :class:`MethodSpec` in :data:`METHODS`: which module implements it,
how samples are prepared for it (discrete codes, binned codes or float arrays), its parameters
with their defaults and checks, and how a confidence interval is obtained. The public functions
validate and coerce the input once (``_validate``), resolve ``method="auto"``, call the private
implementation (which assumes clean arrays and returns nats) under the resampling asked for
(:mod:`infolens.estimators._resampling`: intervals, subsamples, permutation tests), then attach
units, flags and caps to a frozen :class:`~infolens.estimators.result.Estimate`. :func:`estimate_raw` is the
unchecked path for the package's own callers (the information plane).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from infolens._units import check_units, from_nats
from infolens._validation import (
    InfoLensWarning,
    _is_tensor,
    as_samples,
    check_choice,
    check_float,
    check_int,
    check_probability_level,
    check_same_length,
    check_seed,
    fail,
    is_discrete,
    unique_row_codes,
)
from infolens.estimators import _resampling as resampling
from infolens.estimators.binning import ADAPTIVE_SCOPES, MAX_BINS, quantize_adaptive, quantize_fixed
from infolens.estimators.result import Estimate

Checker = Callable[[str, Any, str], Any]

#: Joint dimension above which k-NN estimators warn that their bias grows quickly.
HIGH_DIMENSION = 20
#: Samples per observed joint symbol below which a discrete MI/CMI is flagged "undersampled".
UNDERSAMPLED_RATIO = 2
#: Fraction of duplicated rows above which k-NN estimators warn about ties.
TIES_FRACTION = 0.01
#: The cap of a method that does not estimate entropies of codes (k-NN, KDE, Gaussian, ...) is the
#: plug-in entropy of the discrete variable; such an estimate may exceed it by up to this many nats
#: per distinct symbol and sample (``K / N`` in all) before it is flagged ``above_cap``. On samples
#: of a discrete variable the mixed estimator reads ``ln N - psi(n_s)`` on symbol s (seen n_s times)
#: where the plug-in entropy reads ``ln(N / n_s)``, an excess ``ln n_s - psi(n_s)`` in
#: ``(1 / (2 n_s), 1 / n_s)``: at most ``K / N`` over the K symbols by construction.
CAP_MARGIN_PER_SYMBOL = 1.0


def _int_at_least(minimum: int) -> Checker:
    return lambda name, value, fn: check_int(name, value, fn, minimum=minimum)


def _bins(name: str, value: Any, fn: str) -> int:
    value = check_int(name, value, fn, minimum=1)
    if value > MAX_BINS:
        raise fail(name, fn, f"an int <= {MAX_BINS} (bin indices stay exact)", value)
    return value


def _positive_float(name: str, value: Any, fn: str) -> float:
    return check_float(name, value, fn, minimum=0.0, strict_minimum=True)


def _optional(checker: Checker) -> Checker:
    return lambda name, value, fn: None if value is None else checker(name, value, fn)


def _one_of(*choices: Any) -> Checker:
    def check(name: str, value: Any, fn: str) -> Any:
        if value not in choices:
            raise fail(name, fn, "one of " + ", ".join(repr(c) for c in choices), value)
        return value
    return check


def _value_range(name: str, value: Any, fn: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise fail(name, fn, "a pair (low, high) of floats with low < high", value) from err
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise fail(name, fn, "a pair (low, high) of finite floats with low < high", value)
    return low, high


def _anything(name: str, value: Any, fn: str) -> Any:
    return value


@dataclass(frozen=True)
class MethodSpec:
    """How one estimator is prepared, called and resampled.

    ``prepare`` is ``"codes"`` (every variable becomes integer symbols), ``"binned"``
    (continuous variables are quantized, integer ones kept as symbols), ``"float"`` (float64
    arrays of shape (n, d)), ``"device"`` (like ``"float"``, but torch tensors stay float64
    tensors of shape (n, d) on their own device), ``"labeled"`` (float64 arrays for continuous
    variables, int64 label codes of shape (n,) for discrete ones) or ``"raw"`` (the inputs as
    given). ``entropy``, ``mi`` and ``cmi`` name ``"module:function"`` implementations returning nats; for
    ``codes``/``binned`` methods MI and CMI follow from ``entropy`` by the entropy identities.
    ``resampling`` is ``"bootstrap"``, ``"subsample"``, ``"internal"`` (the implementation takes
    ``level`` and ``seed`` and returns its own interval as ``ci_low``/``ci_high`` and its flags as
    ``flags`` in its details) or None (no interval available).
    """

    name: str
    family: str
    prepare: str
    reference: str
    entropy: str | None = None
    mi: str | None = None
    cmi: str | None = None
    params: Mapping[str, tuple[Any, Checker]] = field(default_factory=dict)
    resampling: str | None = "bootstrap"
    min_samples: Callable[[Mapping[str, Any]], int] = lambda params: 2
    #: Whether the estimate is learnt from repeated symbols (NSB): flagged "no_coincidences"
    #: on samples without any.
    needs_coincidences: bool = False

    def supports(self, quantity: str) -> bool:
        """Whether this method estimates ``quantity`` ("entropy", "mi" or "cmi")."""
        if self.prepare in ("codes", "binned"):
            return self.entropy is not None
        return getattr(self, quantity, None) is not None  # conditional_entropy: codes/binned only


_DISCRETE = "infolens.estimators.discrete"
_KNN = "infolens.estimators.knn"
_KDE = "infolens.estimators.kde"
_GAUSSIAN = "infolens.estimators.gaussian"
_NEURAL = "infolens.estimators.neural"
_COPULA_KNN = "infolens.estimators.copula_knn"
_SEMIDISCRETE = "infolens.estimators.semidiscrete"
_BINNING_PARAMS: dict[str, tuple[Any, Checker]] = {
    "correction": ("plugin", _one_of("plugin", "miller_madow")),
}
_K = {"k": (3, _int_at_least(1))}
_BIAS_CORRECT: dict[str, tuple[Any, Checker]] = {"bias_correct": (True, _one_of(False, True))}
_KNN_METRIC = {"metric": ("chebyshev", _one_of("chebyshev", "euclidean"))}
_NEURAL_PARAMS: dict[str, tuple[Any, Checker]] = {  # steps, lr: None scales with the dimension
    "steps": (None, _optional(_int_at_least(1))),
    "batch_size": (256, _int_at_least(2)),
    "lr": (None, _optional(_positive_float)),
    "hidden": (128, _int_at_least(1)),
    "critic": ("separable", _one_of("separable", "concat")),
    "device": (None, _anything),
    "seed": (0, check_seed),
}
_LATENT_PARAMS: dict[str, tuple[Any, Checker]] = {
    "latent_dim": (None, _optional(_int_at_least(1))),
    "epochs": (200, _int_at_least(1)),
    "batch_size": (256, _int_at_least(2)),
    "lr": (1e-3, _positive_float),
    "hidden": (128, _int_at_least(1)),
    "k": (3, _int_at_least(1)),
    "device": (None, _anything),
    "seed": (0, check_seed),
}

METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in [
    MethodSpec("plugin", "discrete", "codes", "maximum likelihood; Paninski 2003",
               entropy=f"{_DISCRETE}:entropy_plugin"),
    MethodSpec("miller_madow", "discrete", "codes", "Miller 1955",
               entropy=f"{_DISCRETE}:entropy_miller_madow"),
    MethodSpec("chao_shen", "discrete", "codes", "Chao & Shen 2003",
               entropy=f"{_DISCRETE}:entropy_chao_shen"),
    MethodSpec("nsb", "discrete", "codes", "Nemenman, Shafee & Bialek 2002",
               entropy="infolens.estimators.nsb:entropy_nsb", needs_coincidences=True,
               params={"K": (None, _optional(_int_at_least(1)))}),
    MethodSpec("binning", "binning", "binned", "Shwartz-Ziv & Tishby 2017; Saxe et al. 2018",
               entropy=f"{_DISCRETE}:entropy_plugin",
               params={"bins": (30, _bins),
                       "bin_width": (None, _optional(_positive_float)),
                       "range": (None, _value_range), **_BINNING_PARAMS}),
    MethodSpec("adaptive_binning", "binning", "binned", "Chelombiev et al. 2019",
               entropy=f"{_DISCRETE}:entropy_plugin",
               params={"bins": (30, _bins), "scope": ("unit", _one_of(*ADAPTIVE_SCOPES)),
                       **_BINNING_PARAMS}),
    MethodSpec("kl", "knn", "device", "Kozachenko & Leonenko 1987",
               entropy=f"{_KNN}:entropy_kl", params={**_K, **_KNN_METRIC},
               resampling="subsample", min_samples=lambda p: p["k"] + 1),
    MethodSpec("ksg", "knn", "device", "Kraskov, Stoegbauer & Grassberger 2004; Frenzel & Pompe 2007",
               mi=f"{_KNN}:mi_ksg", cmi=f"{_KNN}:cmi_ksg",
               params={**_K, "variant": (1, _one_of(1, 2)), **_KNN_METRIC},
               resampling="subsample", min_samples=lambda p: p["k"] + 1),
    MethodSpec("mixed", "knn", "device", "Gao, Kannan, Oh & Viswanath 2017",
               mi=f"{_KNN}:mi_mixed", params=dict(_K),
               resampling="subsample", min_samples=lambda p: p["k"] + 1),
    MethodSpec("ksg_discrete", "knn", "labeled",
               "Ross 2014; Frenzel & Pompe 2007 with the discrete metric (ennemi's semi-discrete CMI)",
               mi=f"{_SEMIDISCRETE}:mi_ksg_discrete", cmi=f"{_SEMIDISCRETE}:cmi_ksg_discrete",
               params={**_K, **_KNN_METRIC}, resampling="subsample", min_samples=lambda p: p["k"] + 1),
    MethodSpec("ksg_copula", "knn", "float", "Kraskov et al. 2004 on normal scores",
               mi=f"{_COPULA_KNN}:mi_ksg_copula", params=dict(_K),
               resampling="subsample", min_samples=lambda p: p["k"] + 1),
    MethodSpec("ksg_radial", "knn", "float", "Kraskov et al. 2004 on per-side radii",
               mi=f"{_COPULA_KNN}:mi_ksg_radial", params=dict(_K),
               resampling="subsample", min_samples=lambda p: p["k"] + 1),
    MethodSpec("auto", "auto", "float", "infolens.estimators.auto (documented rule)",
               mi="infolens.estimators.auto:mi_auto", resampling="internal",
               min_samples=lambda p: 8),
    MethodSpec("kde", "kde", "float", "Kolchinsky & Tracey 2017; Saxe et al. 2018",
               entropy=f"{_KDE}:entropy_kde", mi=f"{_KDE}:mi_kde",
               params={"noise_var": (0.1, _positive_float),
                       "bound": ("upper", _one_of("upper", "lower"))},
               resampling="subsample"),
    MethodSpec("gaussian", "gaussian", "float", "Cover & Thomas 2006, ch. 8",
               entropy=f"{_GAUSSIAN}:entropy_gaussian", mi=f"{_GAUSSIAN}:mi_gaussian",
               cmi=f"{_GAUSSIAN}:cmi_gaussian", params=dict(_BIAS_CORRECT), min_samples=lambda p: 3),
    MethodSpec("gaussian_copula", "gaussian", "float", "Ince et al. 2017",
               mi=f"{_GAUSSIAN}:mi_gaussian_copula", cmi=f"{_GAUSSIAN}:cmi_gaussian_copula",
               params=dict(_BIAS_CORRECT), min_samples=lambda p: 3),
    *[MethodSpec(name, "neural", "raw", ref, mi=f"{_NEURAL}:mi_{name}",
                 params=dict(_NEURAL_PARAMS), resampling="internal", min_samples=lambda p: 40)
      for name, ref in [("mine", "Belghazi et al. 2018"), ("nwj", "Nguyen, Wainwright & Jordan 2010"),
                        ("infonce", "van den Oord et al. 2018"), ("smile", "Song & Ermon 2020")]],
    MethodSpec("latent_mi", "neural", "raw", "Gowri, Lun, Klein & Yin 2024",
               mi="infolens.estimators.latent:mi_latent", params=dict(_LATENT_PARAMS),
               resampling="internal", min_samples=lambda p: 40),
]}
"""Every estimator by name: its :class:`MethodSpec` (family, inputs, reference, parameters, interval)."""


def _resolve(path: str) -> Callable[..., Any]:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _auto(quantity: str, discrete: list[bool]) -> str:
    if all(discrete):
        return "miller_madow"
    if quantity == "entropy":
        return "kl"
    if quantity == "mi" and any(discrete):
        return "mixed"
    if quantity == "cmi" and any(discrete):
        return "ksg_discrete"
    return "auto" if quantity == "mi" else "ksg"


def _check_params(spec: MethodSpec, params: Mapping[str, Any], fn: str) -> dict[str, Any]:
    return method_params(spec.name, spec.params, params, fn)


def method_params(method: str, spec: Mapping[str, tuple[Any, Checker]], params: Mapping[str, Any],
                  fn: str) -> dict[str, Any]:
    """``params`` checked against ``spec`` (name -> (default, checker)), with the defaults filled
    in; an unknown name raises, listing the allowed ones."""
    unknown = sorted(set(params) - set(spec))
    if unknown:
        allowed = ", ".join(sorted(spec)) or "none"
        raise fail(unknown[0], fn, f"a parameter of method={method!r} (allowed: {allowed})",
                   got=f"an unknown parameter {unknown[0]!r}")
    return {name: checker(name, params.get(name, default), fn)
            for name, (default, checker) in spec.items()}


def _prepare(spec: MethodSpec, arrays: list[np.ndarray], discrete: list[bool],
             params: Mapping[str, Any]) -> list[np.ndarray]:
    if spec.prepare == "codes":
        return [unique_row_codes(a) for a in arrays]
    if spec.prepare == "labeled":
        return [unique_row_codes(a) if d else a for a, d in zip(arrays, discrete, strict=True)]
    if spec.prepare == "binned":
        out = []
        for a, is_discrete in zip(arrays, discrete, strict=True):
            if is_discrete:
                out.append(a.astype(np.int64))
            elif spec.name == "adaptive_binning":
                out.append(quantize_adaptive(a, params["bins"], params["scope"]))
            else:
                out.append(quantize_fixed(a, params["bins"], params["bin_width"], params["range"]))
        return out
    return arrays


_ENTROPY_SIGNS = {
    "entropy": [((0,), 1)],
    "mi": [((0,), 1), ((1,), 1), ((0, 1), -1)],
    "cmi": [((0, 2), 1), ((1, 2), 1), ((0, 1, 2), -1), ((2,), -1)],
    "conditional_entropy": [((0, 1), 1), ((1,), -1)],
}


def _discrete_entropy(spec: MethodSpec, params: Mapping[str, Any]) -> Callable[[np.ndarray], float]:
    """The entropy of symbol codes that a codes/binned method uses (plug-in for other methods)."""
    if spec.family == "binning" and params["correction"] == "miller_madow":
        return _resolve(f"{_DISCRETE}:entropy_miller_madow")
    if spec.prepare in ("codes", "binned"):
        entropy = _resolve(spec.entropy)  # type: ignore[arg-type]
        if params.get("K") is not None:  # a known alphabet size (NSB)
            return functools.partial(entropy, alphabet_size=params["K"])
        return entropy
    return _resolve(f"{_DISCRETE}:entropy_plugin")


def _raw_nats(spec: MethodSpec, quantity: str, prepared: list[Any],
              params: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
    """The estimate in nats from prepared arrays, and method-specific details in nats."""
    if spec.prepare in ("codes", "binned"):
        entropy_fn = _discrete_entropy(spec, params)
        total = 0.0
        for group, sign in _ENTROPY_SIGNS[quantity]:
            columns = [p if p.ndim == 2 else p[:, None] for p in (prepared[i] for i in group)]
            total += sign * entropy_fn(unique_row_codes(np.hstack(columns)))
        return total, {}
    impl = _resolve(getattr(spec, quantity))
    accepted = inspect.signature(impl).parameters
    kwargs = {name: value for name, value in params.items() if name in accepted}
    out = impl(*prepared, **kwargs)
    if isinstance(out, tuple):
        return float(out[0]), dict(out[1])
    return float(out), {}


def estimate_raw(method: str, *arrays: Any, **params: Any) -> float:
    """The estimate of ``method`` in nats from clean samples: no checks, intervals or flags.

    For the package's own callers (the information plane) that have validated their inputs.
    One array gives the entropy, two the MI, three the CMI ``I(x; y | z)``; the arrays are what
    :func:`estimate_mi` would pass on after validation (float64 of shape (n, d) for k-NN, KDE
    and Gaussian methods; integer arrays are discrete for the codes and binned methods).
    Missing parameters take their defaults; unknown ones raise.
    """
    quantity = _QUANTITIES[len(arrays)]
    spec = METHODS[method]
    params = _check_params(spec, params, "estimate_raw")
    discrete = [is_discrete(a) for a in arrays]
    return _raw_nats(spec, quantity, _prepare(spec, list(arrays), discrete, params), params)[0]


_QUANTITIES = {1: "entropy", 2: "mi", 3: "cmi"}


@dataclass(frozen=True)
class _Request:
    """A validated call: the method chosen, its parameters, the samples as the method takes them
    (``arrays``) and as checked numpy copies (``checked``), and the resampling settings."""

    quantity: str
    spec: MethodSpec
    params: dict[str, Any]
    units: str
    ci: float | None
    n_resamples: int
    max_samples: int | None
    n_permutations: int | None
    discrete: list[bool]
    checked: list[np.ndarray]
    arrays: list[Any]

    def evaluate(self, rows: np.ndarray | None,
                 y_order: np.ndarray | None = None) -> tuple[float, dict[str, float]]:
        """The estimate in nats on the given rows (all if None), y's rows reordered by y_order."""
        chosen = self.arrays if rows is None else [a[rows] for a in self.arrays]
        if y_order is not None:
            chosen = [chosen[0], chosen[1][y_order], *chosen[2:]]
        return _raw_nats(self.spec, self.quantity, _prepare(self.spec, chosen, self.discrete, self.params),
                         self.params)


def _validate(quantity: str, fn: str, named: dict[str, Any], method: str, units: str,
              ci: float | None, n_resamples: int, max_samples: int | None,
              n_permutations: int | None, params: Mapping[str, Any], base: Any = None,
              discrete_features: Any = "auto") -> _Request:
    """Check every argument, resolve ``method="auto"`` and coerce the samples once."""
    units = check_units(units, fn, base)
    choices = ["auto", *[m for m, s in METHODS.items() if s.supports(quantity) and m != "auto"]]
    method = check_choice("method", method, choices, fn)
    discrete = _discrete_mask(discrete_features, named, fn)
    if method == "auto" and quantity == "conditional_entropy" and not all(discrete):
        raise fail("method", fn, "a discrete or binning method for continuous samples (one of "
                   + ", ".join(repr(c) for c in choices[1:]) + ")", method)
    method = _auto(quantity, discrete) if method == "auto" else method
    spec = METHODS[method]
    params = _check_params(spec, params, fn)
    ci = None if ci is None else check_probability_level("ci", ci, fn)
    n_resamples = check_int("n_resamples", n_resamples, fn, minimum=10)
    max_samples = None if max_samples is None else check_int("max_samples", max_samples, fn,
                                                                minimum=spec.min_samples(params))
    if n_permutations is not None:
        n_permutations = check_int("n_permutations", n_permutations, fn, minimum=1)
    if spec.resampling is None and ci is not None:
        raise fail("ci", fn, f"None for method={method!r} (no resampling interval)", ci)
    if (spec.resampling is None or spec.family == "neural") and n_permutations is not None:
        raise fail("n_permutations", fn, f"None for method={method!r} (too costly to permute: "
                   "every permutation would train a network)", n_permutations)
    minimum = spec.min_samples(params)
    if ci is not None and spec.resampling == "subsample":
        n = _n_rows(next(iter(named.values())))
        if n is not None and n // 2 < minimum:
            raise fail("ci", fn, f"None, or samples enough for a half-sample interval (at least "
                       f"{2 * minimum}: each half-sample needs {minimum} rows for method={method!r})",
                       got=f"ci={ci} with {n} samples")
    exact = spec.prepare in ("codes", "binned", "labeled")  # discrete inputs as exact label codes
    checked = {k: as_samples(v, k, fn, min_samples=minimum, labels=exact and d,
                             allow_constant=spec.family not in ("knn", "gaussian", "auto"))
               for (k, v), d in zip(named.items(), discrete, strict=True)}
    check_same_length(fn, **checked)
    if spec.prepare == "labeled":
        _check_groups(list(checked), list(checked.values()), discrete, params["k"], fn)
    if params.get("K") is not None:
        _check_alphabet_size(params["K"], quantity, list(checked.values()), fn)
    # raw methods (neural) get the inputs as given and "device" methods (k-NN) get tensors as
    # float64 tensors, so tensors keep their device; checks and warnings use the numpy copies
    if spec.prepare == "raw":
        arrays = list(named.values())
    elif spec.prepare == "device":
        arrays = [_keep_device(v, c) for v, c in zip(named.values(), checked.values(), strict=True)]
    else:
        arrays = list(checked.values())
    return _Request(quantity, spec, params, units, ci, n_resamples, max_samples, n_permutations,
                    discrete, list(checked.values()), arrays)


def _n_rows(value: Any) -> int | None:
    """The number of rows of an input, or None when it has no length (its own check names it)."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    try:
        return len(value)
    except TypeError:
        return None


def _discrete_mask(discrete_features: Any, named: Mapping[str, Any], fn: str) -> list[bool]:
    """Which variables are discrete: by dtype (``"auto"``), all or none (a bool), or those named.

    As scikit-learn's ``discrete_features``, for the variables of this call: a bool, a bool mask
    with one entry per variable, or the names (``"x"``, ``"y"``) or positions of the discrete ones.
    """
    names = list(named)
    if isinstance(discrete_features, str) and discrete_features == "auto":
        return [is_discrete(v) for v in named.values()]
    if isinstance(discrete_features, (bool, np.bool_)):
        return [bool(discrete_features)] * len(names)
    expected = ("'auto', a bool, or the discrete variables among " + ", ".join(repr(n) for n in names)
                + f" (names, positions 0..{len(names) - 1}, or a mask of {len(names)} bools)")
    chosen = [discrete_features] if isinstance(discrete_features, str) else discrete_features
    try:
        items = list(chosen)
    except TypeError as err:
        raise fail("discrete_features", fn, expected, discrete_features) from err
    if len(items) == len(names) and all(isinstance(i, (bool, np.bool_)) for i in items):
        return [bool(i) for i in items]
    picked = set()
    for item in items:
        if isinstance(item, str) and item in names:
            picked.add(names.index(item))
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)) \
                and 0 <= item < len(names):
            picked.add(int(item))
        else:
            raise fail("discrete_features", fn, expected, discrete_features,
                       got=f"{item!r}, which is not one of the variables")
    return [i in picked for i in range(len(names))]


def _check_groups(names: list[str], arrays: list[np.ndarray], discrete: list[bool], k: int,
                  fn: str) -> None:
    """The discrete-metric k-NN estimators need a continuous variable and groups of more than k
    samples sharing their discrete values (the k-th neighbour is searched within the group)."""
    if all(discrete):
        raise fail("discrete_features", fn, "a mask leaving at least one continuous variable for "
                   "method='ksg_discrete' (all-discrete samples: method='plugin' or 'miller_madow')",
                   got="every variable discrete")
    smallest = _resolve(f"{_SEMIDISCRETE}:smallest_group")(
        [unique_row_codes(a) if d else a for a, d in zip(arrays, discrete, strict=True)])
    if smallest is not None and smallest <= k:
        held = " and ".join(repr(n) for n, d in zip(names, discrete, strict=True) if d)
        raise fail("k", fn, f"below the size of every group of samples sharing the discrete values "
                   f"of {held} (the k-th neighbour is searched within the group); use a smaller k, "
                   "more samples, or merge rare values", got=f"k={k} with a group of {smallest} samples")


def _check_alphabet_size(size: int, quantity: str, arrays: list[np.ndarray], fn: str) -> None:
    """``K``, the number of possible symbols, is one variable's: at least the observed ones."""
    if quantity != "entropy":
        raise fail("K", fn, "None outside estimate_entropy (an alphabet size is one variable's)", size)
    observed = int(unique_row_codes(arrays[0]).max()) + 1
    if size < observed:
        raise fail("K", fn, f"an int >= the {observed} distinct symbols observed in 'x'", size)


def _estimate(quantity: str, fn: str, named: dict[str, Any], method: str, units: str,
              ci: float | None, n_resamples: int, random_state: int | None,
              max_samples: int | None, n_permutations: int | None,
              params: Mapping[str, Any], base: Any = None, discrete_features: Any = "auto") -> Estimate:
    """Validate, estimate (with resampling as asked), flag, and convert to ``units``."""
    req = _validate(quantity, fn, named, method, units, ci, n_resamples, max_samples,
                    n_permutations, params, base, discrete_features)
    spec, n = req.spec, len(req.checked[0])
    random_state = check_seed("random_state", random_state, fn, allow_none=True)
    rng = np.random.default_rng(random_state)
    if spec.resampling == "internal":  # the method draws its own resamples and interval:
        # seeded 0 when no random_state is given, so the same data always give the same Estimate
        # (a method's own ``seed`` parameter, as the neural ones have, wins over random_state)
        seed = req.params.get("seed", 0 if random_state is None else random_state)
        req = replace(req, params={**req.params, "level": req.ci or 0.95, "seed": seed})
    flags: list[str] = []
    if spec.family == "knn":
        flags += _knn_warnings([c for c, d in zip(req.checked, req.discrete, strict=True) if not d])
    if spec.resampling == "internal" and (req.max_samples is None or n <= req.max_samples):
        got = _own_interval(req.evaluate, n, req.ci)
    else:
        got = resampling.resample(req.evaluate, n, max_samples=req.max_samples, level=req.ci,
                                  n_resamples=req.n_resamples, kind=spec.resampling, rng=rng)
    if got.subsampled:
        flags.append("subsampled")
    if not math.isfinite(got.value):
        raise fail("method", fn, "a method that gives a finite estimate on this data",
                    got=f"{spec.name!r}, which gave {got.value}")
    details = dict(got.details)
    flags += details.pop("flags", ())
    p_value = None
    if req.n_permutations is not None and quantity == "mi":
        p_value = resampling.permutation_p_value(req.evaluate, got.rows, got.n_used,
                                                 req.n_permutations, rng)
    cap = _cap(quantity, req.checked, req.discrete, _discrete_entropy(spec, req.params))
    margin = 0.0 if cap is None or spec.prepare in ("codes", "binned") else _cap_margin(req, got.n_used)
    flags += _value_flags(quantity, got.value, cap, got.n_used, fn, margin)
    if spec.needs_coincidences:
        flags += _no_coincidences(spec, req.checked, fn)
    if quantity != "entropy" and spec.prepare in ("codes", "binned"):
        flags += _undersampled(_prepare(spec, req.arrays, req.discrete, req.params), n, fn)
    return Estimate(
        value=float(from_nats(got.value, req.units)), units=req.units, quantity=quantity,
        method=spec.name, params=req.params, n_samples=n, n_used=got.n_used,
        ci=None if got.interval is None else (float(from_nats(got.interval[0], req.units)),
                                              float(from_nats(got.interval[1], req.units))),
        ci_level=got.level, p_value=p_value,
        cap=None if cap is None else float(from_nats(cap, req.units)), flags=tuple(flags),
        details={**{k: float(from_nats(v, req.units)) if isinstance(v, float) else v
                    for k, v in details.items() if k not in ("ci_low", "ci_high")},
                 **got.counts},
    )


def _own_interval(evaluate: Callable[[np.ndarray | None], tuple[float, dict[str, Any]]], n: int,
                  level: float | None) -> resampling.Resampled:
    """The estimate of a method that returns its interval as ``ci_low``/``ci_high`` in details."""
    value, details = evaluate(None)
    bounds = None if level is None else (details["ci_low"], details["ci_high"])
    return resampling.Resampled(value, details, bounds, level, n)


def _keep_device(value: Any, checked: np.ndarray) -> Any:
    """A torch tensor as a float64 tensor shaped like its validated copy, on its own device."""
    if not _is_tensor(value):
        return checked
    import torch

    return value.detach().to(torch.float64).reshape(checked.shape)


def _knn_warnings(arrays: list[Any]) -> list[str]:
    flags = []
    joint_dim = sum(a.shape[1] for a in arrays)
    if joint_dim > HIGH_DIMENSION:
        warnings.warn(f"k-NN estimate in {joint_dim} joint dimensions: its bias grows quickly "
                      "with dimension; compare with another estimator.", InfoLensWarning,
                      stacklevel=4)
        flags.append("high_dimension")
    for a in arrays:
        sample = a[:100_000]
        duplicated = 1.0 - (int(unique_row_codes(sample).max()) + 1) / len(sample)
        if duplicated > TIES_FRACTION:
            warnings.warn(f"{duplicated:.1%} of samples are repeated values: k-NN estimators "
                          "assume continuous data; consider method='mixed' or a discrete "
                          "estimator.", InfoLensWarning, stacklevel=4)
            flags.append("ties")
            break
    return flags


def _cap(quantity: str, arrays: list[np.ndarray], discrete: list[bool],
         entropy_fn: Callable[[np.ndarray], float]) -> float | None:
    """A known upper bound in nats: the entropy of a discrete variable in an MI, by the same
    entropy estimator the method uses (so a bias correction does not read as exceeding it)."""
    if quantity != "mi" or not any(discrete[:2]):
        return None
    return min(entropy_fn(unique_row_codes(a)) for a, d in zip(arrays[:2], discrete[:2], strict=True) if d)


def _cap_margin(req: _Request, n_used: int) -> float:
    """The allowance in nats above a plug-in cap: ``K / N`` for the K symbols of the discrete
    variable with the smaller plug-in entropy (the one that sets the cap) and N samples used."""
    entropy_fn = _resolve(f"{_DISCRETE}:entropy_plugin")
    labels = [unique_row_codes(a) for a, d in zip(req.checked[:2], req.discrete[:2], strict=True) if d]
    symbols = min((entropy_fn(codes), int(codes.max()) + 1) for codes in labels)[1]
    return CAP_MARGIN_PER_SYMBOL * symbols / n_used


def _no_coincidences(spec: MethodSpec, arrays: list[np.ndarray], fn: str) -> list[str]:
    """Flag a coincidence-based estimate (NSB) on samples where no joint symbol repeats.

    NSB learns the entropy from coincidences (symbols seen more than once); without any, the
    posterior is proper but its mean is set by the prior alone.
    """
    n = len(arrays[0])
    symbols = int(unique_row_codes(np.hstack(arrays)).max()) + 1
    if symbols < n:
        return []
    warnings.warn(f"{fn}: method={spec.name!r} on {n} samples with no repeated symbol: without "
                  "coincidences the data do not inform the estimate, which is the mean of the "
                  "prior (NSB's mixture of symmetric Dirichlet priors, weighted so that the prior "
                  f"on the entropy is nearly uniform on [0, ln K], K = {symbols} observed symbols "
                  "unless K= is given); use more samples.", InfoLensWarning, stacklevel=4)
    return ["no_coincidences"]


def _undersampled(prepared: list[np.ndarray], n: int, fn: str) -> list[str]:
    """Flag a discrete MI or CMI with fewer than 2 samples per observed joint symbol.

    There most symbols are seen once, every estimate reads as ``I = H(X)`` and the bias
    corrections are as large as the estimate itself (Miller-Madow and Chao-Shen give 1.36 and
    2.29 bits from 2 samples, where the data show at most 1 bit); the value is kept, flagged.
    """
    columns = [p if p.ndim == 2 else p[:, None] for p in prepared]
    n_joint = int(unique_row_codes(np.hstack(columns)).max()) + 1
    if n >= UNDERSAMPLED_RATIO * n_joint:
        return []
    warnings.warn(f"{fn}: {n} samples for {n_joint} distinct joint symbols (fewer than "
                  f"{UNDERSAMPLED_RATIO} per symbol): the discrete estimate is undersampled and its "
                  "bias correction as large as the estimate; use more samples or fewer symbols.",
                  InfoLensWarning, stacklevel=4)
    return ["undersampled"]


def _value_flags(quantity: str, value: float, cap: float | None, n: int, fn: str,
                 margin: float = 0.0) -> list[str]:
    flags = []
    if quantity in ("mi", "cmi") and value < 0:
        flags.append("negative")
    if cap is not None and value > cap + margin + 1e-9:
        allowance = f" by more than the small-sample allowance K/N = {margin:.4f} nats" if margin else ""
        warnings.warn(f"{fn} returned {value:.4f} nats, above the entropy of the discrete "
                      f"variable ({cap:.4f} nats){allowance}: the estimate is biased upwards.",
                      InfoLensWarning, stacklevel=4)
        flags.append("above_cap")
    if quantity in ("mi", "cmi") and value > math.log(n) - 1.0:
        warnings.warn(f"{fn} returned {value:.4f} nats, within 1 nat of ln N = {math.log(n):.4f}:"
                      " the estimate is limited by the sample size.", InfoLensWarning,
                      stacklevel=4)
        flags.append("near_log_n")
    return flags


_COMMON_DOC = """
    method : str
        ``"auto"`` (``miller_madow`` for integer input, ``mixed`` for MI and ``ksg_discrete``
        for CMI when some inputs are integer, otherwise ``kl`` for entropy, ``ksg`` for CMI and,
        for MI, the rule of
        :mod:`infolens.estimators.auto`, whose ``details`` say what it chose and why) or one of
        :data:`METHODS`: ``plugin``, ``miller_madow``, ``chao_shen``, ``nsb`` (discrete);
        ``binning``, ``adaptive_binning`` (quantized); ``kl``, ``ksg``, ``mixed``, ``ksg_discrete``,
        ``ksg_copula``, ``ksg_radial`` (k-NN);
        ``kde``; ``gaussian``, ``gaussian_copula``; ``mine``, ``nwj``, ``infonce``, ``smile``
        (neural bounds, :mod:`infolens.estimators.neural`); ``latent_mi`` (KSG on learned
        low-dimensional embeddings, :mod:`infolens.estimators.latent`).
    units : {"bits", "nats"}
    base : float or str, optional
        The base of the logarithm instead of ``units``: a number > 0 and != 1, or ``"bits"``,
        ``"nats"``, ``"dits"``, ``"hartleys"`` (``base=10`` gives dits).
    ci : float, optional
        Confidence level of an interval (percentile bootstrap; subsampling for k-NN and KDE;
        ``auto`` computes its own from half-samples and ignores ``n_resamples``).
    n_resamples : int
        Resamples for ``ci``.
    random_state : int, optional
        Seed for resampling, subsampling and permutations.
    max_samples : int, optional
        Above this many samples, estimate on random subsamples of this size and report their
        mean with an interval; the result carries the ``"subsampled"`` flag.
    **params
        The method's own parameters (``k``, ``bins``, ``noise_var``, ...); unknown ones raise.

    Returns
    -------
    Estimate
        Integer (or boolean) arrays are discrete; float arrays continuous.
"""


def estimate_entropy(x: Any, method: str = "auto", *, units: str = "bits",
                     ci: float | None = None, n_resamples: int = 200,
                     random_state: int | None = None, max_samples: int | None = None,
                     base: Any = None, **params: Any) -> Estimate:
    """Estimate the entropy of ``x`` from samples of shape (n,) or (n, d).

    Discrete and binned methods give the Shannon entropy of the (quantized) variable; ``kl``,
    ``kde`` and ``gaussian`` give differential entropy (which can be negative).

    Parameters
    ----------
    x : array-like or tensor of shape (n,) or (n, d)
    """
    return _estimate("entropy", "estimate_entropy", {"x": x}, method, units, ci, n_resamples,
                     random_state, max_samples, None, params, base)


def estimate_mi(x: Any, y: Any, method: str = "auto", *, units: str = "bits",
                ci: float | None = None, n_resamples: int = 200,
                random_state: int | None = None, max_samples: int | None = None,
                n_permutations: int | None = None, base: Any = None,
                discrete_features: Any = "auto", **params: Any) -> Estimate:
    """Estimate the mutual information ``I(X; Y)`` from paired samples.

    Parameters
    ----------
    x, y : array-like or tensor of shape (n,) or (n, d)
    n_permutations : int, optional
        Run a permutation test of independence and put its p-value on the result.
    discrete_features : "auto", bool or sequence
        Which of x and y are discrete, as scikit-learn's ``discrete_features``: ``"auto"`` (by
        dtype: integers, booleans and strings are discrete), a bool for both, a mask of two bools,
        or the names (``"x"``, ``"y"``) or positions (0, 1) of the discrete ones. Integer-valued
        measurements told continuous (``discrete_features=False``) are estimated as floats.
    """
    return _estimate("mi", "estimate_mi", {"x": x, "y": y}, method, units, ci, n_resamples,
                     random_state, max_samples, n_permutations, params, base, discrete_features)


def estimate_conditional_entropy(x: Any, y: Any, method: str = "auto", *, units: str = "bits",
                                 ci: float | None = None, n_resamples: int = 200,
                                 random_state: int | None = None, max_samples: int | None = None,
                                 base: Any = None, **params: Any) -> Estimate:
    """Estimate the conditional entropy ``H(X | Y) = H(X, Y) - H(Y)`` from paired samples.

    Discrete (``plugin``, ``miller_madow``, ``chao_shen``, ``nsb``) and binned methods only,
    each entropy by the method's own estimator (pyitlib's ``entropy_conditional`` is
    ``method="plugin"``).

    Parameters
    ----------
    x, y : array-like or tensor of shape (n,) or (n, d)
    """
    return _estimate("conditional_entropy", "estimate_conditional_entropy", {"x": x, "y": y},
                     method, units, ci, n_resamples, random_state, max_samples, None, params, base)


def estimate_cmi(x: Any, y: Any, z: Any, method: str = "auto", *, units: str = "bits",
                 ci: float | None = None, n_resamples: int = 200,
                 random_state: int | None = None, max_samples: int | None = None,
                 base: Any = None, discrete_features: Any = "auto", **params: Any) -> Estimate:
    """Estimate the conditional mutual information ``I(X; Y | Z)`` from samples.

    With some but not all variables discrete, ``method="auto"`` is ``ksg_discrete``
    (:mod:`infolens.estimators.semidiscrete`): Frenzel-Pompe with the discrete metric on the
    discrete ones, which is ``sum_z p(z) I_KSG(X; Y | Z = z)`` for a discrete Z and ennemi's
    semi-discrete CMI for a discrete Y; every group of samples sharing the discrete values needs
    more than ``k`` samples. All discrete: Miller-Madow (``plugin`` for the plug-in CMI).

    Parameters
    ----------
    x, y, z : array-like or tensor of shape (n,) or (n, d)
    discrete_features : "auto", bool or sequence
        Which of x, y and z are discrete, as in :func:`estimate_mi`: ``"auto"`` (by dtype), a
        bool for all, a mask of three bools, or the names (``"x"``, ``"y"``, ``"z"``) or
        positions (0, 1, 2) of the discrete ones.
    """
    return _estimate("cmi", "estimate_cmi", {"x": x, "y": y, "z": z}, method, units, ci,
                     n_resamples, random_state, max_samples, None, params, base, discrete_features)


for _public in (estimate_entropy, estimate_mi, estimate_cmi, estimate_conditional_entropy):
    _public.__doc__ = (_public.__doc__ or "").rstrip() + "\n" + _COMMON_DOC
