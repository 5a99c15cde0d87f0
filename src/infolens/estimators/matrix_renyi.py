"""Matrix-based Renyi alpha-entropy and mutual information of samples, from Gram matrices.

No density, no bins: the entropy of n samples is a functional of the eigenvalues of their
trace-normalised Gram matrix (Sanchez Giraldo, Rao & Principe 2014), defined at any width.

* Kernel: Gaussian, ``K_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))`` on the data as given (trailing
  dimensions flattened, no standardisation), ``A = K / tr(K)`` (= ``K / n``).
* Entropy: ``S_alpha(A) = log2(tr(A^alpha)) / (1 - alpha) = log2(sum_i lambda_i^alpha) / (1 - alpha)``
  bits, ``lambda`` the eigenvalues of ``A`` (symmetric eigensolver, tiny negatives clipped to 0).
  ``alpha = 1`` is the von Neumann limit ``-sum_i lambda_i log2 lambda_i``, computed exactly;
  ``alpha = 2`` needs no eigendecomposition: ``tr(A^2) = ||A||_F^2``. ``0 <= S_alpha <= log2 n``:
  0 when all samples are equal (``A`` of rank one), ``log2 n`` when they are far apart against
  ``sigma`` (``A = I / n``).
* Joint entropy: the Hadamard product, ``S_alpha(A o B / tr(A o B))`` (Yu et al. 2019), which is
  at least each marginal; mutual information ``I = S(A) + S(B) - S(A o B) >= 0``.
* Kernel width ``sigma`` (``kernel_width``): a float used as given, or a rule evaluated on each
  batch of ``n`` samples in ``d`` dimensions:

  - ``"silverman"`` (default): ``sigma = 0.8 * n^(-1/(4+d)) * sqrt(d)``, the Silverman-type rule
    ``gamma n^(-1/(4+d))`` of Wickstrom et al. 2019 with ``gamma = 0.8`` and the ``sqrt(d)``
    dimension normalisation of Tapia & Estevez 2020, as SolidusAbi/IPDL implements it
    (``IPDL/optim/func/silverman.py``, read, not copied). Without ``sqrt(d)`` the width stays
    near 0.8 while distances between unit-scale features grow as ``sqrt(d)``: every wide layer
    would read ``log2 n``. The rule assumes features of about unit scale.
  - ``"knn"``: the mean distance of each sample to its ``min(50, n - 1)``-th nearest neighbour
    divided by ``sqrt(2)`` (Wickstrom's experiment code, k = 50, which writes the kernel as
    ``exp(-D^2 / s^2)``; ``s / sqrt(2)`` is the same kernel in the form above).

  A rule's width is computed from the detached data (a constant for gradients).
* Labels (``labels=True``, or integer 1-D input by default): one-hot vectors under the same
  Gaussian kernel with ``sigma = 0.1`` (the label width of Wickstrom's experiment code): samples
  of different classes have kernel ``exp(-100)``, so ``A`` is the class-indicator matrix over
  ``n`` to double precision and ``S_alpha`` of the labels is the Renyi alpha-entropy of the class
  frequencies.
* Minibatches (``batch_size``): a seeded permutation of the samples is cut into
  ``ceil(n / batch_size)`` batches of near-equal size (at most ``batch_size``); the functional
  is evaluated on each and averaged (Wickstrom et al. evaluate batches of 100-200). The value
  then saturates at ``log2`` of the batch size, not ``log2 n``; no ``n x n`` matrix is built.
  One batch (``batch_size >= n``) is exactly the unbatched value.

Cost per batch of ``b`` samples in ``d`` dimensions: ``O(b^2 d)`` for the Gram matrix and
``O(b^3)`` per symmetric eigendecomposition (one per entropy term, three for a mutual
information), ``O(b^2)`` instead for ``alpha = 2``; memory ``O(b^2)``. On one core
(``benchmarks/matrix_renyi.py``) a mutual information of a layer with its labels takes about
0.3 s unbatched at n = 1,000, 1.2 s at 2,000 and 15 s (and about 1 GB) at 5,000, against 0.03-0.2 s
in batches of 200 (``n / b`` eigendecompositions of ``b x b``).

numpy input is computed in float64 (through torch on the CPU); tensor input in float64 on the
tensor's device, differentiable (:func:`matrix_renyi` returns the 0-d tensor). These values are
Renyi alpha-entropies of a kernel functional, not Shannon entropies of a density.

References
----------
L. G. Sanchez Giraldo, M. Rao and J. C. Principe, "Measures of entropy from data using
infinitely divisible kernels", IEEE Trans. Inf. Theory 61 (2014).
S. Yu, L. G. Sanchez Giraldo, R. Jenssen and J. C. Principe, "Multivariate extension of
matrix-based Renyi's alpha-order entropy functional", IEEE TPAMI 42 (2019).
K. Wickstrom, S. Lokse, M. Kampffmeyer, S. Yu, J. Principe and R. Jenssen, "Information plane
analysis of deep neural networks via matrix-based Renyi's entropy and tensor kernels", 2019.
M. Tapia and P. A. Estevez, "On the information plane of autoencoders", IJCNN 2020.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from infolens._units import check_units, from_nats
from infolens._validation import (
    _is_tensor,
    as_labels,
    as_samples,
    check_float,
    check_int,
    check_seed,
    fail,
    is_discrete,
)
from infolens.estimators.result import Estimate

#: Named kernel-width rules (see the module notes).
KERNEL_WIDTHS: tuple[str, ...] = ("silverman", "knn")
#: ``gamma`` of the Silverman-type rule.
SILVERMAN_GAMMA = 0.8
#: Neighbour of the ``"knn"`` rule (Wickstrom's experiment code).
KNN_K = 50
#: Gaussian width on one-hot labels.
LABEL_WIDTH = 0.1
#: ``near_log_n`` when a value is within this many nats of ln(batch size) (as estimate_mi).
LOG_N_MARGIN = 1.0
#: ``negative`` below minus this (in ``units``): eigenvalue round-off leaves about -1e-15.
NEGATIVE_TOLERANCE = 1e-9
#: Eigenvalues at most this (relative to the largest, 1 / n at least) count as 0.
_EIGEN_FLOOR = 1e-12


def check_alpha(value: Any, fn: str) -> float:
    """The order ``alpha``: a finite float > 0."""
    return check_float("alpha", value, fn, minimum=0.0, strict_minimum=True)


def check_kernel_width(value: Any, fn: str, name: str = "kernel_width") -> float | str:
    """A finite float > 0 or one of :data:`KERNEL_WIDTHS`."""
    if isinstance(value, str):
        if value in KERNEL_WIDTHS:
            return value
    elif (not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
          and value > 0):
        return float(value)
    raise fail(name, fn, "a finite float > 0 or one of " + ", ".join(repr(r) for r in KERNEL_WIDTHS), value)


def check_batch_size(value: Any, fn: str) -> int | None:
    """None (all samples in one batch) or an int >= 2."""
    return None if value is None else check_int("batch_size", value, fn, minimum=2)


# ---------------------------------------------------------------- the functional
def squared_distances(x: torch.Tensor) -> torch.Tensor:
    """The squared Euclidean distances ``|x_i - x_j|^2`` of the rows of ``x`` (n, d), from inner
    products (no square root, so gradients are finite at equal rows; one n x n x d matrix
    product), clamped at 0, with an exact zero diagonal."""
    norms = (x * x).sum(dim=1)
    sq = (norms[:, None] + norms[None, :] - 2.0 * (x @ x.T)).clamp(min=0.0)
    return sq * (1.0 - torch.eye(len(x), dtype=x.dtype, device=x.device))


def gram_matrix(x: torch.Tensor, sigma: float, sq: torch.Tensor | None = None) -> torch.Tensor:
    """The Gaussian Gram matrix ``exp(-|x_i - x_j|^2 / (2 sigma^2))`` of the rows of ``x``, from
    their :func:`squared_distances` (``sq``, when already computed)."""
    sq = squared_distances(x) if sq is None else sq
    return torch.exp(-sq / (2.0 * sigma**2))


def kernel_width(x: torch.Tensor, rule: float | str, sq: torch.Tensor | None = None) -> float:
    """The width ``sigma`` of ``rule`` on the batch ``x`` of shape (n, d) (see the module notes);
    ``"knn"`` reads the :func:`squared_distances` ``sq`` when given (the Gram matrix's own)."""
    if not isinstance(rule, str):
        return float(rule)
    n, d = x.shape
    if rule == "silverman":
        return SILVERMAN_GAMMA * n ** (-1.0 / (4 + d)) * math.sqrt(d)
    with torch.no_grad():
        sq = squared_distances(x.detach()) if sq is None else sq.detach()
        k = min(KNN_K, n - 1)
        kth = torch.topk(sq, k + 1, dim=1, largest=False).values[:, k].sqrt()  # column 0: itself
        width = float(kth.mean()) / math.sqrt(2.0)
    return width if width > 0 else 1.0  # all samples equal: any width gives S = 0


def matrix_entropy(gram: torch.Tensor, alpha: float) -> torch.Tensor:
    """``S_alpha(K / tr K)`` in nats of a positive semi-definite Gram matrix ``K`` (a 0-d tensor)."""
    a = gram / torch.trace(gram)
    if alpha == 2.0:
        return -torch.log((a * a).sum())
    eig = torch.linalg.eigvalsh(a)
    positive = eig > _EIGEN_FLOOR * eig.max().detach()
    safe = torch.where(positive, eig, torch.ones_like(eig))
    if alpha == 1.0:
        return -torch.where(positive, safe * torch.log(safe), torch.zeros_like(eig)).sum()
    power = torch.where(positive, safe**alpha, torch.zeros_like(eig)).sum()
    return torch.log(power) / (1.0 - alpha)


def seeded_batches(n: int, batch_size: int | None, seed: int) -> list[np.ndarray]:
    """The batches of ``n`` samples: ``default_rng(seed).permutation(n)`` cut into ``ceil(n /
    batch_size)`` near-equal parts (:func:`numpy.array_split`), or one of all n in order."""
    if batch_size is None or batch_size >= n:
        return [np.arange(n)]
    order = np.random.default_rng(seed).permutation(n)
    return np.array_split(order, math.ceil(n / batch_size))


@dataclass(frozen=True)
class BatchKernel:
    """One variable on one batch: its Gram matrix (float64), the kernel width used, and the
    matrix entropy ``S(A)`` in nats (a 0-d tensor)."""

    gram: torch.Tensor
    width: float
    entropy: torch.Tensor


def batch_kernel(batch: torch.Tensor, rule: float | str, alpha: float) -> BatchKernel:
    """The :class:`BatchKernel` of the rows ``batch`` (n, d), converted to float64 here."""
    batch = batch.to(torch.float64)
    sq = squared_distances(batch)
    sigma = kernel_width(batch, rule, sq)
    gram = gram_matrix(batch, sigma, sq)
    return BatchKernel(gram, sigma, matrix_entropy(gram, alpha))


def _kernels(data: Sequence[tuple[torch.Tensor | BatchKernel, float | str]], rows: np.ndarray,
             alpha: float) -> list[BatchKernel]:
    """The :class:`BatchKernel` of each variable on ``rows`` (a variable given as a BatchKernel is
    already that of these rows)."""
    whole = len(rows) == len(data[0][0]) and bool((rows == np.arange(len(rows))).all())
    out = []
    for values, rule in data:
        if isinstance(values, BatchKernel):
            out.append(values)
        else:
            out.append(batch_kernel(values if whole else values[torch.as_tensor(rows, device=values.device)],
                                    rule, alpha))
    return out


def _functional(data: Sequence[tuple[torch.Tensor | BatchKernel, float | str]], alpha: float,
                batch_size: int | None, seed: int, shuffle_seed: int | None = None,
                ) -> tuple[list[torch.Tensor], list[float], list[int]]:
    """Means over the same seeded batches, in nats: ``[S(A)]`` for one variable, else
    ``[S(A) + S(B) - S(A o B)]`` of the first variable with each other one (its Gram matrix and
    entropy computed once per batch); the mean width of each variable; the batch sizes.

    With ``shuffle_seed``, one more mean: that of the first and the *last* variable with the
    last one's rows permuted within each batch (``default_rng(shuffle_seed).permutation`` of the
    batch's positions, the same for every batch of one size). A permutation leaves ``S(B)``
    unchanged, so it costs one more joint eigendecomposition per batch.

    A variable may come as its :class:`BatchKernel` when there is one batch of all rows.
    """
    n = len(data[0][0])
    totals = [torch.zeros((), dtype=torch.float64, device=data[0][0].device)
              for _ in range(max(1, len(data) - 1) + (shuffle_seed is not None))]
    widths = np.zeros(len(data))
    batches = seeded_batches(n, batch_size, seed)
    assert len(batches) == 1 or not any(isinstance(v, BatchKernel) for v, _ in data), "one batch only"
    for rows in batches:
        kernels = _kernels(data, rows, alpha)
        widths += [k.width for k in kernels]
        grams = [k.gram for k in kernels]
        s_first = kernels[0].entropy
        if len(grams) == 1:
            totals[0] = totals[0] + s_first
        s_others = [k.entropy for k in kernels[1:]]
        for i, (other, s_other) in enumerate(zip(grams[1:], s_others, strict=True)):
            totals[i] = totals[i] + s_first + s_other - matrix_entropy(grams[0] * other, alpha)
        if shuffle_seed is not None:
            order = torch.as_tensor(np.random.default_rng(shuffle_seed).permutation(len(rows)),
                                    device=grams[-1].device)
            permuted = grams[-1][order][:, order]
            totals[-1] = totals[-1] + s_first + s_others[-1] - matrix_entropy(grams[0] * permuted, alpha)
    return [t / len(batches) for t in totals], (widths / len(batches)).tolist(), [len(b) for b in batches]


# ---------------------------------------------------------------- inputs
def _as_variable(x: Any, name: str, fn: str, labels: bool | None,
                 rule: float | str) -> tuple[torch.Tensor, float | str, bool]:
    """``(float64 tensor (n, d), width rule, is_labels)``: labels one-hot with :data:`LABEL_WIDTH`."""
    if labels is not None and not isinstance(labels, bool):
        raise fail(f"{name}_labels" if name != "x" else "labels", fn, "True, False or None", labels)
    if labels is None:
        labels = is_discrete(x) and len(getattr(x, "shape", np.shape(x))) == 1
    device = x.device if _is_tensor(x) else torch.device("cpu")
    if labels:
        codes = as_labels(x.detach().cpu().numpy() if _is_tensor(x) else x, name, fn, min_samples=2)
        onehot = np.eye(int(codes.max()) + 1)[codes]
        return torch.as_tensor(onehot, dtype=torch.float64, device=device), LABEL_WIDTH, True
    if _is_tensor(x):
        if x.ndim == 0 or len(x) < 2:
            raise fail(name, fn, "an array with at least 2 samples", x)
        flat = x.reshape(len(x), -1)
        if flat.shape[1] == 0:
            raise fail(name, fn, "an array with at least one column", x)
        if flat.is_complex():
            raise fail(name, fn, "a real numeric array (not complex, object or string)", x)
        flat = flat.to(torch.float64)
        if not bool(torch.isfinite(flat).all()):
            bad = int((~torch.isfinite(flat)).sum())
            raise fail(name, fn, "finite (no NaN or inf)", x, got=f"{bad} non-finite values")
        return flat, rule, False
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.ndim > 2:
        arr = arr.reshape(len(arr), -1)
    return torch.as_tensor(as_samples(arr, name, fn)), rule, False


def _prepare(fn: str, alpha: Any, kernel_width: Any, batch_size: Any, seed: Any,
             units: Any) -> tuple[float, float | str, int | None, int, str]:
    return (check_alpha(alpha, fn), check_kernel_width(kernel_width, fn), check_batch_size(batch_size, fn),
            int(check_seed("seed", seed, fn)), check_units(units, fn))


# ---------------------------------------------------------------- public
def matrix_renyi(x: Any, y: Any = None, *, alpha: float = 1.01, kernel_width: float | str = "silverman",
                 y_kernel_width: float | str | None = None, labels: bool | None = None,
                 y_labels: bool | None = None, batch_size: int | None = None, seed: int = 0,
                 units: str = "bits") -> Any:
    """The matrix-based Renyi functional itself: ``S_alpha(x)``, or ``I_alpha(x; y)`` when ``y``
    is given; a float for arrays, a differentiable 0-d float64 tensor on the tensors' device when
    ``x`` or ``y`` is a tensor (for losses).

    Parameters
    ----------
    x : array or tensor of shape (n, ...)
        Samples (trailing dimensions flattened) or class labels of shape (n,).
    y : array or tensor of shape (n, ...), optional
        Second variable; without it the entropy of ``x``.
    alpha, kernel_width, y_kernel_width, labels, y_labels, batch_size, seed, units
        As :func:`matrix_renyi_mi`.

    Returns
    -------
    float or torch.Tensor
        ``S_alpha(x)`` or ``I_alpha(x; y)`` in ``units``; a 0-d float64 tensor (with gradients)
        when an input is a tensor.

    Examples
    --------
    >>> import torch, infolens as il
    >>> x = torch.randn(64, 3, dtype=torch.float64, requires_grad=True)
    >>> il.matrix_renyi(x, kernel_width=1.0).backward()
    >>> bool(torch.isfinite(x.grad).all())
    True
    """
    fn = "matrix_renyi"
    value, _, _ = _compute(fn, x, y, alpha, kernel_width, y_kernel_width, labels, y_labels, batch_size,
                           seed, units)
    return value if (_is_tensor(x) or _is_tensor(y)) else float(value)


def _compute(fn: str, x: Any, y: Any, alpha: Any, kernel_width: Any, y_kernel_width: Any, labels: Any,
             y_labels: Any, batch_size: Any, seed: Any,
             units: Any) -> tuple[torch.Tensor, dict[str, Any], int]:
    alpha, rule, batch_size, seed, units = _prepare(fn, alpha, kernel_width, batch_size, seed, units)
    y_rule = rule if y_kernel_width is None else check_kernel_width(y_kernel_width, fn, "y_kernel_width")
    data = [_as_variable(x, "x", fn, labels, rule)]
    if y is not None:
        data.append(_as_variable(y, "y", fn, y_labels, y_rule))
        n, m = len(data[0][0]), len(data[1][0])
        if m != n:
            raise fail("y", fn, f"as long as 'x' ({n} samples)", got=f"{m} samples")
        if data[1][0].device != data[0][0].device:
            data[1] = (data[1][0].to(data[0][0].device), *data[1][1:])
    (nats,), widths, sizes = _functional([(v, r) for v, r, _ in data], alpha, batch_size, seed)
    info = {"alpha": alpha, "batch_size": batch_size, "seed": seed, "units": units, "n_batches": len(sizes),
            "max_batch": max(sizes), "widths": widths, "labels": [lab for _, _, lab in data],
            "rules": [r for _, r, _ in data]}
    return from_nats(nats, units), info, len(data[0][0])


def _estimate(fn: str, quantity: str, x: Any, y: Any, alpha: Any, kernel_width: Any, y_kernel_width: Any,
              labels: Any, y_labels: Any, batch_size: Any, seed: Any, units: Any) -> Estimate:
    value, info, n = _compute(fn, x, y, alpha, kernel_width, y_kernel_width, labels, y_labels, batch_size,
                              seed, units)
    value = float(value.detach())
    cap = float(from_nats(math.log(info["max_batch"]), info["units"]))
    flags = []
    if value < -NEGATIVE_TOLERANCE:
        flags.append("negative")
    if value > cap - float(from_nats(LOG_N_MARGIN, info["units"])):
        flags.append("near_log_n")
    params = {"alpha": info["alpha"], "kernel_width": kernel_width, "batch_size": info["batch_size"],
              "seed": info["seed"]}
    details: dict[str, Any] = {"alpha": info["alpha"], "kernel_width": info["widths"][0],
                               "kernel_width_rule": info["rules"][0], "labels": info["labels"][0],
                               "batch_size": info["batch_size"], "n_batches": info["n_batches"],
                               "max_batch": info["max_batch"]}
    if y is not None:
        params["y_kernel_width"] = y_kernel_width
        details.update(y_kernel_width=info["widths"][1], y_kernel_width_rule=info["rules"][1],
                       y_labels=info["labels"][1])
    return Estimate(value=value, units=info["units"], quantity=quantity, method="matrix_renyi",
                    params=params, n_samples=n, n_used=n, cap=cap, flags=tuple(flags), details=details)


def matrix_renyi_entropy(x: Any, *, alpha: float = 1.01, kernel_width: float | str = "silverman",
                         labels: bool | None = None, batch_size: int | None = None, seed: int = 0,
                         units: str = "bits") -> Estimate:
    """Matrix-based Renyi alpha-entropy ``S_alpha(A)`` of samples (see the module notes).

    Parameters
    ----------
    x : array or tensor of shape (n, ...)
        Samples (trailing dimensions flattened), or class labels of shape (n,).
    alpha : float > 0
        Order; 1 is the von Neumann limit (exact), 1.01 the papers' choice.
    kernel_width : float > 0 or {"silverman", "knn"}
        Gaussian width ``sigma`` in the units of ``x``, or a rule evaluated per batch.
    labels : bool, optional
        Treat ``x`` as class labels (one-hot, width 0.1). Default: integer 1-D input is labels.
    batch_size : int >= 2, optional
        Average over seeded minibatches of at most this many samples (default: one batch).
    seed : int
        Seed of the batches' permutation.
    units : {"bits", "nats"}

    Returns
    -------
    Estimate
        ``method="matrix_renyi"``, ``quantity="entropy"``; ``cap`` is ``log`` of the largest
        batch (n unbatched); ``details`` hold ``alpha``, the mean ``kernel_width`` used over
        batches, its rule, ``labels``, ``batch_size``, ``n_batches``, ``max_batch``. Flag
        ``near_log_n``: within 1 nat of the cap (the samples look far apart at this width).
        ``negative`` only below -1e-9 (round-off of identical samples reads about -1e-16).

    Examples
    --------
    >>> import numpy as np, infolens as il
    >>> round(il.matrix_renyi_entropy(np.arange(8.0)[:, None] * 100, kernel_width=1.0).value, 6)
    3.0
    """
    return _estimate("matrix_renyi_entropy", "entropy", x, None, alpha, kernel_width, None, labels, None,
                     batch_size, seed, units)


def matrix_renyi_mi(x: Any, y: Any, *, alpha: float = 1.01, kernel_width: float | str = "silverman",
                    y_kernel_width: float | str | None = None, labels: bool | None = None,
                    y_labels: bool | None = None, batch_size: int | None = None, seed: int = 0,
                    units: str = "bits") -> Estimate:
    """Matrix-based Renyi alpha mutual information ``S(A) + S(B) - S(A o B)`` (Yu et al. 2019).

    Parameters
    ----------
    x, y : arrays or tensors of shape (n, ...)
        Samples (trailing dimensions flattened) or class labels of shape (n,).
    alpha, kernel_width, labels, batch_size, seed, units
        As :func:`matrix_renyi_entropy` (``labels`` for ``x``); the batches cut ``x`` and ``y``
        alike.
    y_kernel_width : float > 0 or {"silverman", "knn"}, optional
        Width for ``y`` (default: ``kernel_width``'s rule on ``y``, or the same float).
    y_labels : bool, optional
        Treat ``y`` as class labels (default: integer 1-D input is labels).

    Returns
    -------
    Estimate
        ``quantity="mi"``; ``details`` add ``y_kernel_width``, its rule and ``y_labels``. Flags
        ``negative`` (below 0, numerically only) and ``near_log_n`` (within 1 nat of the cap).

    Examples
    --------
    >>> import numpy as np, infolens as il
    >>> y = np.arange(100) % 2
    >>> round(il.matrix_renyi_mi(y * 10.0, y, kernel_width=1.0, alpha=2).value, 6)
    1.0
    """
    return _estimate("matrix_renyi_mi", "mi", x, y, alpha, kernel_width, y_kernel_width, labels, y_labels,
                     batch_size, seed, units)


# ---------------------------------------------------------------- information plane
def input_kernel(x: np.ndarray, params: Mapping[str, Any]) -> BatchKernel:
    """The :class:`BatchKernel` of the flattened inputs ``x`` of one batch under the plane's
    ``params``: what :func:`plane_information` reads of X, computed once for every layer."""
    return batch_kernel(torch.as_tensor(np.asarray(x).reshape(len(x), -1)), params["kernel_width"],
                        params["alpha"])


def plane_information(t: np.ndarray, y: np.ndarray, x: np.ndarray | BatchKernel | None,
                      params: Mapping[str, Any], quantities: tuple[str, ...], *,
                      shuffle_seed: int | None = None) -> tuple[dict[str, float], float | None]:
    """I(X;T) (Gram matrix of the flattened inputs ``x``, converted to float64 batch by batch; or
    their :func:`input_kernel` when ``t`` is one batch) and I(T;Y) (the label kernel) of one
    layer ``t`` in nats, averaged over the same seeded batches of ``params["batch_size"]``; and,
    with ``shuffle_seed`` and I(T;Y) wanted, the same I(T;Y) for the labels permuted within each
    batch (the ``shuffled_baseline`` of :mod:`infolens.plane.flags`; one more eigendecomposition
    per batch), else None."""
    rule = params["kernel_width"]
    others = {"I_XT": lambda: (x if isinstance(x, BatchKernel) else
                               torch.as_tensor(np.asarray(x).reshape(len(x), -1)), rule),
              "I_TY": lambda: (torch.as_tensor(np.eye(int(y.max()) + 1)[y]), LABEL_WIDTH)}
    wanted = [q for q in others if q in quantities]
    seed = shuffle_seed if "I_TY" in wanted else None
    data = [(torch.as_tensor(np.asarray(t)), rule)] + [others[q]() for q in wanted]  # float64 per batch
    values, _, _ = _functional(data, params["alpha"], params["batch_size"], params["seed"], seed)
    out = {q: float(v) for q, v in zip(wanted, values[:len(wanted)], strict=True)}
    return out, None if seed is None else float(values[-1])


__all__ = ["BatchKernel", "KERNEL_WIDTHS", "LABEL_WIDTH", "batch_kernel", "gram_matrix", "input_kernel",
           "kernel_width", "matrix_entropy", "matrix_renyi", "matrix_renyi_entropy", "matrix_renyi_mi",
           "plane_information", "seeded_batches", "squared_distances"]
