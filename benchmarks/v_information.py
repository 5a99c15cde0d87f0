"""Seconds per layer of :func:`infolens.v_information`: N = 1,000 and 4,000 samples, widths 64 and
2,048, the linear and the MLP family.

Workload: 10 balanced classes, the layer a random linear image of a 16-dimensional Gaussian
mixture (class means drawn with scale 0.5) plus independent unit noise on every unit, so the layer
carries a few bits a linear probe can partly read. Every call uses the defaults (5 splits,
test_size 0.25, C = "auto", MLP width 64 and at most 60 epochs with early stopping), one thread
(``v_information`` limits BLAS and torch to one thread on CPU itself). The MLP's epoch count
depends on early stopping, so its time varies with the data more than the linear fit's.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/v_information.py [--quick]
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
    il.v_information(*class_layer(200, 8), family="mlp", n_splits=2)  # imports and first-call set-up
    rows = []
    for n in (1000,) if args.quick else (1000, 4000):
        for width in (64, 2048):
            t, y = class_layer(n, width)
            for family in ("linear", "mlp"):
                m = measure(il.v_information, t, y, family=family)
                est = m.result
                rows.append({"n": n, "width": width, "family": family, "seconds": m.seconds,
                             "bits": est.value, "ci_low": est.ci[0], "ci_high": est.ci[1],
                             "accuracy": est.details["accuracy"], "flags": ",".join(est.flags)})
                print(rows[-1], flush=True)
    print(format_table(rows, title="v_information: seconds per layer (5 splits)"))
    write_results("v_information", {"environment": environment(), "rows": rows})


if __name__ == "__main__":
    main()
