"""Usable (V-) information ``I_V(T -> Y)`` of a predictive family, and its pointwise form.

``I_V(T -> Y) = H_V(Y) - H_V(Y | T)`` (Xu, Zhao, Song, Stewart & Ermon 2020, "A theory of usable
information under computational constraints", ICLR): both terms are held-out cross-entropies of
the same family fitted on the training split, ``H_V(Y)`` by the null model on no input (a bias
only; its maximum-likelihood fit is the training split's label marginal, used in closed form).
The pointwise form (Ethayarajh, Choi & Swayamdipta 2022) is
``PVI(t_i -> y_i) = -log p_null(y_i) + log p_T(y_i | t_i)`` on held-out samples; its mean over a
split is that split's estimate. The module lives beside :mod:`infolens.probes` because it trains
the same torch probes (it reuses their L-BFGS softmax fit, splits and standardisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from infolens._units import from_nats
from infolens._validation import (as_labels, check_choice, check_float, check_int, check_seed,
                                  check_units, fail)
from infolens.probes import _as_features, _corrected_interval, _splits, _standardized, fit_softmax_regression

FAMILIES = ("linear", "mlp")


@dataclass(frozen=True)
class VInformation:
    """Usable information with its interval over splits, per-sample values and flags.

    Attributes
    ----------
    value : float
        Mean over splits of ``H_V(Y) - H_V(Y|T)``, in ``units``.
    interval : tuple of float
        Corrected resampled t interval (Nadeau & Bengio 2003) over the repeated random
        stratified splits, at ``level``.
    split_values : tuple of float
        Per-split estimates.
    entropy_null, cross_entropy : float
        Mean held-out ``H_V(Y)`` (null model) and ``H_V(Y|T)``, in ``units``.
    accuracy, chance_accuracy : float
        Mean held-out accuracy of the family, and the majority-class rate.
    pointwise, pointwise_index : tuple
        PVI of every held-out sample of every split (in ``units``) and its row index in the input.
    family, test_size, n_splits, seed, C, hidden, max_dim, units : settings as used.
    flags : tuple of str
        ``"at_chance"``: the fit predicts no better than the majority class (0 bits then means a
        collapsed fit, not no information). ``"negative"``: below 0 beyond its interval (the family
        overfits the training split).
    """

    value: float
    interval: tuple[float, float]
    split_values: tuple[float, ...]
    entropy_null: float
    cross_entropy: float
    accuracy: float
    chance_accuracy: float
    pointwise: tuple[float, ...]
    pointwise_index: tuple[int, ...]
    family: str
    test_size: float
    n_splits: int
    seed: int
    C: float
    hidden: int
    max_dim: int | None
    level: float
    units: str
    flags: tuple[str, ...]

    def __float__(self) -> float:
        return self.value


def v_information(t: Any, y: Any, *, family: str = "linear", test_size: float = 0.25, n_splits: int = 5,
                  seed: int = 0, C: float = 1.0, hidden: int = 64, steps: int = 300,
                  max_dim: int | None = 512, level: float = 0.95, units: str = "bits",
                  device: Any = None) -> VInformation:
    """Usable information ``I_V(T -> Y)`` of a family of predictors, estimated on held-out splits.

    Parameters
    ----------
    t : array or tensor of shape (n, ...)
        Representations (flattened to (n, d)).
    y : array of shape (n,)
        Labels; every class needs at least 2 samples (one in each part of a split).
    family : {"linear", "mlp"}
        Softmax-linear (multinomial logistic regression, L-BFGS, penalty ``||W||^2 / (2 C n)``)
        or a one-hidden-layer ReLU MLP of width ``hidden`` (full-batch Adam, ``steps`` steps,
        weight decay ``1 / (C n)``).
    test_size : float in (0, 1)
        Held-out fraction of each repeated random stratified split.
    n_splits : int >= 2
        Number of splits (seeded from ``seed``).
    C : float > 0
        Inverse regularisation strength.
    max_dim : int or None
        Features beyond this many are reduced by a seeded Gaussian random projection (after
        standardisation); ``None`` keeps every feature.
    units : {"bits", "nats"}
    device : torch device or None
        Where the fits run (default: ``t``'s device, CPU for arrays).

    Returns
    -------
    VInformation
    """
    fn = "v_information"
    family = check_choice("family", family, FAMILIES, fn)
    test_size = check_float("test_size", test_size, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    if test_size >= 1.0:
        raise fail("test_size", fn, "a finite float > 0 and < 1", test_size)
    n_splits = check_int("n_splits", n_splits, fn, minimum=2)
    seed = int(check_seed("seed", seed, fn))
    C = check_float("C", C, fn, minimum=0.0, strict_minimum=True)
    hidden = check_int("hidden", hidden, fn, minimum=1)
    steps = check_int("steps", steps, fn, minimum=1)
    if max_dim is not None:
        max_dim = check_int("max_dim", max_dim, fn, minimum=1)
    level = check_float("level", level, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    units = check_units(units, fn)
    data = _as_features(t, "t", fn)
    labels = as_labels(y, "y", fn)
    n = data.shape[0]
    if labels.shape[0] != n:
        raise fail("y", fn, f"as many samples as t ({n})", got=f"{labels.shape[0]} samples")
    counts = np.bincount(labels)
    n_test = int(math.ceil(test_size * n))
    if counts.min() < 2 or n_test < counts.size or n - n_test < counts.size:
        raise fail("y", fn, "labels with at least 2 samples of every class and a split leaving every "
                   "class on both sides", got=f"class counts {counts.tolist()[:10]} with test_size {test_size}")
    if device is not None:
        data = data.to(device)
    target = torch.as_tensor(labels, device=data.device)
    n_classes = int(counts.size)
    generator = torch.Generator().manual_seed(seed)
    values, ce_all, null_all, acc_all, pvi_all, index_all = [], [], [], [], [], []
    for train, test in _splits(labels, n_splits, test_size, seed):
        x_train, x_test = _standardized(data, train, test)
        if max_dim is not None and x_train.shape[1] > max_dim:
            projection = torch.randn(x_train.shape[1], max_dim, generator=generator, dtype=torch.float64)
            projection = projection.to(device=x_train.device, dtype=x_train.dtype) / math.sqrt(max_dim)
            x_train, x_test = x_train @ projection, x_test @ projection
        y_train, y_test = target[torch.as_tensor(train, device=data.device)], target[torch.as_tensor(test, device=data.device)]
        logits = _fit_predict(family, x_train, y_train, x_test, n_classes, C, hidden, steps, generator)
        log_p = torch.log_softmax(logits, dim=1).gather(1, y_test[:, None])[:, 0].double().cpu().numpy()
        marginal = np.bincount(labels[train], minlength=n_classes) / train.size
        log_null = np.log(marginal[labels[test]])
        pvi = log_p - log_null
        values.append(float(pvi.mean()))
        ce_all.append(float(-log_p.mean()))
        null_all.append(float(-log_null.mean()))
        acc_all.append(float((logits.argmax(dim=1) == y_test).double().mean()))
        pvi_all.append(pvi)
        index_all.append(test)
    split_nats = np.array(values)
    n_train = n - n_test
    low, high = _corrected_interval(split_nats, n_train, n_test, level)
    chance = float(counts.max() / n)
    accuracy = float(np.mean(acc_all))
    flags = []
    if accuracy <= chance + 1.0 / math.sqrt(n_test) * math.sqrt(chance * (1 - chance)) :
        flags.append("at_chance")
    if high < 0:
        flags.append("negative")
    conv = lambda v: float(from_nats(v, units))  # noqa: E731
    return VInformation(
        value=conv(split_nats.mean()), interval=(conv(low), conv(high)),
        split_values=tuple(conv(v) for v in split_nats), entropy_null=conv(np.mean(null_all)),
        cross_entropy=conv(np.mean(ce_all)), accuracy=accuracy, chance_accuracy=chance,
        pointwise=tuple(conv(v) for v in np.concatenate(pvi_all)),
        pointwise_index=tuple(int(i) for i in np.concatenate(index_all)),
        family=family, test_size=test_size, n_splits=n_splits, seed=seed, C=C, hidden=hidden,
        max_dim=max_dim, level=level, units=units, flags=tuple(flags))


def _fit_predict(family: str, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                 n_classes: int, C: float, hidden: int, steps: int, generator: torch.Generator) -> torch.Tensor:
    """Held-out logits of one fitted member of the family."""
    if family == "linear":
        weight, bias = fit_softmax_regression(x_train, y_train, n_classes, C)
        return x_test @ weight + bias
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    model = nn.Sequential(nn.Linear(x_train.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
    model = model.to(device=x_train.device, dtype=x_train.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1.0 / (C * x_train.shape[0]))
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x_train), y_train)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return model(x_test)
