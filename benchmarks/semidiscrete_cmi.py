"""Accuracy and time of the CMI of discrete and continuous variables (issue 22), over seeds.

Cases (N = 2000, truths in nats):

* ``z_discrete``: Z ~ Bernoulli(0.4), (X, Y) | Z=z bivariate normal with correlation 0.3 / 0.8;
  ``I = -sum_z p(z) ln(1 - rho_z^2) / 2`` (closed form);
* ``y_discrete_z_indep``: Y uniform on 4 classes, X = Y + 0.5 N, Z ~ N independent;
  ``I(X;Y|Z) = I(X;Y)`` by quadrature of the Gaussian mixture;
* ``y_discrete_z_noisy_x``: Y uniform on 2 classes, X = Y + 0.5 N1, Z = X + 0.5 N2;
  ``I = I(X;Y) - I(Z;Y)`` (Y - X - Z is Markov), both by quadrature;
* ``y_close_levels``: ennemi's ``test_multiple_levels`` (polsys/ennemi,
  tests/unit/test_entropy_estimators.py): X ~ Gamma(1.5), Z ~ N, W = X + Z, Y = 1e-4 below
  X = 0.5, 4 above X = 2, else 0 (float levels, told discrete); ``I(W; Y | Z) = H(Y)`` (given Z,
  W determines X and so Y), from the Gamma CDF.

Methods: ``ksg_discrete`` (Frenzel-Pompe with the discrete metric, ``method="auto"``'s choice),
``chain_rule`` (``I(Y; (X, Z)) - I(Y; Z)``, two Ross MIs by ``ksg_discrete``; Y-discrete cases),
``ksg_on_ties`` (``method="ksg"`` reading the labels as numbers, what ``auto`` ran before).
Per case and method: bias, RMSE and median seconds over the seeds. Results go to
``benchmarks/results/semidiscrete_cmi.json``. Run ``.venv/bin/python benchmarks/semidiscrete_cmi.py``
(about 15 s); ``--seeds`` sets the number of seeds (20).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import integrate, stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, format_table, set_threads, write_results  # noqa: E402

set_threads(2)

import infolens as il  # noqa: E402


def mixture_mi(sigma: float, classes: int) -> float:
    """I(X; Y) in nats, Y uniform on 0..classes-1 and X = Y + sigma N(0, 1), by quadrature."""
    def minus_p_log_p(x: float) -> float:
        p = float(np.mean(stats.norm.pdf(x, np.arange(classes), sigma)))
        return -p * math.log(p) if p > 0 else 0.0

    h_x, _ = integrate.quad(minus_p_log_p, -1 - 10 * sigma, classes + 10 * sigma, limit=200,
                            points=list(range(classes)))
    return h_x - 0.5 * math.log(2 * math.pi * math.e * sigma**2)


def z_discrete(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    rho = np.array([0.3, 0.8])
    z = (rng.random(n) < 0.4).astype(np.int64)
    x = rng.normal(size=n)
    return x, rho[z] * x + np.sqrt(1 - rho[z] ** 2) * rng.normal(size=n), z


def y_discrete_z_indep(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    y = rng.integers(0, 4, n)
    return y + 0.5 * rng.normal(size=n), y, rng.normal(size=n)


def y_discrete_z_noisy_x(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    y = rng.integers(0, 2, n)
    x = y + 0.5 * rng.normal(size=n)
    return x, y, x + 0.5 * rng.normal(size=n)


def y_close_levels(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    x = rng.gamma(shape=1.5, scale=1.0, size=n)
    z = rng.normal(size=n)
    y = np.where(x < 0.5, 1e-4, np.where(x > 2.0, 4.0, 0.0))
    return x + z, y, z


def levels_entropy() -> float:
    p = np.diff(stats.gamma.cdf([0.0, 0.5, 2.0, np.inf], a=1.5))
    return float(-(p * np.log(p)).sum())


#: name -> (draw, truth, the discrete variable)
CASES = {
    "z_discrete": (z_discrete, lambda: -0.5 * (0.6 * math.log(1 - 0.09) + 0.4 * math.log(1 - 0.64)), "z"),
    "y_discrete_z_indep": (y_discrete_z_indep, lambda: mixture_mi(0.5, 4), "y"),
    "y_discrete_z_noisy_x": (y_discrete_z_noisy_x,
                             lambda: mixture_mi(0.5, 2) - mixture_mi(math.hypot(0.5, 0.5), 2), "y"),
    "y_close_levels": (y_close_levels, levels_entropy, "y"),
}


def chain_rule(x: np.ndarray, y: np.ndarray, z: np.ndarray, discrete: str) -> float:
    told = {"discrete_features": ["y"], "method": "ksg_discrete", "units": "nats"}
    joint = il.estimate_mi(np.column_stack([x, z]), y, **told).value
    return joint - il.estimate_mi(z, y, **told).value


METHODS = {
    "ksg_discrete": lambda x, y, z, d: il.estimate_cmi(x, y, z, discrete_features=[d], units="nats").value,
    "chain_rule": chain_rule,
    "ksg_on_ties": lambda x, y, z, d: il.estimate_cmi(x, y, z, discrete_features=False, method="ksg",
                                                      units="nats").value,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    for case, (draw, truth_fn, discrete) in CASES.items():
        truth = truth_fn()
        for method, fn in METHODS.items():
            if method == "chain_rule" and case == "z_discrete":
                continue  # the chain rule through a discrete Y only
            errors, seconds = [], []
            for seed in range(args.seeds):
                x, y, z = draw(np.random.default_rng(seed), args.n)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", il.InfoLensWarning)
                    errors.append(fn(x, y, z, discrete) - truth)
                seconds.append(time.perf_counter() - start)
            rows.append({"case": case, "method": method, "truth_nats": truth,
                         "bias": float(np.mean(errors)), "rmse": float(np.sqrt(np.mean(np.square(errors)))),
                         "median_s": statistics.median(seconds)})
    print(format_table(rows, title=f"CMI with discrete variables, N = {args.n}, {args.seeds} seeds (nats)"))
    write_results("semidiscrete_cmi", {"environment": environment(n=args.n, seeds=args.seeds), "rows": rows})


if __name__ == "__main__":
    main()
