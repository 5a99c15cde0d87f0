"""Information-plane cost: estimation time per estimator, and recording cost against training time.

(a) Estimation: the activations of the 6 layers of the reference 12-10-7-5-4-3-2 tanh network on
    all 4096 inputs of the 12-bit task, at the 120 epochs of a real training run (plus epoch 0),
    re-estimated with ``InformationPlane.record_activations`` under binning (target < 2 s in
    total), adaptive binning and KDE. Baseline measured in the same run: the general
    ``estimate_entropy`` + ``estimate_mi`` API per layer and epoch (what the plane would cost
    without its one-pass count path). KDE is O(n^2) per layer: it is timed on a few epochs and
    extrapolated (marked), and on a fixed 1024-sample subset for every epoch.
(b) Recording vs training: 120 epochs of Adam (lr 4e-4, batch 256) on the 80 % training split,
    with and without recording the binning plane of all 4096 inputs at every epoch; the
    recording time is timed call by call (target < 10 % of the training time). Done for a
    ``ReferenceMLP`` with a plain loop (``plane.record``) and for ``infolens.training.
    train_members`` on a ``StackedMLP`` (``plane.record_members``) when that module exists.
(c) One recorded epoch of one 5,000-sample layer under the O(n^2) estimators (plane_large.json).
(d) Scale (``--scale``): one recorded epoch of a small conv net whose first feature map has
    64 x 32 x 32 = 65,536 units (Conv2d(3, 64, 3, padding=1) on random 32 x 32 inputs, ReLU,
    4 x 4 max pool, Linear(4096, 64), ReLU, Linear(64, 10)), all four layers, N = 10,000, 20,000
    and 50,000, under binning(bins=30) and under matrix_renyi (its defaults: seeded batches of
    200, alpha 1.01, "knn" widths, with the shuffled-label baseline): today's whole-layer path
    (``batch_size=None``) against the streaming one (``batch_size=64``), each configuration in
    a fresh subprocess, one at a time; seconds and the child's peak RSS (``ru_maxrss``, the
    inputs and torch included). Binning over each layer's own range streams in two passes (the
    first for the range); with fixed edges (``range=(0, 4)``, also timed) in one. Matrix Renyi
    streams in one pass, the model run in the order of its seeded batches. The whole-layer path
    runs only where its estimated peak is under 3 GB (at N = 500 and 1,000; the machine is
    shared), so both paths also run there. One thread per process, and matrix Renyi at
    N = 50,000 also with two (its Gram matrices are matrix products).
    Targets (2 cores): N = 50,000 in <= 2 GB peak, binning <= 60 s, matrix Renyi <= 120 s per
    recorded epoch.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/plane.py [--quick | --scale]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    RESULTS_DIR,
    environment,
    format_table,
    measure,
    run_isolated,
    set_threads,
    write_results,
)
from infolens import InfoLensWarning, estimate_entropy, estimate_mi  # noqa: E402
from infolens.data import split, szt12  # noqa: E402
from infolens.estimators._pairwise import BLOCK  # noqa: E402
from infolens.models import ReferenceMLP, StackedMLP  # noqa: E402
from infolens.plane import InformationPlane  # noqa: E402

EPOCHS = 120
LR = 4e-4
BATCH = 256


def train_reference(x_all, y_all, data, epochs: int, plane: InformationPlane | None,
                    seed: int = 0) -> dict[str, float]:
    """Plain Adam loop; records the plane of all inputs at the scheduled epochs (0 = initial)."""
    torch.manual_seed(seed)
    model = ReferenceMLP(activation="tanh")
    x_train = torch.from_numpy(data.x_train)
    y_train = torch.from_numpy(data.y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    record_seconds = 0.0
    recorded = 0
    start = time.perf_counter()
    for epoch in range(epochs + 1):
        if epoch > 0:
            model.train()
            order = torch.randperm(len(y_train), generator=generator)
            for i in range(0, len(order), BATCH):
                idx = order[i:i + BATCH]
                loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        if plane is not None and plane.should_record(epoch):
            t0 = time.perf_counter()
            plane.record(model, epoch, activation="tanh", seed=seed)
            record_seconds += time.perf_counter() - t0
            recorded += 1
    total = time.perf_counter() - start
    return {"total_s": total, "record_s": record_seconds, "train_s": total - record_seconds,
            "recorded": recorded}


def best_of(repeat: int, fn, *args, **kwargs) -> dict[str, float]:
    """Smallest times over ``repeat`` runs (other processes share the CPU)."""
    runs = [fn(*args, **kwargs) for _ in range(repeat)]
    return {key: min(run[key] for run in runs) for key in runs[0]}


def train_stacked(x_all, y_all, data, epochs: int, members: int, make_plane) -> dict[str, float]:
    """``train_members`` on a StackedMLP; ``plane.record_members`` in ``on_epoch``."""
    from infolens.training import train_members

    plane = make_plane() if make_plane is not None else None
    model = StackedMLP(members, (12, 10, 7, 5, 4, 3, 2), ["tanh"] * members, seeds=list(range(members)))
    x = torch.from_numpy(x_all)
    spent = {"record_s": 0.0, "recorded": 0}

    def on_epoch(epoch: int, net: StackedMLP) -> None:
        t0 = time.perf_counter()
        with torch.no_grad():
            _, acts = net.forward_with_activations(x)
        plane.record_members(acts, epoch, seeds=net.seeds, activation=list(net.activations),
                             layer_names=net.layer_names)
        spent["record_s"] += time.perf_counter() - t0
        spent["recorded"] += 1

    start = time.perf_counter()
    train_members(model, data, epochs, lr=LR, batch_size=BATCH,
                  on_epoch=on_epoch if plane is not None else None)
    total = time.perf_counter() - start
    return {"total_s": total, "record_s": spent["record_s"], "train_s": total - spent["record_s"],
            "recorded": spent["recorded"]}


def estimation_rows(kept, y, x, quick: bool) -> list[dict]:
    rows = []
    epochs = sorted(kept)
    n_layers = len(kept[epochs[0]])

    def timed(estimator: str, params: dict, which: list[int], rows_idx=None, note: str = "",
              repeat: int = 1) -> None:
        xs, ys = (x, y) if rows_idx is None else (x[rows_idx], y[rows_idx])
        seconds = math.inf
        for _ in range(repeat):
            plane = InformationPlane(xs, ys, estimator=estimator, **params)
            start = time.perf_counter()
            for epoch in which:
                acts = kept[epoch] if rows_idx is None else {k: v[rows_idx] for k, v in kept[epoch].items()}
                plane.record_activations(acts, epoch)
            seconds = min(seconds, time.perf_counter() - start)
        per_epoch = seconds / len(which)
        rows.append({"estimator": plane.estimator.label, "n": len(ys), "layers": n_layers,
                     "epochs_timed": len(which), "s_per_epoch": per_epoch,
                     "s_for_all_epochs": per_epoch * len(epochs),
                     "extrapolated": len(which) < len(epochs), "note": note})

    timed("binning", {"bins": 30}, epochs, repeat=3)
    timed("binning", {"bin_width": 2 / 30}, epochs, repeat=3, note="the main job's default")
    timed("binning", {"bins": 100}, epochs, repeat=3)
    timed("adaptive_binning", {"bins": 30}, epochs, note="per-unit np.quantile")
    timed("plugin", {}, epochs, note="exact float rows")

    # baseline: the general estimate_* API, one call per quantity and layer
    start = time.perf_counter()
    base_epochs = epochs[:: 4 if not quick else 20]
    for epoch in base_epochs:
        for t in kept[epoch].values():
            estimate_entropy(t, method="binning", bins=30)
            estimate_mi(t, y, method="binning", bins=30)
    per_epoch = (time.perf_counter() - start) / len(base_epochs)
    rows.append({"estimator": "baseline: estimate_entropy+estimate_mi binning(bins=30)", "n": len(y),
                 "layers": n_layers, "epochs_timed": len(base_epochs), "s_per_epoch": per_epoch,
                 "s_for_all_epochs": per_epoch * len(epochs), "extrapolated": True, "note": "general API"})

    kde_epochs = epochs[:: 30 if not quick else 60]
    timed("kde", {"noise_var": 0.1}, kde_epochs, note="O(n^2) per layer")
    subset = np.sort(np.random.default_rng(0).choice(len(y), 1024, replace=False))
    timed("kde", {"noise_var": 0.1}, epochs if not quick else epochs[::10], rows_idx=subset,
          note="fixed 1024-sample subset")
    return rows


LARGE_N = 5000
LARGE_ESTIMATORS = (("kde", {"noise_var": 0.1}), ("adaptive_kde", {"noise_var": 0.1}),
                    ("sample_propagation", {"noise_var": 0.1}))


def _record_one_epoch(estimator: str, params: dict, t: np.ndarray, y: np.ndarray) -> list[float]:
    plane = InformationPlane(np.zeros((len(y), 1), dtype=np.float32), y, estimator=estimator,
                             units="bits", **params)
    return [r["value"] for r in plane.record_activations({"layer": t}, 0)]


def _measure_warm(estimator: str, params: dict, t: np.ndarray, y: np.ndarray):
    """In the child: a 64-sample warm-up (imports, thread pools), then the measured epoch."""
    _record_one_epoch(estimator, params, t[:64], y[:64])
    return measure(_record_one_epoch, estimator, params, t, y)


def large_layer_rows(quick: bool) -> list[dict]:
    """(c): one recorded epoch of a 5,000-sample layer per estimator and width, each isolated."""
    rng = np.random.default_rng(0)
    n = 1000 if quick else LARGE_N
    x = rng.standard_normal((n, 64))
    y = rng.integers(0, 10, n)
    rows = []
    for width in (1024, 20):
        t = np.tanh(x @ (rng.standard_normal((64, width)) / 8.0)).astype(np.float32)
        for estimator, params in LARGE_ESTIMATORS:
            m = run_isolated(_measure_warm, estimator, params, t, y).result
            rows.append({"estimator": estimator, "n": n, "units": width, "block": BLOCK,
                         "s_per_epoch": m.seconds, "peak_extra_mib": m.peak_mb,
                         "activations_mib": t.nbytes / 2**20,
                         "n x n float64 mib": n * n * 8 / 2**20,
                         "I_XT bits": m.result[0], "I_TY bits": m.result[1]})
    return rows


SCALE_N = (500, 1000, 10_000, 20_000, 50_000)
SCALE_BATCH = 64
#: Skip the whole-layer path where its estimated peak exceeds this (bytes).
WHOLE_LAYER_LIMIT = 3e9
SCALE_LAYERS = ("relu1", "pool", "relu2", "head")
#: Fixed bin edges of the one-pass streaming rows.
FIXED_RANGE = (0.0, 4.0)


class ScaleNet(torch.nn.Module):
    """Conv2d(3, 64, 3, padding=1) -> ReLU (65,536 units) -> 4 x 4 max pool (4,096) -> Linear(4096,
    64) -> ReLU -> Linear(64, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 64, 3, padding=1)
        self.relu1 = torch.nn.ReLU()
        self.pool = torch.nn.MaxPool2d(4)
        self.fc = torch.nn.Linear(64 * 8 * 8, 64)
        self.relu2 = torch.nn.ReLU()
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.pool(self.relu1(self.conv(x))).flatten(1)
        return self.head(self.relu2(self.fc(hidden)))


