"""Usable (V-) information ``I_V(T -> Y)`` of a predictive family, and its pointwise form.

``I_V(T -> Y) = H_V(Y) - H_V(Y | T)`` (Xu, Zhao, Song, Stewart & Ermon 2020): both terms are
held-out cross-entropies of the same family ``V`` fitted on the training part of a split.
``H_V(Y | T)`` is the family fitted on ``T``; ``H_V(Y)`` is the *null model*, the same family on no
input, which is a free constant logit vector (the intercept, never penalised): its
maximum-likelihood fit is the training part's label marginal, used in closed form. The MLP starts
from exactly that null model (output weights zero, output bias the log marginal), so training can
only move it away from the null model where the data says so.

The pointwise form (Ethayarajh, Choi & Swayamdipta 2022) of a held-out sample is
``PVI(t_i -> y_i) = log q(y_i | t_i) - log p_null(y_i)``; its mean over a split's held-out part is
that split's estimate. :func:`infolens.probe_layers` computes its information bound through
:func:`_fit_splits` here (one implementation).

In the information plane it estimates I(T;Y) only (it needs labels, and I(X;T) of a deterministic
network is not a prediction problem): ``v_information(t, y, units="nats", family=..., C=...,
n_splits=..., test_size=..., seed=...).value`` per layer, with ``flags`` saying when a fit is at
chance or overfits.

References
----------
Y. Xu, S. Zhao, J. Song, R. Stewart and S. Ermon, "A theory of usable information under
computational constraints", ICLR 2020.
K. Ethayarajh, Y. Choi and S. Swayamdipta, "Understanding dataset difficulty with V-usable
information", ICML 2022.
C. Nadeau and Y. Bengio, "Inference for the generalization error", Machine Learning 52 (2003).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from infolens._units import check_units, from_nats
from infolens._validation import as_labels, check_choice, check_float, check_int, check_seed, fail
from infolens.estimators.result import Estimate
from infolens.measures import entropy
from infolens.probes import (
    _as_features,
    _corrected_interval,
    _select_strength,
    _single_threaded,
    _splits,
    _standardized,
    fit_softmax_regression,
)

FAMILIES = ("linear", "mlp")


@dataclass(frozen=True, repr=False)
class VInformation(Estimate):
    """An :class:`~infolens.Estimate` of ``I_V(T -> Y)`` (``quantity="mi"``,
    ``method="v_information"``) with the per-sample pointwise values.

    ``details`` holds, in ``units``: ``entropy_null`` (mean held-out ``H_V(Y)``),
    ``cross_entropy`` (mean held-out ``H_V(Y|T)``), ``split_values`` (per-split estimates), and the
    mean held-out ``accuracy`` with ``chance_accuracy`` (majority-class rate).

    Attributes
    ----------
    pointwise : tuple of float
        Pointwise V-information of every row that some split held out, in ``units``: the mean of
        ``log q(y_i | t_i) - log p_null(y_i)`` over the splits that held row ``i`` out. The lowest
        values are the hardest (or mislabelled) samples:
        ``np.array(est.pointwise_index)[np.argsort(est.pointwise)]``.
    pointwise_index : tuple of int
        The input rows of ``pointwise`` (increasing; rows no split held out are absent).
    pointwise_count : tuple of int
        How many splits held each of those rows out.
    """

    pointwise: tuple[float, ...] = ()
    pointwise_index: tuple[int, ...] = ()
    pointwise_count: tuple[int, ...] = ()


@dataclass
class _SplitFits:
    """Per-split held-out results of one family on one representation (nats)."""

    accuracy: np.ndarray
    chance: np.ndarray
    cross_entropy: np.ndarray
    entropy_null: np.ndarray
    pointwise: list[tuple[np.ndarray, np.ndarray]]

    @property
    def information(self) -> np.ndarray:
        """Per-split ``H_V(Y) - H_V(Y|T)`` in nats."""
        return self.entropy_null - self.cross_entropy


def v_information(t: Any, y: Any, *, family: str = "linear", test_size: float = 0.25, n_splits: int = 5,
                  seed: int = 0, C: float | str = "auto", hidden: int = 64, epochs: int = 60,
                  ci: float = 0.95, units: str = "bits", device: Any = None) -> VInformation:
    """Usable information ``I_V(T -> Y)`` of a family of predictors, on held-out splits.

    Parameters
    ----------
    t : array or tensor of shape (n, ...)
        Representations (trailing dimensions flattened); standardised with each training part's
        mean and standard deviation.
    y : array of shape (n,)
        Class labels; every class must land in the training part of every split.
    family : {"linear", "mlp"}
        ``"linear"``: softmax regression (L-BFGS, penalty ``||W||^2 / (2 C n)``, the probes' fit,
        :func:`infolens.probes.fit_softmax_regression`). ``"mlp"``: one hidden ReLU layer of width
        ``hidden``, Adam on minibatches of 256 for at most ``epochs`` epochs with weight decay
        ``1 / (C n)`` on the weights, early-stopped on a seeded 20 % validation part of the
        training part (the best validation cross-entropy is kept).
    test_size : float in (0, 1)
        Held-out fraction of each seeded stratified split.
    n_splits : int >= 2
        Number of splits; the interval is over them.
    seed : int
        Seed of the splits (and of the MLP's initialisation and batches).
    C : float > 0 or "auto"
        Inverse regularisation strength (scikit-learn's meaning). ``"auto"``: for ``"linear"``,
        the value of :data:`infolens.probes.C_GRID` with the lowest cross-entropy on a 75/25
        validation split of the first training part (as :func:`infolens.probe_layers`; on wide
        layers a weak penalty lets the probe overfit its held-out cross-entropy badly); for
        ``"mlp"``, 1.0 (early stopping does the regularising). The value used is
        ``details["C"]``.
    hidden, epochs : int
        MLP width and epoch budget.
    ci : float in (0, 1)
        Level of the corrected resampled t interval over splits (Nadeau & Bengio 2003).
    units : {"bits", "nats"}
    device : torch device, optional
        Where the fits run (default: ``t``'s device, CPU for arrays).

    Returns
    -------
    VInformation
        ``value`` is the mean over splits; ``ci`` the interval; ``cap`` the plug-in ``H(Y)``.
        Flags: ``"negative"`` (value < 0); ``"overfit"`` (the whole interval below 0: the fit is
        worse than the null model on held-out data, i.e. it overfits the training part);
        ``"at_chance"`` (held-out accuracy not above the majority-class rate within the
        interval: a collapsed or too weak fit reads about 0 bits, which is not the same as ``T``
        holding no information about ``Y``).

    Examples
    --------
    >>> import numpy as np, infolens as il
    >>> y = np.arange(200) % 4
    >>> est = il.v_information(np.eye(4)[y], y, n_splits=3)
    >>> round(est.value, 1)
    2.0
    """
    fn = "v_information"
    family = check_choice("family", family, FAMILIES, fn)
    test_size = check_float("test_size", test_size, fn, minimum=0.0, maximum=0.9, strict_minimum=True)
    n_splits = check_int("n_splits", n_splits, fn, minimum=2)
    seed = int(check_seed("seed", seed, fn))
    auto = isinstance(C, str) and C == "auto"
    if not auto and not (not isinstance(C, (bool, str)) and isinstance(C, (int, float))
                         and math.isfinite(C) and C > 0):
        raise fail("C", fn, "a finite float > 0 or 'auto'", C)
    hidden = check_int("hidden", hidden, fn, minimum=1)
    epochs = check_int("epochs", epochs, fn, minimum=1)
    level = check_float("ci", ci, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    if level >= 1.0:
        raise fail("ci", fn, "a float in (0, 1)", ci)
    units = check_units(units, fn)
    data = _as_features(t, "t", fn)
    labels = as_labels(y, "y", fn, min_samples=4)
    n = int(data.shape[0])
    if labels.shape[0] != n:
        raise fail("y", fn, f"as many samples as t ({n})", got=f"{labels.shape[0]} samples")
    data = data.to(device=device if device is not None else data.device, dtype=torch.float64)
    n_classes = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=n_classes)
    if counts.min() < 2:
        raise fail("y", fn, "labels with at least 2 samples per class (one on each side of a held-out "
                   "split)", got=f"class counts {counts.tolist()[:20]}")
    splits = _splits(labels, n_splits, test_size, seed)
    target = torch.as_tensor(labels, device=data.device)
    with _single_threaded(data.device.type == "cpu"):
        strength, init = (1.0 if auto else float(C)), None
        if auto and family == "linear":
            strength, init = _select_strength(data, target, labels, splits[0][0], n_classes, seed)
        fits = _fit_splits(data, target, splits, n_classes, family, strength, fn, hidden=hidden,
                           epochs=epochs, seed=seed, init=init)
    n_test, n_train = len(splits[0][1]), len(splits[0][0])
    info = fits.information
    low, high = _corrected_interval(info, n_train, n_test, level)
    acc_low, _ = _corrected_interval(fits.accuracy - fits.chance, n_train, n_test, level)
    flags = []
    if info.mean() < 0:
        flags.append("negative")
    if high < 0:
        flags.append("overfit")
    if acc_low <= 0:
        flags.append("at_chance")
    total, seen = np.zeros(n), np.zeros(n, dtype=np.int64)
    for index, values in fits.pointwise:
        np.add.at(total, index, values)
        np.add.at(seen, index, 1)
    rows = np.flatnonzero(seen)

    def conv(value: Any) -> Any:
        return from_nats(value, units)

    return VInformation(
        value=float(conv(info.mean())), units=units, quantity="mi", method="v_information",
        params={"family": family, "test_size": test_size, "n_splits": n_splits, "seed": seed, "C": C,
                "hidden": hidden, "epochs": epochs},
        n_samples=n, n_used=n, ci=(float(conv(low)), float(conv(high))), ci_level=level,
        cap=float(entropy(counts / n, units=units)), flags=tuple(flags),
        details={"entropy_null": float(conv(fits.entropy_null.mean())),
                 "cross_entropy": float(conv(fits.cross_entropy.mean())),
                 "split_values": tuple(float(v) for v in conv(info)),
                 "C": strength, "accuracy": float(fits.accuracy.mean()),
                 "chance_accuracy": float(fits.chance.mean())},
        pointwise=tuple(float(v) for v in conv(total[rows] / seen[rows])),
        pointwise_index=tuple(int(i) for i in rows), pointwise_count=tuple(int(seen[i]) for i in rows))


def _fit_splits(data: torch.Tensor, target: torch.Tensor, splits: list[tuple[np.ndarray, np.ndarray]],
                n_classes: int, family: str, C: float, fn: str, *, hidden: int = 64, epochs: int = 60,
                seed: int = 0, init: tuple[torch.Tensor, torch.Tensor] | None = None) -> _SplitFits:
    """Fit ``family`` and its null model on every split; held-out results in nats.

    ``init`` warm-starts the first linear fit; each later one starts from the previous split's
    solution (the training parts overlap, so the unique optimum is close).
    """
    n_splits = len(splits)
    accuracy, chance = np.zeros(n_splits), np.zeros(n_splits)
    cross_entropy, entropy_null = np.zeros(n_splits), np.zeros(n_splits)
    pointwise = []
    for s, (train, test) in enumerate(splits):
        x_train, x_test = _standardized(data, train, test)
        y_train = target[torch.as_tensor(train, device=data.device)]
        y_test = target[torch.as_tensor(test, device=data.device)]
        counts = torch.bincount(y_train, minlength=n_classes)
        if bool((counts == 0).any()):
            raise fail("y", fn, "labels whose every class appears in the training part of every split "
                       "(more samples per class or another test_size)",
                       got=f"class counts {np.bincount(target.cpu().numpy()).tolist()[:20]} with "
                           f"{len(test)} of {len(target)} samples held out")
        log_prior = torch.log(counts.to(x_train.dtype) / len(train))
        if family == "linear":
            init = fit_softmax_regression(x_train, y_train, n_classes, C, init=init)
            logits = x_test @ init[0] + init[1]
        else:
            logits = _fit_mlp(x_train, y_train, x_test, log_prior, C, hidden, epochs, seed + s)
        log_q = torch.log_softmax(logits.to(torch.float64), dim=1).gather(1, y_test[:, None])[:, 0]
        log_null = log_prior[y_test]
        accuracy[s] = float((logits.argmax(dim=1) == y_test).double().mean())
        chance[s] = float((y_test == int(counts.argmax())).double().mean())
        cross_entropy[s] = float(-log_q.mean())
        entropy_null[s] = float(-log_null.mean())
        pointwise.append((test, (log_q - log_null).cpu().numpy()))
    return _SplitFits(accuracy, chance, cross_entropy, entropy_null, pointwise)


def _fit_mlp(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, log_prior: torch.Tensor,
             C: float, hidden: int, epochs: int, seed: int, batch_size: int = 256,
             patience: int = 8) -> torch.Tensor:
    """Held-out logits of a one-hidden-layer ReLU MLP started at the null model, early-stopped."""
    generator = torch.Generator().manual_seed(seed)
    device, dtype = x_train.device, torch.float32
    x_train, x_test = x_train.to(dtype), x_test.to(dtype)
    n, d = x_train.shape
    order = torch.randperm(n, generator=generator).to(device)
    n_val = max(1, n // 5)
    x_val, y_val = x_train[order[:n_val]], y_train[order[:n_val]]
    x_fit, y_fit = x_train[order[n_val:]], y_train[order[n_val:]]
    bound = 1.0 / math.sqrt(d)
    w1 = ((torch.rand(d, hidden, generator=generator) * 2 - 1) * bound).to(device).requires_grad_()
    b1 = ((torch.rand(hidden, generator=generator) * 2 - 1) * bound).to(device).requires_grad_()
    w2 = torch.zeros(hidden, log_prior.shape[0], device=device, requires_grad=True)
    b2 = log_prior.to(dtype).clone().requires_grad_()
    params = [w1, b1, w2, b2]

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ w1 + b1) @ w2 + b2

    optimizer = torch.optim.Adam([{"params": [w1, w2], "weight_decay": 1.0 / (C * len(x_fit))},
                                  {"params": [b1, b2], "weight_decay": 0.0}], lr=1e-2)
    with torch.no_grad():
        best_loss = float(nn.functional.cross_entropy(forward(x_val), y_val))
    best = [p.detach().clone() for p in params]
    waited = 0
    for _ in range(epochs):
        perm = torch.randperm(len(x_fit), generator=generator).to(device)
        for start in range(0, len(x_fit), batch_size):
            batch = perm[start:start + batch_size]
            optimizer.zero_grad()
            nn.functional.cross_entropy(forward(x_fit[batch]), y_fit[batch]).backward()
            optimizer.step()
        with torch.no_grad():
            loss = float(nn.functional.cross_entropy(forward(x_val), y_val))
        if loss < best_loss:
            best_loss, best, waited = loss, [p.detach().clone() for p in params], 0
        else:
            waited += 1
            if waited >= patience:
                break
    with torch.no_grad():
        for p, value in zip(params, best, strict=True):
            p.copy_(value)
        return forward(x_test)
