"""Bias, spread and time of every estimator on cases with known MI or entropy, at N = 1k, 10k, 100k.

Cases (truth in nats, computed exactly):

* ``channel``: X uniform on 8 symbols, Y = X with prob 0.6 else another symbol; exact MI of the
  table by ``infolens.mutual_information``. Methods: plugin, miller_madow, chao_shen; baseline
  scikit-learn ``mutual_info_score`` (the plug-in estimate).
* ``gauss d=1`` / ``gauss d=5``: correlated Gaussians, corr 0.6 per coordinate pair, MI
  ``-d/2 ln(1 - 0.36)``. Methods: gaussian, gaussian_copula, binning (30 bins),
  adaptive_binning (30 bins), ksg (when ``infolens.estimators.knn`` exists); baseline
  scikit-learn's KSG ``mutual_info_regression`` (d = 1 only: it scores one feature at a time).
* ``mixed``: Y a fair bit, X | Y ~ N(+-1, 1); MI = h(mixture) - 1/2 ln(2 pi e) by quadrature.
  Methods: adaptive_binning (20 bins), gaussian_copula, mixed (k-NN, when present), kde (whose
  target is I(X + Z; Y) with Z ~ N(0, 0.1), also exact by quadrature); baseline
  ``mutual_info_classif``.
* ``entropy d=1`` / ``entropy d=5``: standard Gaussian; h = d/2 ln(2 pi e). Methods: gaussian,
  kl (when present), kde (target h(X + Z) = d/2 ln(2 pi e 1.1)).

KDE is O(N^2) and is skipped at N = 100k. Seeds: 10 at 1k, 5 at 10k, 2 at 100k; a method
with a call slower than ``TIME_LIMIT`` gets 2 seeds at that N and is skipped at the next. Every infolens
method is called through the public API (validation included); the time is the fastest call
over the seeds (the least disturbed by other processes on a shared machine). Run with
``.venv/bin/python benchmarks/estimators.py``; ``--quick`` runs 1k and 10k only.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import integrate, stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import environment, format_table, measure, set_threads, write_results  # noqa: E402

# one thread: these calls are small, and on a shared 2-core machine a second thread mostly waits
# (measured for kde at 4096 x 12: ~30-50 ms on 1 thread, 120-190 ms on 2 under load)
set_threads(1)

import infolens as il  # noqa: E402
from infolens.data import correlated_gaussians  # noqa: E402

HAS_KNN = importlib.util.find_spec("infolens.estimators.knn") is not None
SEEDS = {1_000: 10, 10_000: 5, 100_000: 2}
NOISE_VAR = 0.1
RHO = 0.6
#: A call slower than this (s) limits its method to 2 seeds at that size and none at the next.
TIME_LIMIT = 5.0


def mixture_entropy_1d(centres: list[float], variance: float) -> float:
    """Entropy in nats of an equal-weight 1-D Gaussian mixture, by adaptive quadrature."""
    sd = math.sqrt(variance)

    def integrand(t: float) -> float:
        density = float(np.mean(stats.norm.pdf(t, loc=centres, scale=sd)))
        return -density * math.log(density) if density > 0 else 0.0

    value, _ = integrate.quad(integrand, min(centres) - 12 * sd, max(centres) + 12 * sd,
                              points=sorted(centres), limit=500, epsabs=1e-12)
    return value


def channel_table(k: int = 8, keep: float = 0.6) -> np.ndarray:
    table = np.full((k, k), (1 - keep) / (k - 1))
    np.fill_diagonal(table, keep)
    return table / k


def sample_channel(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    pxy = channel_table()
    flat = np.random.default_rng(seed).choice(pxy.size, size=n, p=pxy.ravel())
    return flat // pxy.shape[1], flat % pxy.shape[1]


def sample_mixed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return rng.standard_normal(n) + (2 * y - 1.0), y


def sample_gauss(d: int) -> Callable[[int, int], tuple[np.ndarray, np.ndarray]]:
    return lambda n, seed: correlated_gaussians(n, dim=d, rho=RHO, seed=seed)[:2]


def sample_standard(d: int) -> Callable[[int, int], tuple[np.ndarray]]:
    return lambda n, seed: (np.random.default_rng(seed).standard_normal((n, d)),)


def _api(quantity: str, method: str, **params: Any) -> Callable[..., float]:
    fn = il.estimate_entropy if quantity == "entropy" else il.estimate_mi

    def run(*arrays: np.ndarray) -> float:
        return fn(*arrays, method=method, units="nats", **params).value
    return run


def _sklearn_regression(seed: int) -> Callable[..., float]:
    from sklearn.feature_selection import mutual_info_regression

    return lambda x, y: float(mutual_info_regression(x.reshape(len(x), -1), y.ravel(),
                                                     n_neighbors=3, random_state=seed)[0])


def _sklearn_classif(seed: int) -> Callable[..., float]:
    from sklearn.feature_selection import mutual_info_classif

    return lambda x, y: float(mutual_info_classif(x.reshape(-1, 1), y, n_neighbors=3,
                                                  random_state=seed)[0])


def _sklearn_plugin(seed: int) -> Callable[..., float]:
    from sklearn.metrics import mutual_info_score

    return lambda x, y: float(mutual_info_score(x, y))


def cases() -> list[dict[str, Any]]:
    """Each case: name, quantity, sampler, and methods {label: (truth, factory(seed) -> fn)}."""
    gauss_h = {d: 0.5 * d * math.log(2 * math.pi * math.e) for d in (1, 5)}
    noisy_h = {d: 0.5 * d * math.log(2 * math.pi * math.e * (1 + NOISE_VAR)) for d in (1, 5)}
    mixed_truth = mixture_entropy_1d([-1.0, 1.0], 1.0) - 0.5 * math.log(2 * math.pi * math.e)
    mixed_noisy = (mixture_entropy_1d([-1.0, 1.0], 1.0 + NOISE_VAR)
                   - 0.5 * math.log(2 * math.pi * math.e * (1 + NOISE_VAR)))

    def api(quantity: str, method: str, **params: Any) -> Callable[[int], Callable[..., float]]:
        return lambda seed: _api(quantity, method, **params)

    out = []
    channel_truth = il.mutual_information(channel_table(), units="nats")
    out.append({"case": "channel 8x8", "quantity": "mi", "sampler": sample_channel, "methods": {
        **{m: (channel_truth, api("mi", m)) for m in ("plugin", "miller_madow", "chao_shen")},
        "sklearn mutual_info_score": (channel_truth, _sklearn_plugin)}})
    for d in (1, 5):
        truth = -0.5 * d * math.log(1 - RHO**2)
        methods = {m: (truth, api("mi", m)) for m in ("gaussian", "gaussian_copula")}
        methods["binning"] = (truth, api("mi", "binning", bins=30))
        methods["adaptive_binning"] = (truth, api("mi", "adaptive_binning", bins=30))
        if HAS_KNN:
            methods["ksg"] = (truth, api("mi", "ksg", k=3))
        if d == 1:
            methods["sklearn KSG (mutual_info_regression)"] = (truth, _sklearn_regression)
        out.append({"case": f"gauss d={d}", "quantity": "mi", "sampler": sample_gauss(d),
                    "methods": methods})
    methods = {"adaptive_binning": (mixed_truth, api("mi", "adaptive_binning", bins=20)),
               "gaussian_copula": (mixed_truth, api("mi", "gaussian_copula"))}
    if HAS_KNN:
        methods["mixed"] = (mixed_truth, api("mi", "mixed", k=3))
    for bound in ("upper", "lower"):
        methods[f"kde {bound} [I(X+Z;Y)]"] = (mixed_noisy, api("mi", "kde", noise_var=NOISE_VAR,
                                                                bound=bound))
    methods["sklearn KSG (mutual_info_classif)"] = (mixed_truth, _sklearn_classif)
    out.append({"case": "mixed", "quantity": "mi", "sampler": sample_mixed, "methods": methods})
    for d in (1, 5):
        methods = {"gaussian": (gauss_h[d], api("entropy", "gaussian"))}
        if HAS_KNN:
            methods["kl"] = (gauss_h[d], api("entropy", "kl", k=3))
        for bound in ("upper", "lower"):
            methods[f"kde {bound} [h(X+Z)]"] = (noisy_h[d], api("entropy", "kde",
                                                                noise_var=NOISE_VAR, bound=bound))
        out.append({"case": f"entropy d={d}", "quantity": "entropy", "sampler": sample_standard(d),
                    "methods": methods})
    return out


def run(sizes: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    too_slow: set[tuple[str, str]] = set()
    for case in cases():
        for n in sizes:
            seeds = range(SEEDS[n])
            data = {seed: case["sampler"](n, seed) for seed in seeds}
            for label, (truth, factory) in case["methods"].items():
                key = (case["case"], label)
                if key in too_slow or (label.startswith("kde") and n > 10_000):
                    rows.append({"case": case["case"], "N": n, "method": label, "truth": truth,
                                 "note": "skipped (O(N^2))" if label.startswith("kde")
                                 else f"skipped (a call > {TIME_LIMIT:g} s at the previous N)"})
                    continue
                values, times = [], []
                for seed in seeds:
                    if len(values) >= 2 and max(times) > TIME_LIMIT:
                        break
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        m = measure(factory(seed), *data[seed])
                    values.append(m.result)
                    times.append(m.seconds)
                mean = statistics.fmean(values)
                row = {"case": case["case"], "N": n, "method": label, "truth": truth,
                       "mean": mean, "bias": mean - truth,
                       "spread": statistics.stdev(values) if len(values) > 1 else None,
                       "seconds": min(times), "seeds": len(values), "note": ""}
                rows.append(row)
                print(f"  {case['case']:<12} N={n:<7} {label:<38} bias {row['bias']:+.4f} "
                      f"({row['seconds']:.3g} s)", file=sys.stderr, flush=True)
                if max(times) > TIME_LIMIT:
                    too_slow.add(key)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only N = 1k and 10k")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    start = time.perf_counter()
    rows = run(sizes)
    total = time.perf_counter() - start
    columns = ["case", "N", "method", "truth", "mean", "bias", "spread", "seconds", "seeds", "note"]
    print(format_table(rows, columns=columns,
                       title="Estimators on known cases (nats; bias = mean - truth, spread = sd "
                             "over seeds, seconds = fastest call over the seeds)"))
    print(f"total {total:.1f} s; k-NN module present: {HAS_KNN}")
    path = write_results("estimators", {"environment": environment(total_seconds=total,
                                                                   knn_present=HAS_KNN),
                                        "seeds": SEEDS, "noise_var": NOISE_VAR, "rho": RHO,
                                        "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
