"""The probe fits shared by the per-layer probes (:mod:`infolens.probes`) and usable information
(:mod:`infolens.estimators.usable`): multinomial logistic regression by L-BFGS, seeded splits,
standardisation with the training part's statistics, the choice of the regularisation strength,
the corrected resampled t interval, and one-thread execution. Below both, one implementation.

References
----------
C. Nadeau and Y. Bengio, "Inference for the generalization error", Machine Learning 52 (2003)
(the corrected resampled t interval).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import torch
from torch import nn

from infolens._standardize import standardize
from infolens._threads import torch_threads
from infolens._validation import as_samples, fail, to_numpy

__all__ = ["C_GRID", "fit_softmax_regression"]

#: Regularisation strengths tried per layer with ``C="auto"`` (scikit-learn's meaning of C). The
#: strong end matters on wide layers: an untrained 2,048-unit transformer block on 750 training
#: sequences overfits at C = 0.01 by 1.7 bits of held-out cross-entropy and reads about 0 at 1e-4.
C_GRID: tuple[float, ...] = (1e-4, 1e-3, 0.01, 0.1, 1.0)


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
    """Seeded stratified shuffle splits (plain shuffle splits if a class is too small to stratify:
    fewer than 2 members, or fewer test or training rows than classes)."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    n = labels.shape[0]
    n_test = int(math.ceil(test_size * n))
    n_classes = int(labels.max()) + 1
    can_stratify = (n_test >= n_classes and n - n_test >= n_classes
                    and int(np.bincount(labels, minlength=n_classes).min()) >= 2)
    splitter = (StratifiedShuffleSplit if can_stratify else ShuffleSplit)(
        n_splits=n_splits, test_size=test_size, random_state=seed)
    return [(np.sort(train), np.sort(test)) for train, test in splitter.split(np.zeros((n, 1)), labels)]


def _standardized(data: torch.Tensor, train: np.ndarray,
                  test: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows ``train`` and ``test`` standardised with the training part's mean and std
    (numerically constant features become 0), the test rows clipped to the training part's range
    of each feature.

    The clip keeps a probe from extrapolating: a sparse feature (a ReLU unit of a conv map that
    fires for a few training images) has a tiny training std, and one held-out image that fires
    strongly lands hundreds of standard deviations out, where the fitted logits are arbitrarily
    confident (a digits CNN's untrained feature map read -34 bits of usable information without
    it). A feature the probe never saw vary cannot inform it.
    """
    index_train = torch.as_tensor(train, device=data.device)
    index_test = torch.as_tensor(test, device=data.device)
    x_train, x_test = standardize(data[index_train], data[index_test], rel_tol=1e-12)
    low, high = x_train.min(dim=0).values, x_train.max(dim=0).values
    return x_train, torch.minimum(torch.maximum(x_test, low), high)


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