def whole_layer_bytes(n: int) -> float:
    """Estimated peak of the whole-layer path: every layer in float32, the 65,536-unit layer's
    quantization temporaries (about three float32 copies and two int64 ones), the inputs."""
    units = 65_536 + 4_096 + 64 + 10
    return n * (4 * units + 28 * 65_536 + 4 * 3 * 32 * 32)


def scale_child(n: int, batch_size: int | None, fixed: bool, estimator: str, threads: int) -> dict:
    """In a fresh process: one recorded epoch; seconds, estimation seconds, peak RSS, values."""
    set_threads(threads)
    torch.manual_seed(0)
    model = ScaleNet().eval()
    x = torch.randn(n, 3, 32, 32)
    y = np.random.default_rng(0).integers(0, 10, n)
    settings = {"bins": 30, **({"range": FIXED_RANGE} if fixed else {})} if estimator == "binning" else {}
    plane = InformationPlane(x, y, layers=list(SCALE_LAYERS), estimator=estimator, batch_size=batch_size,
                             **settings)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfoLensWarning)  # saturation flags: the records carry them
        records = plane.record(model, 0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "estimation_s": plane.estimation_seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "values": {f"{r['layer']} {r['quantity']}": r["value"] for r in records}}


#: (estimator, batch_size, fixed range, threads) of every scale configuration, at each N.
SCALE_CONFIGS = (("binning", None, False, 1), ("binning", SCALE_BATCH, False, 1),
                 ("binning", SCALE_BATCH, True, 1), ("matrix_renyi", None, False, 1),
                 ("matrix_renyi", SCALE_BATCH, False, 1))


