"""Stacked training (StackedMLP, one batched matmul per layer) vs one network at a time.

Workload: the 12-10-7-5-4-3-2 network on the 12-bit task (80/20 split, batch 256, Adam lr 4e-4),
2 activations (tanh, relu) x 3 seeds = 6 networks, 200 epochs. The baseline trains the 6
``ReferenceMLP`` one after another with :func:`infolens.training.train_single` (same optimizer,
same minibatch order); the contender trains them together with ``train_members``. Both are timed
with the per-epoch evaluation of train loss/accuracy and test accuracy ("with eval") and with it
only at the end ("train only"), for 1 and 2 torch threads. The final weights of both must agree
(checked and reported).

``--accuracy`` instead runs the long accuracy study: tanh networks for ``--epochs`` (3000)
epochs at several batch sizes and learning rates, reporting the reached test accuracy, and writes
``benchmarks/results/training_accuracy.json``.

Usage::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/training.py [--epochs 200] [--repeats 1] [--threads 1 2]
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/training.py --accuracy [--epochs 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from infolens.data import load
from infolens.models import SZT_WIDTHS, ReferenceMLP, StackedMLP
from infolens.training import train_members, train_single

RESULTS = Path(__file__).resolve().parent / "results"
ACTIVATIONS = ("tanh", "relu")
SEEDS = (0, 1, 2)


def _members() -> tuple[list[str], list[int]]:
    acts = [a for a in ACTIVATIONS for _ in SEEDS]
    return acts, [s for _ in ACTIVATIONS for s in SEEDS]


def run_sequential(split, epochs: int, eval_every: int) -> tuple[float, float, list[ReferenceMLP]]:
    """Wall and CPU seconds to train the 6 networks one after another."""
    acts, seeds = _members()
    models = []
    wall, cpu = time.perf_counter(), time.process_time()
    for act, seed in zip(acts, seeds, strict=True):
        torch.manual_seed(seed)
        model = ReferenceMLP(SZT_WIDTHS, act)
        train_single(model, split, epochs, lr=4e-4, batch_size=256, seed=seed, eval_every=eval_every)
        models.append(model)
    return time.perf_counter() - wall, time.process_time() - cpu, models


def run_stacked(split, epochs: int, eval_every: int) -> tuple[float, float, StackedMLP]:
    """Wall and CPU seconds to train the 6 networks together."""
    acts, seeds = _members()
    wall, cpu = time.perf_counter(), time.process_time()
    model = StackedMLP(len(acts), SZT_WIDTHS, acts, seeds)
    train_members(model, split, epochs, lr=4e-4, batch_size=256, eval_every=eval_every)
    return time.perf_counter() - wall, time.process_time() - cpu, model


def max_weight_difference(models: list[ReferenceMLP], stacked: StackedMLP) -> float:
    return max((a - b).abs().max().item() for i, model in enumerate(models)
               for a, b in zip(model.parameters(), stacked.member(i).parameters(), strict=True))


def speed(epochs: int, repeats: int, threads_list: list[int]) -> list[dict]:
    split = load("szt12", seed=0)
    warm = StackedMLP(1, SZT_WIDTHS, ["tanh"], [0])
    train_members(warm, split, 1)  # first optimizer step imports torch internals (~3 s): keep it out
    rows = []
    for threads in threads_list:
        torch.set_num_threads(threads)
        for mode, eval_every in (("with eval", 1), ("train only", epochs)):
            seq, stack = [], []
            load_before = os.getloadavg()[0]
            for _ in range(repeats):
                *t_seq, models = run_sequential(split, epochs, eval_every)
                *t_stack, stacked = run_stacked(split, epochs, eval_every)
                seq.append(t_seq)
                stack.append(t_stack)
            best_seq, best_stack = min(seq), min(stack)
            row = {"threads": threads, "mode": mode, "epochs": epochs, "networks": len(models),
                   "sequential_s": best_seq[0], "stacked_s": best_stack[0],
                   "speedup": best_seq[0] / best_stack[0],
                   "sequential_cpu_s": best_seq[1], "stacked_cpu_s": best_stack[1],
                   "max_weight_diff": max_weight_difference(models, stacked),
                   "load_average": [load_before, os.getloadavg()[0]]}
            rows.append(row)
            print(f"  threads={threads} {mode:10s} sequential {row['sequential_s']:7.2f} s  "
                  f"stacked {row['stacked_s']:6.2f} s  x{row['speedup']:.2f}  "
                  f"max |w diff| {row['max_weight_diff']:.1e}", flush=True)
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'threads':>7} {'mode':<10} {'epochs':>6} {'sequential s':>12} {'stacked s':>10} {'speed-up':>9} "
          f"{'seq cpu s':>9} {'stack cpu s':>11} {'max|dw|':>8} {'load':>9}")
    for r in rows:
        load_avg = "-".join(f"{v:.1f}" for v in r["load_average"])
        print(f"{r['threads']:>7} {r['mode']:<10} {r['epochs']:>6} {r['sequential_s']:>12.2f} "
              f"{r['stacked_s']:>10.2f} {r['speedup']:>8.2f}x {r['sequential_cpu_s']:>9.2f} "
              f"{r['stacked_cpu_s']:>11.2f} {r['max_weight_diff']:>8.1e} {load_avg:>9}")


def accuracy(epochs: int, threads: int) -> dict:
    """Test accuracy of tanh networks after ``epochs`` epochs, for a few batch sizes and rates."""
    torch.set_num_threads(threads)
    split = load("szt12", seed=0)
    seeds = [0, 1, 2]
    n_train = len(split.y_train)
    rows = []
    for batch_size, lr in ((256, 4e-4), (256, 1e-3), (n_train, 1e-2), (n_train, 4e-4)):
        model = StackedMLP(len(seeds), SZT_WIDTHS, ["tanh"] * len(seeds), seeds)
        start = time.perf_counter()
        hist = train_members(model, split, epochs, lr=lr, batch_size=batch_size,
                             eval_every=max(1, epochs // 100))
        seconds = time.perf_counter() - start
        evaluated = ~np.isnan(hist.test_accuracy[0])
        cols = np.flatnonzero(evaluated)
        row = {"batch_size": batch_size, "lr": lr, "epochs": epochs, "seeds": seeds, "seconds": seconds,
               "final_test_accuracy": hist.test_accuracy[:, -1].tolist(),
               "final_train_accuracy": hist.train_accuracy[:, -1].tolist(),
               "best_test_accuracy": np.nanmax(hist.test_accuracy, axis=1).tolist(),
               "curve_epochs": cols.tolist(),
               "curve_test_accuracy_mean": hist.test_accuracy[:, cols].mean(axis=0).round(4).tolist()}
        rows.append(row)
        milestones = [e for e in (100, 300, 1000, 3000, 10000) if e <= epochs]
        at = {e: float(hist.test_accuracy[:, e].mean()) for e in milestones if evaluated[e]}
        print(f"batch {batch_size:>5} lr {lr:.0e}: test acc per seed "
              f"{np.round(hist.test_accuracy[:, -1], 4).tolist()} (train "
              f"{np.round(hist.train_accuracy[:, -1], 4).tolist()}), mean at epochs "
              f"{ {e: round(v, 4) for e, v in at.items()} }, {seconds:.0f} s", flush=True)
    return {"benchmark": "training_accuracy", "dataset": "szt12 (80/20, split seed 0)",
            "activation": "tanh", "torch": torch.__version__, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--accuracy", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.accuracy:
        path = RESULTS / "training_accuracy.json"
        path.write_text(json.dumps(accuracy(args.epochs or 3000, args.threads[0]), indent=2) + "\n")
        print(f"wrote {path}")
        return
    path = RESULTS / "training.json"
    new = speed(args.epochs or 200, args.repeats, args.threads)
    # rows of other thread counts from an earlier invocation are kept, so 1 and 2 threads may be
    # measured separately (the 2-thread runs are slow on a loaded 2-core machine)
    old = json.loads(path.read_text())["rows"] if path.is_file() else []
    rows = sorted([r for r in old if r["threads"] not in args.threads] + new,
                  key=lambda r: (r["threads"], r["mode"] != "with eval"))
    print()
    print_table(rows)
    result = {"benchmark": "training", "workload": "szt12 12-10-7-5-4-3-2, tanh+relu x seeds 0,1,2, "
              "batch 256, Adam lr 4e-4; sequential = train_single per network, stacked = train_members",
              "repeats": args.repeats, "torch": torch.__version__, "machine": platform.platform(),
              "cpus": os.cpu_count(), "rows": rows}
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
