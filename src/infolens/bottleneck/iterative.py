"""The classical information bottleneck on a discrete joint distribution p(x, y).

Given ``p(x, y)``, a (stochastic) encoder ``q(t | x)`` defines ``T - X - Y`` and the trade-off

    L = H(T) - alpha H(T | X) - beta I(T; Y)

(Strouse & Schwab 2017). ``alpha = 1`` is the information bottleneck ``I(X; T) - beta I(T; Y)`` of
Tishby, Pereira & Bialek (1999); ``alpha = 0`` is the deterministic IB (DIB), whose optimal encoders
are hard clusterings. The stationary points satisfy the self-consistent equations

    q(t | x)  ∝  exp[(log q(t) - beta KL(p(y|x) || q(y|t))) / alpha]     (alpha > 0)
    f(x)      =  argmax_t  log q(t) - beta KL(p(y|x) || q(y|t))           (alpha = 0)
    q(t)      =  sum_x p(x) q(t | x),    q(y | t) = sum_x p(x) q(t | x) p(y | x) / q(t)

which :func:`generalized_ib` iterates to convergence from several starting points, keeping the one
with the lowest ``L`` (the iteration only finds local optima). Inputs with identical conditionals
``p(y | x)`` are merged first: averaging an encoder over such inputs never increases ``L`` (``H(T)``
and ``I(T; Y)`` are unchanged, ``H(T | X)`` can only grow), so the merged problem has the same
optimum and the same IB curve, and the encoder is lifted back to every input. For a task with
deterministic labels (the SZT 12-bit task) this reduces ``|X|`` to the number of labels.

All information quantities are computed in nats and reported in ``units`` (bits by default).

References
----------
N. Tishby, F. C. Pereira and W. Bialek, "The information bottleneck method", Allerton 1999.
D. J. Strouse and D. J. Schwab, "The deterministic information bottleneck", Neural Computation 29
(2017).
N. Slonim, "The information bottleneck: theory and applications", PhD thesis, 2002 (annealing).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import special

from infolens._json import to_jsonable
from infolens._units import check_units, from_nats
from infolens._validation import (
    as_labels,
    check_float,
    check_int,
    check_same_length,
    check_seed,
    fail,
)
from infolens.measures import _distribution

#: Decimals to which rows of p(y | x) are compared when merging identical conditionals.
MERGE_DECIMALS = 12
#: Iterations between two checks of the objective, and the relative improvement below which
#: the fixed-point iteration stops (see ``_iterate``).
STALL_WINDOW = 50
STALL_TOL = 1e-9
#: Default trade-offs of :func:`ib_curve`: below beta = 1 the optimal T is trivial.
DEFAULT_BETAS = np.geomspace(0.5, 2000.0, 64)


@dataclass(frozen=True)
class IBSolution:
    """One solution of the (generalized) IB at a given ``beta`` and ``alpha``.

    Attributes
    ----------
    encoder : ndarray of shape (n_x, n_clusters)
        ``q(t | x)``; rows of inputs with ``p(x) = 0`` hold ``q(t)``.
    p_t : ndarray of shape (n_clusters,)
    p_y_given_t : ndarray of shape (n_clusters, n_y)
        Rows of unused clusters (``q(t) = 0``) are uniform.
    i_xt, i_ty, h_t : float
        ``I(X; T)``, ``I(T; Y)`` and ``H(T)`` in ``units``.
    objective : float
        ``H(T) - alpha H(T | X) - beta I(T; Y)`` in ``units``.
    """

    encoder: np.ndarray
    p_t: np.ndarray
    p_y_given_t: np.ndarray
    beta: float
    alpha: float
    i_xt: float
    i_ty: float
    h_t: float
    objective: float
    units: str
    n_iter: int
    converged: bool

    @property
    def n_used_clusters(self) -> int:
        """Clusters with ``q(t) > 1e-12``."""
        return int(np.sum(self.p_t > 1e-12))


@dataclass(frozen=True)
class IBCurve:
    """The IB curve: one :class:`IBSolution` summary per ``beta``, sorted by ``beta``.

    Attributes
    ----------
    beta, i_xt, i_ty, h_t : ndarray
        Trade-offs and the solutions' ``I(X; T)``, ``I(T; Y)``, ``H(T)`` in ``units``.
    i_xy, h_x, h_y : float
        ``I(X; Y)`` (where the curve saturates), ``H(X)`` and ``H(Y)`` in ``units``.
    alpha : float
        1 for the IB, 0 for the DIB.
    """

    beta: np.ndarray
    i_xt: np.ndarray
    i_ty: np.ndarray
    h_t: np.ndarray
    i_xy: float
    h_x: float
    h_y: float
    alpha: float
    units: str

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (arrays as lists; see :func:`infolens._json.to_jsonable`)."""
        return to_jsonable({f.name: getattr(self, f.name) for f in fields(self)})

    def to_frame(self) -> Any:
        """A pandas DataFrame with one row per beta."""
        import pandas as pd

        return pd.DataFrame({"beta": self.beta, "i_xt": self.i_xt, "i_ty": self.i_ty, "h_t": self.h_t})

    def _repr_html_(self) -> str:
        """A notebook display: I(X;Y), H(X), H(Y), up to 12 of the betas, and :meth:`plot`."""
        from infolens import _html

        name = "IB" if self.alpha == 1 else "DIB" if self.alpha == 0 else f"GIB (alpha={self.alpha:g})"
        shown = np.unique(np.linspace(0, len(self.beta) - 1, min(12, len(self.beta))).round().astype(int))
        return _html.box(f"IBCurve: {name}, {len(self.beta)} betas, in {self.units}", _html.facts([
            ("I(X;Y)", _html.number(self.i_xy)), ("H(X)", _html.number(self.h_x)),
            ("H(Y)", _html.number(self.h_y))]),
            _html.table(self.to_frame().iloc[shown], f"{len(shown)} of {len(self.beta)} betas"),
            _html.figure(lambda ax: self.plot(ax=ax), f"{name} curve"))

    def plot(self, ax: Any = None, *, x_axis: str = "i_xt", bound: bool = True, label: str | None = None,
             x_max: float | None = None, **kwargs: Any) -> Any:
        """Draw ``I(T; Y)`` against ``I(X; T)`` (or ``H(T)`` with ``x_axis="h_t"``, the DIB plane).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Created when None (Agg-safe: no window is opened).
        bound : bool
            Also draw the data-processing bound ``min(I(X; T), I(X; Y))`` (dashed).
        x_max : float, optional
            Extend the curve flat (dotted) to this abscissa: past its last point the optimal
            ``I(T; Y)`` stays at its maximum (e.g. to place layers with a large I(X;T) against it).
        **kwargs
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        matplotlib Axes
        """
        if x_axis not in ("i_xt", "h_t"):
            raise fail("x_axis", "IBCurve.plot", "one of 'i_xt', 'h_t'", x_axis)
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(5, 4))
        xs = self.i_xt if x_axis == "i_xt" else self.h_t
        name = "IB" if self.alpha == 1 else "DIB" if self.alpha == 0 else f"GIB (alpha={self.alpha:g})"
        line = ax.plot(xs, self.i_ty, marker=".", label=label or f"{name} curve", **kwargs)[0]
        if x_max is not None and x_max > float(np.max(xs)):
            ax.plot([float(np.max(xs)), x_max], [float(self.i_ty[-1])] * 2, ls=":", color=line.get_color())
        if bound:
            top = max(float(np.max(xs)), self.i_xy, x_max or 0.0) * 1.05
            ax.plot([0, self.i_xy, top], [0, self.i_xy, self.i_xy], ls="--", color="0.5", lw=1,
                    label=f"min(I(X;T), I(X;Y)), I(X;Y) = {self.i_xy:.4f}")
        ax.set_xlabel(f"{'I(X;T)' if x_axis == 'i_xt' else 'H(T)'} [{self.units}]")
        ax.set_ylabel(f"I(T;Y) [{self.units}]")
        ax.legend(loc="lower right", fontsize=8)
        return ax


