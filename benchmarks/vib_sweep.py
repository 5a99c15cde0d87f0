"""The ``infolens ib`` VIB beta sweep: results and wall time, all betas vmapped vs one at a time.

Workload: the default sweep (MNIST-1D 3200/800, encoder 40-256-256, K = 32, linear decoder,
Adam 1e-3, batch 100, 60 epochs, 12 posterior samples at evaluation) over beta in
{0, 1e-4, 1e-3, 1e-2, 1e-1, 1}. The contender trains the six models together with one
``torch.func.vmap`` per step (:func:`infolens.experiments.vib_sweep.run_vib_sweep`); the baseline
runs the same function once per beta (a single model each, same seed, same minibatch order).
The SZT 12-bit sweep and the exact SZT IB curve are timed too. The issue's budget is 3 minutes on
2 cores for the whole sweep.

Usage::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/vib_sweep.py [--threads 1] [--no-baseline]
"""

from __future__ import annotations

import argparse
import time

from _common import environment, format_table, set_threads, write_results
from infolens.experiments.vib_sweep import DEFAULT_BETAS, VIBSweepConfig, run_vib_sweep, szt_ib_curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    set_threads(max(args.threads))
    timing_rows, point_rows = [], []
    results = {}
    for threads in args.threads:
        for dataset in ("mnist1d", "szt12"):
            config = VIBSweepConfig(dataset=dataset, epochs=args.epochs, threads=threads)
            result = run_vib_sweep(config)
            results[(dataset, threads)] = result
            timing_rows.append({"dataset": dataset, "mode": "vmapped (6 betas)", "threads": threads,
                                "train_s": result.timings["train_s"], "eval_s": result.timings["eval_s"],
                                "total_s": result.timings["total_s"]})
            for p in result.points:
                point_rows.append({"dataset": dataset, "threads": threads, **p.to_dict()})
            if not args.no_baseline and dataset == "mnist1d":
                started = time.perf_counter()
                train = 0.0
                for beta in DEFAULT_BETAS:
                    single = run_vib_sweep(VIBSweepConfig(dataset=dataset, betas=(beta,), epochs=args.epochs,
                                                          threads=threads))
                    train += single.timings["train_s"]
                timing_rows.append({"dataset": dataset, "mode": "one beta at a time", "threads": threads,
                                    "train_s": train, "eval_s": None,
                                    "total_s": time.perf_counter() - started})
    started = time.perf_counter()
    curve = szt_ib_curve()
    timing_rows.append({"dataset": "szt12", "mode": "exact IB curve (17 betas)", "threads": 1,
                        "train_s": None, "eval_s": None, "total_s": time.perf_counter() - started})
    print(format_table(timing_rows, title="VIB sweep wall time (seconds)"))
    print()
    columns = ["dataset", "threads", "beta", "test_accuracy", "rate_bits", "I_ZY_bits", "train_accuracy"]
    print(format_table(point_rows, columns, title="VIB sweep points (test split, bits)"))
    checks = {f"{d}/threads={t}": r.checks() for (d, t), r in results.items()}
    print()
    for key, value in checks.items():
        print(key, value)
    write_results("vib_sweep", {"environment": environment(), "epochs": args.epochs, "timings": timing_rows,
                                "points": point_rows, "checks": checks,
                                "szt_ib_curve": curve.to_dict()})


if __name__ == "__main__":
    main()
