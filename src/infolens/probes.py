"""Layers as encoders: per-layer linear probes, redundant layers, and pruning to check them.

Every layer ``T`` of a network is an encoder of the input. A *probe* (Alain & Bengio 2016) is a
multinomial logistic regression trained to predict the label ``Y`` from ``T`` alone; its held-out
accuracy says how linearly decodable ``Y`` is from that layer, and its held-out cross-entropy
``CE`` gives a variational lower bound on the information the layer keeps about the label::

    I(T; Y) = H(Y) - H(Y | T) >= H(Y) - CE,   since  CE = E[-log q(y | t)] >= H(Y | T)

for any classifier ``q`` (here the probe; the bound is tight when the probe is the Bayes
classifier and loose when a linear probe cannot decode what the layer holds). The reported bound
is the linear family's usable information (:func:`infolens.v_information`, computed there): ``H(Y)``
is replaced by the held-out cross-entropy of the null model fitted on the same training part (the
training label marginal), so label noise between the parts cancels in the paired difference.

:func:`probe_layers` captures the activations of a model's layers (and of the raw input, named
``"input"``) and calls :func:`probe_activations`, which fits one probe per layer on several seeded
stratified train/test splits and returns a :class:`ProbeReport` with confidence intervals. A layer
is *redundant* when its accuracy gain over the best earlier probed layer is within noise
(saturation); :func:`infolens.pruning.verify_pruning` removes such layers, fine-tunes briefly, and
compares the accuracy change with removing an unflagged layer instead.

Probe implementation: a softmax regression on standardised features (mean 0, variance 1 from the
training part of each split), trained in float64 by full-batch L-BFGS (:func:`fit_softmax_regression`:
loss and analytic gradient in torch on the activations' device, SciPy's L-BFGS-B driving). It
minimises ``mean CE + ||W||^2 / (2 C n_train)``, the objective of scikit-learn's
``LogisticRegression(C=C)`` divided by ``C n_train``, so ``C`` means the same as there (the tests
check the two agree). We chose it over scikit-learn's lbfgs solver and over ``torch.optim.LBFGS``
after timing all three on 2 busy cores: scikit-learn's was the slowest and the least steady
(its multithreaded loss suffers from oversubscription), and torch's Python line search costs
about twice as much per iteration. With ``C="auto"`` the strength is chosen per layer from a
small grid by the cross-entropy on an inner validation split of the first training part.

References
----------
G. Alain and Y. Bengio, "Understanding intermediate layers using linear classifier probes",
arXiv:1610.01644, 2016.
C. Nadeau and Y. Bengio, "Inference for the generalization error", Machine Learning 52 (2003)
(the corrected resampled t interval used for the confidence intervals).
D. Barber and F. Agakov, "The IM algorithm: a variational approach to information maximization",
NeurIPS 2003 (the variational lower bound).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from infolens._json import to_jsonable
from infolens._standardize import standardize
from infolens._threads import torch_threads
from infolens._units import check_units, from_nats
from infolens._validation import (
    as_labels,
    as_samples,
    check_choice,
    check_float,
    check_int,
    check_probability_level,
    check_same_length,
    check_seed,
    fail,
    to_numpy,
)
from infolens.layers import REDUCE, capture, eval_mode
from infolens.measures import entropy
from infolens.model_inputs import ModelInputs, device_of, float_dtype_of, run_model

if TYPE_CHECKING:
    from infolens.pruning import PruningResult

#: Regularisation strengths tried per layer with ``C="auto"`` (scikit-learn's meaning of C).
C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0)
INPUT = "input"


@dataclass(frozen=True)
class ProbeReport:
    """Per-layer linear-probe results, in depth order (``"input"`` first when it was probed).

    Attributes
    ----------
    layers : tuple of str
        Probed layers in depth order.
    dims : tuple of int
        Width (number of features) of each layer.
    accuracy, accuracy_ci : mean held-out probe accuracy over the splits and its CI.
    cross_entropy, cross_entropy_ci : mean held-out cross-entropy of the probe, in ``units``.
    mi_lower_bound, mi_lower_bound_ci : the probe's usable information ``H_V(Y) - cross_entropy``
        (:func:`infolens.v_information` with ``family="linear"``: ``H_V(Y)`` is the held-out
        cross-entropy of the null model, the training part's label marginal), a lower bound on
        ``I(T; Y)`` in ``units`` up to sampling error (never clipped: a probe worse than the
        null model gives a negative value).
    gain, gain_ci : accuracy gain over ``reference`` (paired over splits); None for the first layer.
    reference : tuple of (str or None)
        The layer each gain is measured against: the best earlier layer not flagged redundant.
    is_redundant : tuple of bool
        See :attr:`redundant` for the rule.
    entropy_y : float
        ``H(Y)`` of the label frequencies, in ``units``.
    chance_accuracy : float
        Frequency of the most common label (the accuracy of always guessing it).
    regularization : tuple of float
        The probe's ``C`` for each layer.
    split_accuracy, split_cross_entropy : per-layer tuples of per-split values (cross-entropy in
        ``units``).
    """

    layers: tuple[str, ...]
    dims: tuple[int, ...]
    accuracy: tuple[float, ...]
    accuracy_ci: tuple[tuple[float, float], ...]
    cross_entropy: tuple[float, ...]
    cross_entropy_ci: tuple[tuple[float, float], ...]
    mi_lower_bound: tuple[float, ...]
    mi_lower_bound_ci: tuple[tuple[float, float], ...]
    gain: tuple[float | None, ...]
    gain_ci: tuple[tuple[float, float] | None, ...]
    reference: tuple[str | None, ...]
    is_redundant: tuple[bool, ...]
    entropy_y: float
    chance_accuracy: float
    units: str
    n_samples: int
    n_classes: int
    n_splits: int
    test_size: float
    ci_level: float
    tolerance: float
    regularization: tuple[float, ...]
    split_accuracy: tuple[tuple[float, ...], ...]
    split_cross_entropy: tuple[tuple[float, ...], ...]
    seconds: float = 0.0
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def redundant(self) -> tuple[str, ...]:
        """Layers whose accuracy gain over the best earlier probed layer is within noise.

        The rule, applied in depth order: let ``ref`` be the best earlier layer that is not itself
        redundant (highest mean accuracy among them; the first probed layer, usually the input,
        is never redundant) and ``g_s = acc_layer,s - acc_ref,s`` the paired per-split gain. A
        layer is redundant when the lower end of the corrected-resampled confidence interval of
        the mean gain is ``<= 0`` (the gain is not significantly positive), or when the mean gain
        is ``<= tolerance``. Measuring against the best *kept* layer, not simply the best earlier
        one, stops a chain of small, individually insignificant gains from flagging every layer
        of a network that improves steadily: their sum is tested once it becomes significant.
        """
        return tuple(name for name, flag in zip(self.layers, self.is_redundant, strict=True) if flag)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per layer (accuracy as fractions, information in ``units``)."""
        import pandas as pd

        rows = []
        for i, name in enumerate(self.layers):
            gain_ci = self.gain_ci[i]
            rows.append({
                "layer": name, "depth": i, "dim": self.dims[i],
                "accuracy": self.accuracy[i],
                "accuracy_low": self.accuracy_ci[i][0], "accuracy_high": self.accuracy_ci[i][1],
                "cross_entropy": self.cross_entropy[i],
                "mi_lower_bound": self.mi_lower_bound[i],
                "mi_low": self.mi_lower_bound_ci[i][0], "mi_high": self.mi_lower_bound_ci[i][1],
                "gain": self.gain[i] if self.gain[i] is not None else math.nan,
                "gain_low": gain_ci[0] if gain_ci is not None else math.nan,
                "gain_high": gain_ci[1] if gain_ci is not None else math.nan,
                "reference": self.reference[i],
                "redundant": self.is_redundant[i],
                "C": self.regularization[i],
                "units": self.units,
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Every field, plus ``redundant``, as plain JSON values (see :func:`infolens._json.to_jsonable`)."""
        return to_jsonable({**{name: getattr(self, name) for name in self.__dataclass_fields__},
                            "redundant": self.redundant})

    def _repr_html_(self) -> str:
        """A notebook display: accuracy and the I(T;Y) bound per layer with CIs, and :meth:`plot`."""
        from infolens import _html

        rows = [{"layer": name, "dim": self.dims[i], "accuracy": self.accuracy[i],
                 "accuracy CI": _html.interval(*self.accuracy_ci[i]), "I(T;Y) bound": self.mi_lower_bound[i],
                 "bound CI": _html.interval(*self.mi_lower_bound_ci[i]),
                 "gain": self.gain[i], "redundant": self.is_redundant[i]}
                for i, name in enumerate(self.layers)]
        caption = (f"{self.n_splits} splits, {self.ci_level:.0%} CIs, I(T;Y) in {self.units}; chance "
                   f"accuracy {_html.number(self.chance_accuracy)}, H(Y) = {_html.number(self.entropy_y)}")
        return _html.box(f"ProbeReport: {len(self.layers)} layers, {self.n_samples} samples",
                         _html.table(rows, caption),
                         _html.figure(lambda ax: self.plot(ax=ax), "probe accuracy"))

    def plot(self, ax: Any = None, *, quantity: str = "accuracy") -> Any:
        """Accuracy (or the ``I(T;Y)`` lower bound) by depth with CIs; redundant layers in red.

        Returns the matplotlib Axes; never calls ``plt.show()``.
        """
        import matplotlib.pyplot as plt

        if quantity not in ("accuracy", "information"):
            raise fail("quantity", "ProbeReport.plot", "'accuracy' or 'information'", quantity)
        if ax is None:
            _, ax = plt.subplots(figsize=(max(4.5, 0.75 * len(self.layers) + 2.0), 3.6))
        depth = np.arange(len(self.layers))
        if quantity == "accuracy":
            values, intervals = np.array(self.accuracy), np.array(self.accuracy_ci)
            ax.axhline(self.chance_accuracy, color="0.6", linestyle=":", label="chance")
            ax.set_ylabel("probe test accuracy")
        else:
            values, intervals = np.array(self.mi_lower_bound), np.array(self.mi_lower_bound_ci)
            ax.axhline(self.entropy_y, color="0.6", linestyle=":", label=f"H(Y) = {self.entropy_y:.3g}")
            ax.set_ylabel(f"I(T;Y) lower bound [{self.units}]")
        errors = np.abs(np.stack([values - intervals[:, 0], intervals[:, 1] - values]))
        ax.errorbar(depth, values, yerr=errors, color="C0", marker="o", capsize=3,
                    label=f"mean, {self.ci_level:.0%} CI over {self.n_splits} splits")
        flagged = np.array(self.is_redundant)
        if flagged.any():
            ax.scatter(depth[flagged], values[flagged], s=110, facecolors="none", edgecolors="C3",
                       linewidths=1.6, zorder=3, label="redundant (gain within noise)")
        ax.set_xticks(depth)
        ax.set_xticklabels(self.layers, rotation=30, ha="right", fontsize="small")
        ax.set_xlabel("layer (depth order)")
        ax.legend(fontsize="x-small", frameon=False)
        return ax

    def verify_pruning(self, model: nn.Module, x_train: Any, y_train: Any, x_test: Any, y_test: Any,
                       **kwargs: Any) -> PruningResult:
        """Shorthand for ``infolens.verify_pruning(model, x_train, y_train, x_test, y_test, self,
        **kwargs)``: remove this report's redundant layers, fine-tune, compare with the unflagged
        layers removed instead. The report itself holds no training code."""
        from infolens.pruning import verify_pruning

        return verify_pruning(model, x_train, y_train, x_test, y_test, self, **kwargs)


def probe_layers(model: nn.Module, x: Any, y: Any, layers: Any = None, *, include_input: bool = True,
                 n_splits: int = 5, test_size: float = 0.25, C: float | str = "auto", seed: int = 0,
                 ci: float = 0.95, tolerance: float = 0.0, units: str = "bits", batch_size: int = 1024,
                 device: Any = None, forward: Any = None, reduce: str = "flatten") -> ProbeReport:
    """Fit a linear probe on every layer of ``model`` (and on the raw input) to predict ``y``.

    Parameters
    ----------
    model : nn.Module
        Run in eval mode under ``torch.no_grad()`` (its training flag is restored afterwards).
    x : array-like or tensor of shape (n, ...), or a tuple or dict of them
        Inputs, in any form of :mod:`infolens.model_inputs` (token ids with an attention mask,
        say); they keep their dtype, floating ones are cast to the model's float dtype. Use data
        the model was *not* trained on: on training data, probe accuracy of late layers reflects
        memorisation.
    y : array-like of shape (n,)
        Class labels.
    layers : layer selection, optional
        Names, globs, modules or predicates as in :func:`infolens.layers.capture`. Default: the model's
        ``layer_names`` attribute when it has one (as :class:`infolens.models.ReferenceMLP`), else
        every leaf module. Depth order is the model's ``named_modules()`` order.
    include_input : bool
        Also probe the raw input, as the layer ``"input"`` (the reference for the first layer).
    n_splits, test_size, C, seed, ci, tolerance, units
        See :func:`probe_activations`.
    batch_size : int
        Forward-pass batch size while capturing.
    device : optional
        Where the probes are fitted; default the device of the model's parameters.
    forward : callable ``(model, batch) -> output``, optional
        How to run the model on a batch of ``x`` (default ``model(x)``, ``model(*x)``,
        ``model(**x)``).
    reduce : {"flatten", "mean", "last", "first"}
        One vector per sample of each layer (:data:`infolens.layers.REDUCE`); named in
        ``report.params["reduce"]``.

    Returns
    -------
    ProbeReport
    """
    fn = "probe_layers"
    if not isinstance(model, nn.Module):
        raise fail("model", fn, "a torch.nn.Module", model)
    batch_size = check_int("batch_size", batch_size, fn, minimum=1)
    check_choice("reduce", reduce, REDUCE, fn)
    model_device = device_of(model)
    inputs = ModelInputs(x, "x", fn, min_samples=4, forward=forward).to(model_device, float_dtype_of(model))
    if layers is None:
        layers = getattr(model, "layer_names", None)
    with eval_mode(model), torch.no_grad(), capture(model, layers, reduce=reduce) as acts:
        run_model(model, inputs, batch_size=batch_size, fn=fn)
    recorded = {name: acts[name] for name in acts}
    activations: dict[str, Any] = {}
    if include_input:
        activations[INPUT] = inputs.flat()
    for name, value in recorded.items():
        if name == INPUT:
            raise fail("layers", fn, f"layers not named {INPUT!r} (reserved for the raw input)", name)
        activations[name] = value
    report = _probe_activations(activations, y, n_splits, test_size, C, seed, ci, tolerance, units,
                                device if device is not None else model_device, fn)
    return replace(report, params={**report.params, "reduce": reduce})


def probe_activations(activations: Mapping[str, Any], y: Any, *, n_splits: int = 5, test_size: float = 0.25,
                      C: float | str = "auto", seed: int = 0, ci: float = 0.95, tolerance: float = 0.0,
                      units: str = "bits", device: Any = None) -> ProbeReport:
    """Fit a linear probe per entry of ``activations`` (in the mapping's order) to predict ``y``.

    Parameters
    ----------
    activations : mapping of name -> array-like or tensor of shape (n, ...)
        The representations to probe, in depth order; trailing dimensions are flattened.
    y : array-like of shape (n,)
        Class labels (any values; each distinct value is a class).
    n_splits : int
        Number of seeded stratified train/test splits (>= 2); all layers share the same splits,
        so gains between layers are paired.
    test_size : float in (0, 1)
        Fraction of samples held out in each split.
    C : float or "auto"
        Inverse L2 strength of the probe (scikit-learn's meaning). ``"auto"`` picks, per layer,
        the value of :data:`C_GRID` with the lowest cross-entropy on a stratified 75/25 validation
        split of the first split's training part.
    seed : int
        Seed of the splits.
    ci : float
        Confidence level of the intervals (corrected resampled t, Nadeau & Bengio 2003: the
        variance over splits is inflated by ``1/J + n_test/n_train`` to account for overlapping
        training sets; a plain t interval over repeated splits is too narrow).
    tolerance : float
        Accuracy gain (a fraction, e.g. 0.01 for one point) at or below which a layer counts as
        redundant even when the gain is significant. See :attr:`ProbeReport.redundant`.
    units : {"bits", "nats"}
        Units of the cross-entropy and of the ``I(T;Y)`` bound.
    device : optional
        Torch device of the fits; default the device of the first tensor given, else CPU.

    Returns
    -------
    ProbeReport
    """
    return _probe_activations(activations, y, n_splits, test_size, C, seed, ci, tolerance, units, device,
                              "probe_activations")


def _probe_activations(activations: Mapping[str, Any], y: Any, n_splits: int, test_size: float,
                       C: float | str, seed: int, ci: float, tolerance: float, units: str, device: Any,
                       fn: str) -> ProbeReport:
    """:func:`probe_activations`, with the public function's name ``fn`` for error messages."""
    units = check_units(units, fn)
    n_splits = check_int("n_splits", n_splits, fn, minimum=2)
    test_size = check_float("test_size", test_size, fn, minimum=0.0, maximum=0.9, strict_minimum=True)
    seed = check_seed("seed", seed, fn)
    level = check_probability_level("ci", ci, fn)
    tolerance = check_float("tolerance", tolerance, fn)
    if not (C == "auto" or (not isinstance(C, (bool, str)) and isinstance(C, (int, float))
                            and math.isfinite(C) and C > 0)):
        raise fail("C", fn, "a finite float > 0 or 'auto'", C)
    if not isinstance(activations, Mapping) or not activations:
        raise fail("activations", fn, "a non-empty mapping of layer name -> array", activations)
    labels = as_labels(y, "y", fn, min_samples=4)
    n = labels.shape[0]
    names = list(activations)
    if device is None:
        device = next((v.device for v in activations.values() if isinstance(v, torch.Tensor)), "cpu")
    features: list[torch.Tensor] = []
    for name in names:
        value = _as_features(activations[name], f"activations[{name!r}]", fn)
        check_same_length(fn, y=labels, **{f"activations[{name!r}]": value})
        features.append(value.to(device=device, dtype=torch.float64))
    n_classes = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=n_classes)
    if counts.min() < 2:
        raise fail("y", fn, "labels with at least 2 samples per class", got=f"class counts {counts.tolist()}")
    entropy_y_nats = float(entropy(counts / n, units="nats"))
    splits = _splits(labels, n_splits, test_size, seed)
    target = torch.as_tensor(labels, device=device)

    start = time.perf_counter()
    acc = np.zeros((len(names), n_splits))
    ce = np.zeros((len(names), n_splits))
    mi_nats = np.zeros((len(names), n_splits))
    strengths: list[float] = []
    with _single_threaded(torch.device(device).type == "cpu"):
        _fit_all(features, target, labels, splits, n_classes, C, seed, acc, mi_nats, ce, strengths, fn)
    seconds = time.perf_counter() - start

    n_test = len(splits[0][1])
    n_train = len(splits[0][0])
    ce_units = from_nats(ce, units)
    entropy_y = float(from_nats(entropy_y_nats, units))
    mi = from_nats(mi_nats, units)

    def interval(values: np.ndarray) -> tuple[float, float]:
        return _corrected_interval(values, n_train, n_test, level)

    gains: list[float | None] = []
    gain_cis: list[tuple[float, float] | None] = []
    references: list[str | None] = []
    flags: list[bool] = []
    for i in range(len(names)):
        if i == 0:
            gains.append(None)
            gain_cis.append(None)
            references.append(None)
            flags.append(False)
            continue
        kept = [j for j in range(i) if not flags[j]]
        ref = kept[int(np.argmax(acc[kept].mean(axis=1)))]
        diff = acc[i] - acc[ref]
        low, high = interval(diff)
        gains.append(float(diff.mean()))
        gain_cis.append((low, high))
        references.append(names[ref])
        flags.append(bool(low <= 0.0 or diff.mean() <= tolerance))

    return ProbeReport(
        layers=tuple(names), dims=tuple(int(f.shape[1]) for f in features),
        accuracy=tuple(float(v) for v in acc.mean(axis=1)),
        accuracy_ci=tuple(interval(row) for row in acc),
        cross_entropy=tuple(float(v) for v in ce_units.mean(axis=1)),
        cross_entropy_ci=tuple(interval(row) for row in ce_units),
        mi_lower_bound=tuple(float(v) for v in mi.mean(axis=1)),
        mi_lower_bound_ci=tuple(interval(row) for row in mi),
        gain=tuple(gains), gain_ci=tuple(gain_cis), reference=tuple(references), is_redundant=tuple(flags),
        entropy_y=entropy_y, chance_accuracy=float(counts.max() / n), units=units, n_samples=n,
        n_classes=n_classes, n_splits=n_splits, test_size=test_size, ci_level=level, tolerance=tolerance,
        regularization=tuple(strengths),
        split_accuracy=tuple(tuple(float(v) for v in row) for row in acc),
        split_cross_entropy=tuple(tuple(float(v) for v in row) for row in ce_units),
        seconds=seconds, params={"C": C, "seed": seed, "probe": "softmax regression, L-BFGS, float64",
                                 "reduce": "flatten"},
    )


def _fit_all(features: list[torch.Tensor], target: torch.Tensor, labels: np.ndarray,
             splits: list[tuple[np.ndarray, np.ndarray]], n_classes: int, C: float | str, seed: int,
             acc: np.ndarray, mi: np.ndarray, ce: np.ndarray, strengths: list[float], fn: str) -> None:
    """Fit every layer's probes on every split; fill ``acc``, ``mi``, ``ce`` (nats) and ``strengths``.

    The bits are the linear family's usable information (:func:`infolens.v_information`, one
    implementation): held-out cross-entropy of the fitted null model minus the probe's.
    """
    from infolens.estimators.usable import _fit_splits

    for i, data in enumerate(features):
        start_from = None
        if C == "auto":
            strength, start_from = _select_strength(data, target, labels, splits[0][0], n_classes, seed)
        else:
            strength = float(C)
        strengths.append(strength)
        fits = _fit_splits(data, target, splits, n_classes, "linear", strength, fn, init=start_from)
        acc[i], mi[i], ce[i] = fits.accuracy, fits.information, fits.cross_entropy


@contextmanager
def _single_threaded(torch_cpu: bool) -> Iterator[None]:
    """One BLAS thread (SciPy's L-BFGS-B) and, when ``torch_cpu``, one torch thread; restored after.

    Probe fits are thousands of small vector and matrix operations; on a shared 2-core machine two
    threads made them 10-150x slower than one (threads waiting on each other), and one thread is
    never much slower at these sizes.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), (torch_threads(1) if torch_cpu else nullcontext()):
        yield


def fit_softmax_regression(x: torch.Tensor, y: torch.Tensor, n_classes: int, C: float, *,
                           init: tuple[torch.Tensor, torch.Tensor] | None = None, max_iter: int = 2000,
                           gtol: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression ``softmax(x W + b)`` by full-batch L-BFGS.

    Minimises ``mean_i CE_i + ||W||^2 / (2 C n)`` (scikit-learn's ``LogisticRegression(C=C)``
    objective divided by ``C n``; the intercept is not penalised). The loss and its analytic
    gradient are computed in torch in the dtype and on the device of ``x``; SciPy's L-BFGS-B
    (Fortran) drives the iterations, which costs far less per iteration than
    ``torch.optim.LBFGS``'s Python line search. Stops when the largest gradient entry is below
    ``gtol`` or after ``max_iter`` iterations. Returns ``(W, b)`` with shapes ``(d, n_classes)``
    and ``(n_classes,)`` on ``x``'s device.
    """
    from scipy.optimize import minimize

    n, d = x.shape
    size = d * n_classes
    penalty = 1.0 / (C * n)
    onehot = nn.functional.one_hot(y, n_classes).to(x.dtype)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = torch.from_numpy(theta).to(device=x.device, dtype=x.dtype)
        weight, bias = params[:size].reshape(d, n_classes), params[size:]
        logits = x @ weight + bias
        log_norm = torch.logsumexp(logits, dim=1)
        loss = (log_norm - (logits * onehot).sum(dim=1)).mean() + 0.5 * penalty * weight.pow(2).sum()
        residual = (torch.exp(logits - log_norm[:, None]) - onehot) / n
        grad = torch.cat([(x.T @ residual + penalty * weight).reshape(-1), residual.sum(dim=0)])
        return float(loss), grad.cpu().numpy().astype(np.float64)

    theta0 = np.zeros(size + n_classes)
    if init is not None:
        theta0 = np.concatenate([to_numpy(init[0]).reshape(-1), to_numpy(init[1]).reshape(-1)])
    result = minimize(objective, theta0, jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-12, "maxcor": 20})
    theta = torch.from_numpy(result.x).to(device=x.device, dtype=x.dtype)
    return theta[:size].reshape(d, n_classes), theta[size:]


def _as_features(value: Any, name: str, fn: str) -> torch.Tensor:
    """(n, ...) array or tensor -> finite (n, d) tensor (device kept for tensors)."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.ndim == 0 or tensor.device.type == "meta" or tensor.shape[0] < 4:
            raise fail(name, fn, "a tensor of shape (n, ...) with n >= 4 on a real device", tensor)
        if tensor.ndim == 1:
            tensor = tensor[:, None]
        tensor = tensor.reshape(tensor.shape[0], -1) if tensor.ndim > 2 else tensor
        if not tensor.is_floating_point():
            tensor = tensor.double()
        if tensor.shape[1] == 0 or not bool(torch.isfinite(tensor).all()):
            raise fail(name, fn, "a finite array with at least one feature", tensor)
        return tensor
    try:
        arr = to_numpy(value)
    except (TypeError, ValueError, RuntimeError) as err:  # ragged, strings, objects
        raise fail(name, fn, "a numeric array of shape (n, ...) with n >= 4", value) from err
    if arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return torch.from_numpy(as_samples(arr, name, fn, min_samples=4))


def _splits(labels: np.ndarray, n_splits: int, test_size: float,
            seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded stratified shuffle splits (plain shuffle splits if a class is too small to stratify)."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    n = labels.shape[0]
    n_test = int(math.ceil(test_size * n))
    n_classes = int(labels.max()) + 1
    can_stratify = n_test >= n_classes and n - n_test >= n_classes
    splitter = (StratifiedShuffleSplit if can_stratify else ShuffleSplit)(
        n_splits=n_splits, test_size=test_size, random_state=seed)
    return [(np.sort(train), np.sort(test)) for train, test in splitter.split(np.zeros((n, 1)), labels)]


def _standardized(data: torch.Tensor, train: np.ndarray,
                  test: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows ``train`` and ``test`` standardised with the training part's mean and std
    (numerically constant features become 0)."""
    index_train = torch.as_tensor(train, device=data.device)
    index_test = torch.as_tensor(test, device=data.device)
    x_train, x_test = standardize(data[index_train], data[index_test], rel_tol=1e-12)
    return x_train, x_test


def _select_strength(data: torch.Tensor, target: torch.Tensor, labels: np.ndarray, train: np.ndarray,
                     n_classes: int, seed: int) -> tuple[float, tuple[torch.Tensor, torch.Tensor]]:
    """The C of :data:`C_GRID` with the lowest validation cross-entropy, and its ``(W, b)``.

    The grid is walked from strong to weak regularisation, each fit warm-started from the last.
    """
    inner = _splits(labels[train], 1, 0.25, seed + 1)[0]
    inner_train, inner_val = train[inner[0]], train[inner[1]]
    x_train, x_val = _standardized(data, inner_train, inner_val)
    y_train = target[torch.as_tensor(inner_train, device=data.device)]
    y_val = target[torch.as_tensor(inner_val, device=data.device)]
    best, best_loss, solution = C_GRID[0], math.inf, None
    init = None
    for strength in C_GRID:
        init = fit_softmax_regression(x_train, y_train, n_classes, strength, init=init)
        loss = float(nn.functional.cross_entropy(x_val @ init[0] + init[1], y_val))
        if loss < best_loss:
            best, best_loss, solution = strength, loss, init
    assert solution is not None
    return best, solution


def _corrected_interval(values: np.ndarray, n_train: int, n_test: int, level: float) -> tuple[float, float]:
    """Corrected resampled t interval (Nadeau & Bengio 2003) of the mean of per-split values."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    j = values.shape[0]
    mean = float(values.mean())
    variance = float(values.var(ddof=1)) * (1.0 / j + n_test / n_train)
    half = float(stats.t.ppf(0.5 + level / 2.0, df=j - 1)) * math.sqrt(max(variance, 0.0))
    return (mean - half, mean + half)