# ------------------------------------------------------------------------------------- the maths
def _entropy_nats(p: np.ndarray, axis: int | None = None) -> Any:
    return -np.sum(special.xlogy(p, p), axis=axis)


@dataclass
class _Problem:
    """A joint table with identical conditionals merged: p(x'), p(y | x'), and the lift x -> x'."""

    p_x: np.ndarray
    p_y_given_x: np.ndarray
    h_y_given_x: np.ndarray  # H(Y | X = x') per merged row (nats)
    lift: np.ndarray  # merged index of each original row, -1 where p(x) = 0
    p_y: np.ndarray


def _problem(pxy: np.ndarray, merge: bool) -> _Problem:
    p_x_full = pxy.sum(axis=1)
    support = np.flatnonzero(p_x_full > 0)
    cond = pxy[support] / p_x_full[support, None]
    lift = np.full(len(pxy), -1, dtype=np.int64)
    if merge:
        _, first, inverse = np.unique(np.round(cond, MERGE_DECIMALS), axis=0, return_index=True,
                                      return_inverse=True)
        inverse = inverse.reshape(-1)
        p_x = np.bincount(inverse, weights=p_x_full[support], minlength=len(first))
        cond = cond[first]
        lift[support] = inverse
    else:
        p_x = p_x_full[support]
        lift[support] = np.arange(len(support))
    return _Problem(p_x, cond, _entropy_nats(cond, axis=1), lift, pxy.sum(axis=0))


