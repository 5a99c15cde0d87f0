"""Speed of layer maps (PCA, t-SNE, UMAP) and of per-layer probes.

Workloads
---------
maps
    5,000 activations of a 128-unit layer: the last block of a :class:`RedundantMLP` trained for a
    few epochs on MNIST-1D (10,000 samples), so the points have the cluster structure of a real
    layer. t-SNE with openTSNE's FFT gradient and with Barnes-Hut (``n_jobs=2``), in 2-D; 3-D
    (Barnes-Hut only) on 2,000 points; UMAP 2-D (its first call includes numba's compilation and is
    reported separately); PCA 2-D and 3-D. The target of the issue: t-SNE of 5,000 x 128 in under
    30 s on 2 cores.
probes
    :func:`infolens.probe_layers` on the reference networks (``ReferenceMLP`` for szt12, mnist1d
    and digits, trained briefly; every layer plus the input, 5 splits, ``C="auto"``), and on the
    128-wide RedundantMLP with 4,000 probe samples.
solvers
    One probe fit (3,000 x 128, 10 classes, C=0.1) with the three solvers we considered: ours
    (SciPy L-BFGS-B driving a torch loss and gradient), ``torch.optim.LBFGS`` (strong Wolfe) and
    scikit-learn's ``LogisticRegression(solver="lbfgs")``; the final objectives must agree.

The machine is shared: the load average is stored with the results, and every map also reports
the process CPU time (all threads): with ``n_jobs=2`` on an otherwise idle 2-core machine the wall
time is about CPU time / 2 when both threads stay busy. Rerun on a quiet machine for clean numbers.

Usage::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/embed.py [--skip-umap] [--skip-3d]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from _common import environment, format_table, set_threads, write_results
from infolens.embedding import embed
from infolens.probes import fit_softmax_regression, probe_layers
from infolens.training import finetune


def _layer_activations(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """A 128-unit layer of a briefly trained RedundantMLP on MNIST-1D (held-out points)."""
    from infolens.data import mnist1d
    from infolens.experiments.probe_run import RedundantMLP

    split = mnist1d(n_samples=2 * n_points, seed=0, test_size=0.5)
    torch.manual_seed(0)
    model = RedundantMLP(40, 10, width=128)
    finetune(model, torch.tensor(split.x_train), torch.tensor(split.y_train), epochs=8, lr=1e-3,
             batch_size=128, seed=0)
    with torch.no_grad():
        h = torch.tensor(split.x_test)
        for i, block in enumerate(model.blocks):
            h = block(h + model.skip(torch.tensor(split.x_test)) if i == model.skip_to else h)
    return h.numpy().astype(np.float64), split.y_test


def bench_maps(x: np.ndarray, y: np.ndarray, skip_umap: bool, skip_3d: bool) -> list[dict]:
    rows = []

    def run(label: str, data: np.ndarray, labels: np.ndarray, method: str, dims: int,
            **kwargs: object) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        result = embed(data, method, dims, labels=labels, **kwargs)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        rows.append({"case": label, "n": data.shape[0], "d": data.shape[1], "dims": dims,
                     "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                     "knn_accuracy": round(result.knn_accuracy, 4)})
        print(f"  {label}: {seconds:.1f} s", flush=True)

    run("PCA", x, y, "pca", 2)
    run("PCA", x, y, "pca", 3)
    run("t-SNE FFT, n_jobs=2", x, y, "tsne", 2, n_jobs=2, negative_gradient_method="fft")
    run("t-SNE Barnes-Hut, n_jobs=2", x, y, "tsne", 2, n_jobs=2, negative_gradient_method="bh")
    run("t-SNE FFT, n_jobs=1", x, y, "tsne", 2, n_jobs=1, negative_gradient_method="fft")
    if not skip_3d:
        run("t-SNE 3-D Barnes-Hut, n_jobs=2", x[:2000], y[:2000], "tsne", 3, n_jobs=2)
    if not skip_umap:
        run("UMAP (first call, numba compiles)", x, y, "umap", 2)
        run("UMAP (second call)", x, y, "umap", 2)
    return rows


def _reference_model(dataset: str) -> tuple[torch.nn.Module, object]:
    from infolens.data import load
    from infolens.models import ReferenceMLP, reference_widths

    split = load(dataset, seed=0)
    torch.manual_seed(0)
    model = ReferenceMLP(reference_widths(dataset), "tanh")
    epochs = {"szt12": 200, "mnist1d": 30, "digits": 60}[dataset]
    finetune(model, torch.tensor(split.x_train, dtype=torch.float32), torch.tensor(split.y_train),
             epochs=epochs, lr=1e-3 if dataset != "szt12" else 4e-3, batch_size=128, seed=0)
    return model, split


def bench_probes() -> list[dict]:
    rows = []
    for dataset in ("szt12", "mnist1d", "digits"):
        model, split = _reference_model(dataset)
        start = time.perf_counter()
        report = probe_layers(model, split.x_test, split.y_test)
        seconds = time.perf_counter() - start
        rows.append({"network": f"ReferenceMLP {dataset}", "layers": len(report.layers),
                     "max_width": max(report.dims), "n": report.n_samples, "seconds": round(seconds, 2),
                     "redundant": ", ".join(report.redundant) or "-"})
        print(f"  probes {dataset}: {seconds:.1f} s", flush=True)
    from infolens.data import mnist1d
    from infolens.experiments.probe_run import RedundantMLP

    split = mnist1d(n_samples=12000, seed=0, test_size=1 / 3)
    torch.manual_seed(0)
    model = RedundantMLP(40, 10, width=128)
    finetune(model, torch.tensor(split.x_train), torch.tensor(split.y_train), epochs=10, lr=1e-3,
             batch_size=128, seed=0)
    start = time.perf_counter()
    report = probe_layers(model, split.x_test, split.y_test)
    seconds = time.perf_counter() - start
    rows.append({"network": "RedundantMLP mnist1d (width 128)", "layers": len(report.layers),
                 "max_width": max(report.dims), "n": report.n_samples, "seconds": round(seconds, 2),
                 "redundant": ", ".join(report.redundant) or "-"})
    print(f"  probes RedundantMLP: {seconds:.1f} s", flush=True)
    return rows


def bench_solvers(x: np.ndarray, y: np.ndarray, C: float = 0.1) -> list[dict]:
    from sklearn.linear_model import LogisticRegression

    x = x[:3000]
    y = y[:3000]
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    n, d = x.shape
    k = int(y.max()) + 1
    xt, yt = torch.tensor(x), torch.tensor(y)

    def objective(weight: np.ndarray, bias: np.ndarray) -> float:
        logits = x @ weight + bias
        top = logits.max(axis=1, keepdims=True)
        log_norm = (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))[:, 0]
        return float(np.mean(log_norm - logits[np.arange(n), y]) + np.sum(weight**2) / (2 * C * n))

    def ours() -> tuple[np.ndarray, np.ndarray]:
        w, b = fit_softmax_regression(xt, yt, k, C)
        return w.numpy(), b.numpy()

    def torch_lbfgs() -> tuple[np.ndarray, np.ndarray]:
        w = torch.zeros(d, k, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(k, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=2000, history_size=20, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-5, tolerance_change=1e-12)

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(xt @ w + b, yt) + w.pow(2).sum() / (2 * C * n)
            loss.backward()
            return loss

        opt.step(closure)
        return w.detach().numpy(), b.detach().numpy()

    def sklearn() -> tuple[np.ndarray, np.ndarray]:
        model = LogisticRegression(C=C, max_iter=2000, tol=1e-6).fit(x, y)
        return model.coef_.T, model.intercept_

    rows = []
    for name, fn in (("ours: SciPy L-BFGS-B + torch loss", ours), ("torch.optim.LBFGS", torch_lbfgs),
                     ("scikit-learn lbfgs", sklearn)):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            w, b = fn()
            times.append(time.perf_counter() - start)
        rows.append({"solver": name, "n": n, "d": d, "classes": k, "seconds_best_of_3": round(min(times), 3),
                     "objective": round(objective(w, b), 7)})
        print(f"  solver {name}: {min(times):.3f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--skip-umap", action="store_true")
    parser.add_argument("--skip-3d", action="store_true")
    args = parser.parse_args()
    set_threads(2)
    env_before = environment()
    print("activations ...", flush=True)
    x, y = _layer_activations(args.points)
    print("maps ...", flush=True)
    maps = bench_maps(x, y, args.skip_umap, args.skip_3d)
    print("probes ...", flush=True)
    probes = bench_probes()
    print("solvers ...", flush=True)
    solvers = bench_solvers(x, y)
    tsne = next(r for r in maps if r["case"] == "t-SNE FFT, n_jobs=2")
    target = {"tsne_fft_seconds": tsne["seconds"], "target_seconds": 30.0,
              "met": bool(tsne["seconds"] < 30.0)}
    print(format_table(maps, title=f"Maps of {x.shape[0]} x {x.shape[1]} activations (MNIST-1D layer)"))
    print(format_table(probes, title="probe_layers on reference networks (5 splits, C='auto')"))
    print(format_table(solvers, title="One probe fit, three solvers"))
    print(f"t-SNE 5,000 x 128 FFT on 2 threads: {tsne['seconds']:.1f} s (target < 30 s: "
          f"{'met' if target['met'] else 'NOT met'}); load average before {env_before['load_average']}, "
          f"after {environment()['load_average']}")
    write_results("embed", {"environment": env_before, "environment_after": environment(), "maps": maps,
                            "probes": probes, "solvers": solvers, "tsne_target": target,
                            "nan_free": all(math.isfinite(r["seconds"]) for r in maps)})


if __name__ == "__main__":
    main()
