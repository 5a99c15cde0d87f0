"""Seconds of :func:`infolens.matrix_renyi_mi` for one layer against its labels (the plane's
I(T;Y)): N = 1,000, 2,000 and 5,000 samples, widths 64 and 2,048, dense (one N x N Gram matrix)
against minibatches of 200 (the plane's default).

Workload: 10 balanced classes, the layer a random linear image of a 16-dimensional Gaussian
mixture plus independent unit noise on every unit (as ``benchmarks/v_information.py``). Defaults
otherwise (alpha = 1.01, Silverman width): three symmetric eigendecompositions per batch (the
layer, the labels, their Hadamard product). One thread. ``ratio`` is dense seconds over batched
seconds at the same N and width, measured in this run.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/matrix_renyi.py [--quick]
"""

from __future__ import annotations

import argparse

import infolens as il
from _common import class_layer, environment, format_table, measure, set_threads, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 only")
    args = parser.parse_args()
    set_threads(1)
    il.matrix_renyi_mi(*class_layer(100, 8))  # imports and first-call set-up
    rows = []
    for n in (1000,) if args.quick else (1000, 2000, 5000):
        for width in (64, 2048):
            t, y = class_layer(n, width)
            timed = {}
            for mode, batch in (("dense", None), ("batched", 200)):
                m = measure(il.matrix_renyi_mi, t, y, batch_size=batch)
                timed[mode] = m.seconds
                rows.append({"n": n, "width": width, "mode": mode, "batch_size": batch,
                             "seconds": m.seconds, "bits": m.result.value, "cap_bits": m.result.cap,
                             "peak_mb": m.peak_mb, "flags": ",".join(m.result.flags)})
                print(rows[-1], flush=True)
            rows[-1]["ratio"] = timed["dense"] / timed["batched"]
    for row in rows:
        row.setdefault("ratio", None)
    print(format_table(rows, title="matrix_renyi_mi(layer, labels): seconds, dense vs batches of 200"))
    write_results("matrix_renyi", {"environment": environment(), "rows": rows})


if __name__ == "__main__":
    main()