def _decoder(prob: _Problem, enc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """q(t) and q(y | t) of an encoder (unused clusters get a uniform q(y | t))."""
    joint_xt = prob.p_x[:, None] * enc
    p_t = joint_xt.sum(axis=0)
    p_yt = joint_xt.T @ prob.p_y_given_x
    used = p_t > 0
    p_y_t = np.full_like(p_yt, 1.0 / p_yt.shape[1])
    p_y_t[used] = p_yt[used] / p_t[used, None]
    return p_t, p_y_t


def _distortion(prob: _Problem, p_y_t: np.ndarray) -> np.ndarray:
    """KL(p(y | x) || q(y | t)) in nats, shape (n_x, n_clusters); +inf where q misses p's support."""
    positive = p_y_t > 0
    with np.errstate(divide="ignore"):
        log_q = np.where(positive, np.log(np.where(positive, p_y_t, 1.0)), 0.0)
    distortion = -(prob.p_y_given_x @ log_q.T) - prob.h_y_given_x[:, None]
    if not positive.all():
        missed = (prob.p_y_given_x > 0).astype(np.float64) @ (~positive).astype(np.float64).T
        distortion[missed > 0] = np.inf
    return distortion


def _quantities(prob: _Problem, enc: np.ndarray) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """I(X; T), I(T; Y), H(T) in nats, q(t) and q(y | t) of an encoder."""
    p_t, p_y_t = _decoder(prob, enc)
    h_t = float(_entropy_nats(p_t))
    h_t_given_x = float(prob.p_x @ _entropy_nats(enc, axis=1))
    h_y_given_t = float(p_t @ _entropy_nats(p_y_t, axis=1))
    i_ty = max(float(_entropy_nats(prob.p_y)) - h_y_given_t, 0.0)
    return max(h_t - h_t_given_x, 0.0), i_ty, h_t, p_t, p_y_t


def _objective(prob: _Problem, enc: np.ndarray, beta: float, alpha: float) -> float:
    i_xt, i_ty, h_t, _, _ = _quantities(prob, enc)
    return h_t - alpha * (h_t - i_xt) - beta * i_ty


def _update(prob: _Problem, enc: np.ndarray, beta: float, alpha: float) -> np.ndarray:
    p_t, p_y_t = _decoder(prob, enc)
    with np.errstate(divide="ignore"):
        score = np.log(p_t)[None, :] - beta * _distortion(prob, p_y_t)
    if alpha == 0.0:
        new = np.zeros_like(enc)
        new[np.arange(len(enc)), np.argmax(score, axis=1)] = 1.0
        return new
    with np.errstate(over="ignore", invalid="ignore"):  # a tiny alpha: the DIB's argmax in the limit
        weights = np.exp((score - score.max(axis=1, keepdims=True)) / alpha)
    return weights / weights.sum(axis=1, keepdims=True)


def _iterate(prob: _Problem, enc: np.ndarray, beta: float, alpha: float, max_iter: int,
             tol: float) -> tuple[np.ndarray, int, bool]:
    """Fixed-point iterations until no entry of the encoder moves by more than ``tol``, or the
    objective improved by less than :data:`STALL_TOL` (relative) over :data:`STALL_WINDOW`
    iterations: near a phase transition the encoder can crawl for thousands of iterations while
    the objective no longer changes (half the time of an IB curve went there)."""
    last = np.inf
    for it in range(1, max_iter + 1):
        new = _update(prob, enc, beta, alpha)
        change = float(np.max(np.abs(new - enc)))
        enc = new
        if change <= tol:
            return enc, it, True
        if it % STALL_WINDOW == 0:
            value = _objective(prob, enc, beta, alpha)
            if last - value <= STALL_TOL * (1.0 + abs(value)):
                return enc, it, True
            last = value
    return enc, max_iter, False


def _random_encoder(n_x: int, n_t: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    if alpha == 0.0:
        enc = np.zeros((n_x, n_t))
        enc[np.arange(n_x), rng.integers(0, n_t, n_x)] = 1.0
        return enc
    enc = rng.random((n_x, n_t)) + 0.1
    return enc / enc.sum(axis=1, keepdims=True)


def _identity_encoder(n_x: int, n_t: int, alpha: float, rng: np.random.Generator) -> np.ndarray | None:
    """Every input in its own cluster (the beta -> infinity optimum), softened for alpha > 0."""
    if n_t < n_x:
        return None
    enc = np.zeros((n_x, n_t))
    enc[np.arange(n_x), rng.permutation(n_t)[:n_x]] = 1.0
    return enc if alpha == 0.0 else _perturb(enc, alpha, rng, 0.05)


def _perturb(enc: np.ndarray, alpha: float, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Revive unused clusters so that annealing can split: mix in noise (or move a few x, for DIB)."""
    if alpha == 0.0:
        out = enc.copy()
        moved = rng.random(len(enc)) < strength
        out[moved] = 0.0
        out[moved, rng.integers(0, enc.shape[1], int(moved.sum()))] = 1.0
        return out
    noise = rng.random(enc.shape)
    noise /= noise.sum(axis=1, keepdims=True)
    return (1.0 - strength) * enc + strength * noise


# ------------------------------------------------------------------------------------ public API
def _check_common(fn: str, beta: Any, alpha: Any, n_clusters: Any, n_restarts: Any, max_iter: Any,
                  tol: Any, seed: Any, units: Any) -> tuple[float, float, int | None, int, int, float, str]:
    beta = check_float("beta", beta, fn, minimum=0.0)
    alpha = check_float("alpha", alpha, fn, minimum=0.0)
    if n_clusters is not None:
        n_clusters = check_int("n_clusters", n_clusters, fn, minimum=1)
    n_restarts = check_int("n_restarts", n_restarts, fn, minimum=1)
    max_iter = check_int("max_iter", max_iter, fn, minimum=1)
    tol = check_float("tol", tol, fn, minimum=0.0)
    check_seed("seed", seed, fn, allow_none=True)
    return beta, alpha, n_clusters, n_restarts, max_iter, tol, check_units(units, fn)


def _check_table(pxy: Any, fn: str) -> np.ndarray:
    from infolens._backend import NUMPY

    table = np.asarray(_distribution(pxy, "pxy", fn, 2, True, NUMPY), dtype=np.float64)
    return table


def _check_clusters(n_clusters: int | None, table: np.ndarray, fn: str) -> int | None:
    """``n_clusters`` no larger than the rows of the table (more clusters are never used)."""
    if n_clusters is not None and n_clusters > table.shape[0]:
        raise fail("n_clusters", fn, f"an int in [1, {table.shape[0]}] (at most one cluster per "
                   "row of 'pxy')", n_clusters)
    return n_clusters


def _solution(prob: _Problem, enc: np.ndarray, beta: float, alpha: float, units: str, n_iter: int,
              converged: bool) -> IBSolution:
    i_xt, i_ty, h_t, p_t, p_y_t = _quantities(prob, enc)
    lifted = np.where(prob.lift[:, None] >= 0, enc[np.maximum(prob.lift, 0)], p_t[None, :])
    objective = h_t - alpha * (h_t - i_xt) - beta * i_ty
    return IBSolution(encoder=lifted, p_t=p_t, p_y_given_t=p_y_t, beta=beta, alpha=alpha,
                      i_xt=float(from_nats(i_xt, units)), i_ty=float(from_nats(i_ty, units)),
                      h_t=float(from_nats(h_t, units)), objective=float(from_nats(objective, units)),
                      units=units, n_iter=n_iter, converged=converged)


def _solve(prob: _Problem, beta: float, alpha: float, n_t: int, starts: list[np.ndarray],
           max_iter: int, tol: float) -> tuple[np.ndarray, int, bool]:
    best: tuple[float, np.ndarray, int, bool] | None = None
    for start in starts:
        enc, n_iter, converged = _iterate(prob, start, beta, alpha, max_iter, tol)
        value = _objective(prob, enc, beta, alpha)
        if best is None or value < best[0] - 1e-12:
            best = (value, enc, n_iter, converged)
    assert best is not None
    return best[1], best[2], best[3]


def generalized_ib(pxy: Any, beta: float, alpha: float = 1.0, n_clusters: int | None = None, *,
                   n_restarts: int = 4, max_iter: int = 2000, tol: float = 1e-10, seed: int | None = 0,
                   merge: bool = True, init: np.ndarray | None = None, units: str = "bits") -> IBSolution:
    """Solve the generalized IB ``min H(T) - alpha H(T|X) - beta I(T;Y)`` by its fixed-point equations.

    Parameters
    ----------
    pxy : array-like of shape (n_x, n_y)
        Joint distribution of X (axis 0) and Y (axis 1); rescaled to sum to 1.
    beta : float >= 0
        Weight of the relevant information ``I(T; Y)``.
    alpha : float >= 0
        1: IB (Tishby et al. 1999); 0: deterministic IB (Strouse & Schwab 2017).
    n_clusters : int, optional
        Cardinality of T; default the number of distinct conditionals ``p(y | x)`` (enough to
        reach ``I(T; Y) = I(X; Y)``).
    n_restarts : int
        Random starting encoders (plus ``init`` if given); the lowest objective wins.
    max_iter, tol : int, float
        Iterations per start; stop when no entry of ``q(t | x)`` moves by more than ``tol``.
    seed : int, optional
        Seeds the random starts.
    merge : bool
        Merge inputs with identical ``p(y | x)`` first (exact, see the module notes).
    init : ndarray of shape (n_merged_x, n_clusters), optional
        A starting encoder on the merged inputs (used by :func:`ib_curve`'s annealing).
    units : {"bits", "nats"}

    Returns
    -------
    IBSolution
    """
    fn = "generalized_ib"
    beta, alpha, n_clusters, n_restarts, max_iter, tol, units = _check_common(
        fn, beta, alpha, n_clusters, n_restarts, max_iter, tol, seed, units)
    table = _check_table(pxy, fn)
    prob = _problem(table, merge)
    n_t = _check_clusters(n_clusters, table, fn) or len(prob.p_x)
    rng = np.random.default_rng(seed)
    starts = [_random_encoder(len(prob.p_x), n_t, alpha, rng) for _ in range(n_restarts)]
    if init is not None:
        what = f"an encoder of shape {(len(prob.p_x), n_t)}: finite, non-negative rows summing to 1"
        try:
            encoder = np.asarray(init, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise fail("init", fn, what, init) from err
        if encoder.shape != (len(prob.p_x), n_t) or not np.isfinite(encoder).all() or (encoder < 0).any() \
                or not np.allclose(encoder.sum(axis=1), 1.0, atol=1e-9):
            raise fail("init", fn, what, init)
        starts.insert(0, encoder)
    enc, n_iter, converged = _solve(prob, beta, alpha, n_t, starts, max_iter, tol)
    return _solution(prob, enc, beta, alpha, units, n_iter, converged)


def iterative_ib(pxy: Any, beta: float, n_clusters: int | None = None, **kwargs: Any) -> IBSolution:
    """The information bottleneck ``min I(X;T) - beta I(T;Y)`` (Tishby, Pereira & Bialek 1999).

    Iterates the self-consistent equations from ``n_restarts`` random soft encoders; see
    :func:`generalized_ib` (``alpha = 1``) for the parameters.
    """
    return generalized_ib(pxy, beta, 1.0, n_clusters, **kwargs)


def deterministic_ib(pxy: Any, beta: float, n_clusters: int | None = None, **kwargs: Any) -> IBSolution:
    """The deterministic IB ``min H(T) - beta I(T;Y)`` (Strouse & Schwab 2017): hard clusters.

    See :func:`generalized_ib` (``alpha = 0``) for the parameters.
    """
    return generalized_ib(pxy, beta, 0.0, n_clusters, **kwargs)


def joint_from_samples(x: Any, y: Any) -> np.ndarray:
    """The empirical joint table ``p(x, y)`` of paired discrete samples (rows are symbols).

    Row ``i`` / column ``j`` of the table is the ``i``-th / ``j``-th distinct value in sorted order.
    """
    fn = "joint_from_samples"
    xc, yc = as_labels(x, "x", fn), as_labels(y, "y", fn)
    n = check_same_length(fn, x=xc, y=yc)
    table = np.zeros((int(xc.max()) + 1, int(yc.max()) + 1))
    np.add.at(table, (xc, yc), 1.0)
    return table / n


def ib_curve(pxy: Any = None, betas: Any = None, *, x: Any = None, y: Any = None, alpha: float = 1.0,
             n_clusters: int | None = None, n_restarts: int = 1, max_iter: int = 2000,
             tol: float = 1e-9, seed: int | None = 0, merge: bool = True,
             units: str = "bits") -> IBCurve:
    """Trace the IB curve ``I(T; Y)`` against ``I(X; T)`` by annealing in ``beta``.

    Two sweeps: ascending in ``beta`` from ``n_restarts`` random encoders plus the previous
    solution (as is, and perturbed so that unused clusters revive and can split), then descending
    from one input per cluster (the ``beta -> inf`` optimum, when ``n_clusters >= n_x``) with the
    previous solution, so that clusters can merge. Each ``beta`` keeps its lowest objective.
    The points then lie on the IB curve, which is concave, non-decreasing, never above
    ``min(I(X;T), I(X;Y))`` and reaches ``I(X;Y)`` as ``beta`` grows.

    Parameters
    ----------
    pxy : array-like of shape (n_x, n_y), optional
        Joint distribution. Alternatively give discrete samples ``x`` and ``y``.
    betas : array-like of float >= 0, optional
        Trade-offs; default :data:`DEFAULT_BETAS` (64 values from 0.5 to 2000, log-spaced).
    x, y : array-like of shape (n,) or (n, d), optional
        Discrete samples (each distinct row is a symbol) used instead of ``pxy``.
    alpha : float
        1 for the IB curve, 0 for the DIB (plot it against ``h_t``).
    n_clusters, n_restarts, max_iter, tol, seed, merge, units
        As in :func:`generalized_ib`.

    Returns
    -------
    IBCurve
    """
    fn = "ib_curve"
    _, alpha, n_clusters, n_restarts, max_iter, tol, units = _check_common(
        fn, 0.0, alpha, n_clusters, n_restarts, max_iter, tol, seed, units)
    if (pxy is None) == (x is None and y is None):
        raise fail("pxy", fn, "given, or else both 'x' and 'y' samples (not both)",
                   got="both" if pxy is not None else "neither")
    if pxy is None:
        if x is None or y is None:
            raise fail("y" if y is None else "x", fn, "given together with the other sample array",
                       got="None")
        pxy = joint_from_samples(x, y)
    table = _check_table(pxy, fn)
    beta_values = _check_betas(DEFAULT_BETAS if betas is None else betas, fn)
    prob = _problem(table, merge)
    n_x = len(prob.p_x)
    n_t = _check_clusters(n_clusters, table, fn) or n_x
    rng = np.random.default_rng(seed)

    encoders: list[np.ndarray | None] = [None] * len(beta_values)
    values = np.full(len(beta_values), np.inf)

    def consider(i: int, enc: np.ndarray) -> None:
        value = _objective(prob, enc, beta_values[i], alpha)
        if value < values[i] - 1e-12:
            values[i], encoders[i] = value, enc

    ascending = range(len(beta_values))
    for order in (ascending, ascending[::-1]):
        previous = _identity_encoder(n_x, n_t, alpha, rng) if order is not ascending else None
        for i in order:
            starts = [] if previous is None else [previous, _perturb(previous, alpha, rng, 0.05)]
            if order is ascending:
                starts += [_random_encoder(n_x, n_t, alpha, rng) for _ in range(n_restarts)]
            elif not starts:  # no identity start (fewer clusters than inputs): keep the ascent's
                previous = encoders[i]
                continue
            enc, _, _ = _solve(prob, beta_values[i], alpha, n_t, starts, max_iter, tol)
            consider(i, enc)
            previous = encoders[i]
    stats = np.array([_quantities(prob, e)[:3] for e in encoders if e is not None])
    h_y = float(_entropy_nats(prob.p_y))
    h_y_given_x = float(prob.p_x @ prob.h_y_given_x)
    h_x = float(_entropy_nats(table.sum(axis=1)))
    return IBCurve(beta=beta_values.copy(), i_xt=from_nats(stats[:, 0], units),
                   i_ty=from_nats(stats[:, 1], units), h_t=from_nats(stats[:, 2], units),
                   i_xy=float(from_nats(h_y - h_y_given_x, units)), h_x=float(from_nats(h_x, units)),
                   h_y=float(from_nats(h_y, units)), alpha=alpha, units=units)


def _check_betas(betas: Any, fn: str) -> np.ndarray:
    try:
        values = np.asarray(betas, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise fail("betas", fn, "a non-empty sequence of finite floats >= 0", betas) from err
    if values.size == 0 or not np.isfinite(values).all() or (values < 0).any():
        raise fail("betas", fn, "a non-empty sequence of finite floats >= 0", values)
    return np.sort(values)