def scale_rows(sizes: tuple[int, ...]) -> list[dict]:
    """(d): every configuration in its own subprocess, one after the other."""
    rows = []
    for n in sizes:
        whole: dict[str, dict] = {}
        configs = SCALE_CONFIGS + ((("matrix_renyi", SCALE_BATCH, False, 2),) if n == max(sizes) else ())
        for estimator, batch_size, fixed, threads in configs:
            path = "whole layer" if batch_size is None else f"streaming, batch_size={batch_size}"
            if estimator == "binning":
                edges = f"fixed range={FIXED_RANGE}, 1 pass" if fixed else (
                    "own range, 2 passes" if batch_size else "own range")
            else:
                edges = "seeded batches of 200" + (", 1 pass" if batch_size else "")
            row = {"n": n, "estimator": estimator, "path": path, "edges": edges, "threads": threads,
                   "seconds": None, "estimation_s": None, "peak_rss_mb": None,
                   "input_mb": n * 3 * 32 * 32 * 4 / 2**20, "max |diff| vs whole": None, "note": ""}
            if batch_size is None and whole_layer_bytes(n) > WHOLE_LAYER_LIMIT:
                row["note"] = f"skipped: estimated {whole_layer_bytes(n) / 1e9:.1f} GB"
                rows.append(row)
                continue
            out = subprocess.run([sys.executable, __file__, "--scale-child", str(n), str(batch_size or 0),
                                  str(int(fixed)), estimator, str(threads)], check=True, capture_output=True,
                                 text=True)
            got = json.loads(out.stdout.strip().splitlines()[-1])
            row.update({k: got[k] for k in ("seconds", "estimation_s", "peak_rss_mb")})
            if batch_size is None:
                whole[estimator] = got["values"]
            elif estimator in whole and not fixed:
                row["max |diff| vs whole"] = max(abs(got["values"][k] - whole[estimator][k])
                                                 for k in whole[estimator])
            row["I_XT relu1 bits"] = got["values"]["relu1 I_XT"]
            row["I_TY relu1 bits"] = got["values"]["relu1 I_TY"]
            rows.append(row)
            print(format_table([row]), flush=True)
    return rows


def previous_scale() -> dict:
    """The (d) section already in plane.json, kept when (a) and (b) rewrite it."""
    path = RESULTS_DIR / "plane.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    return {"scale": previous["scale"]} if "scale" in previous else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 epochs, fewer repeats (smoke test)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--large-only", action="store_true",
                        help="only (c), the 5,000-sample KDE / adaptive KDE / SP section")
    parser.add_argument("--scale", action="store_true",
                        help="only (d), the conv-net scale section (heavy: minutes, up to 2 GB)")
    parser.add_argument("--scale-n", type=int, nargs="+", default=list(SCALE_N),
                        help="sample sizes of (d)")
    parser.add_argument("--scale-child", nargs=5, metavar=("N", "BATCH", "FIXED", "ESTIMATOR", "THREADS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_child:
        n, batch, fixed, estimator, threads = args.scale_child
        print(json.dumps(scale_child(int(n), int(batch) or None, bool(int(fixed)), estimator, int(threads))))
        return
    if args.scale:
        rows = scale_rows(tuple(args.scale_n))
        print(format_table(rows, title="(d) one recorded epoch of a conv net (first feature map 65,536 "
                                       "units), 4 layers, binning(bins=30) and matrix_renyi; peak RSS of "
                                       "a fresh process"))
        path = RESULTS_DIR / "plane.json"
        payload = json.loads(path.read_text()) if path.exists() else {}
        payload["scale"] = {"environment": environment(), "rows": rows}
        print(f"wrote {write_results('plane', payload)}")  # (a) and (b) kept
        return
    set_threads(args.threads)
    large_rows = large_layer_rows(args.quick)
    print(format_table(large_rows, title="(c) one recorded epoch of one layer, O(n^2) estimators "
                                         "(timings noisy on a shared machine)"))
    path = write_results("plane_large", {"environment": environment(quick=args.quick),
                                         "large_layers": large_rows})
    print(f"wrote {path}\n")
    if args.large_only:
        return
    epochs = 20 if args.quick else EPOCHS
    x_all, y_all = szt12()
    data = split(x_all, y_all, test_size=0.2, seed=0, name="szt12")

    # (b) recording cost vs training: best of `repeat` runs of each setup (warm-up run first)
    repeat = 1 if args.quick else 3
    train_reference(x_all, y_all, data, 2, None)
    cost_rows = []

    def cost_row(setup: str, members: int, schedule: str, bare: dict, rec: dict) -> dict:
        return {"setup": setup, "members": members, "schedule": schedule, "epochs": epochs,
                "recorded": int(rec["recorded"]), "train_s (no recording)": bare["total_s"],
                "record_s": rec["record_s"],
                "record_ms / recorded epoch": 1e3 * rec["record_s"] / max(rec["recorded"], 1),
                "record / train": rec["record_s"] / bare["total_s"]}

    bare = best_of(repeat, train_reference, x_all, y_all, data, epochs, None)
    for schedule in ("every", "log"):
        rec = best_of(repeat, lambda s=schedule: train_reference(
            x_all, y_all, data, epochs, InformationPlane(x_all, y_all, bins=30, schedule=s,
                                                         last_epoch=epochs)))
        cost_rows.append(cost_row("ReferenceMLP, plain Adam loop, plane.record", 1, schedule, bare, rec))
    if importlib.util.find_spec("infolens.training") is not None:
        for members in (1, 4):
            bare_s = best_of(repeat, train_stacked, x_all, y_all, data, epochs, members, None)
            rec_s = best_of(repeat, train_stacked, x_all, y_all, data, epochs, members,
                            lambda: InformationPlane(x_all, y_all, estimator="binning", bins=30))
            cost_rows.append(cost_row("StackedMLP, train_members, plane.record_members", members, "every",
                                      bare_s, rec_s))

    # activations of every epoch of one training run, for (a)
    plane = InformationPlane(x_all, y_all, estimator="binning", bins=30, keep_activations=True)
    train_reference(x_all, y_all, data, epochs, plane)

    # (a) estimation time on the activations kept by the recording run
    kept = plane.activations[("tanh", 0)]
    est_rows = estimation_rows(kept, y_all, x_all, args.quick)

    print(format_table(est_rows, title=f"(a) estimation time, 6 layers x {len(kept)} epochs, n=4096 "
                                       "(target: binning < 2 s)"))
    print()
    print(format_table(cost_rows, title="(b) recording cost vs training time (target: record/train < 0.1)"))
    path = write_results("plane", {"environment": environment(quick=args.quick), "estimation": est_rows,
                                   "recording": cost_rows, **previous_scale()})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
