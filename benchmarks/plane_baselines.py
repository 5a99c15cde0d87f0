"""Seconds of the shuffled-label baseline (``shuffled_baseline`` of :mod:`infolens.plane.flags`)
of the sample and minibatch plane estimators: each estimator's per-layer computation with the
baseline against the same computation without it, measured in this run.

* ``matrix_renyi``: :func:`infolens.estimators.matrix_renyi.plane_information` for I(X;T) and
  I(T;Y) (X: 64 input features) with ``shuffle_seed=0`` against ``shuffle_seed=None`` (one more
  Hadamard-joint eigendecomposition per batch, out of five), batches of 200 and one dense batch.
* ``kde``: the plane's KDE pair with the baseline (:func:`kde_information`) against H(T+Z) and
  the class-conditional mixtures only (what it computed before).
* ``sample_propagation``: :func:`layer_information` with and without ``shuffled`` labels.

Workload: ``class_layer`` of ``_common`` (10 balanced classes; ``C = 2`` rows use labels mod 2).
One thread, best of 3. ``ratio`` = seconds with the baseline / seconds without.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/plane_baselines.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from _common import class_layer, environment, format_table, measure, set_threads, write_results
from infolens.estimators.kde import entropy_kde
from infolens.estimators.matrix_renyi import plane_information
from infolens.estimators.sample_propagation import layer_information
from infolens.plane._layer_information import kde_information
from infolens.plane.flags import shuffled_labels

_KDE = {"noise_var": 0.1, "bound": "upper"}


def _kde_without(t: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    h_t = entropy_kde(t, **_KDE)[0]
    return h_t - sum(np.mean(y == c) * entropy_kde(t[y == c], **_KDE)[0] for c in range(n_classes))


def _rows(n: int, width: int, n_classes: int) -> list[dict]:
    t, y = class_layer(n, width)
    y = y % n_classes
    x = class_layer(n, 64, seed=1)[0]
    cases = []
    for batch in (200, None) if n <= 1000 else (200,):
        params = {"alpha": 1.01, "kernel_width": "knn", "batch_size": batch, "seed": 0}
        cases.append((f"matrix_renyi(batch_size={batch})",
                      lambda p=params: plane_information(t, y, x, p, ("I_XT", "I_TY")),
                      lambda p=params: plane_information(t, y, x, p, ("I_XT", "I_TY"), shuffle_seed=0)))
    cases.append(("kde", lambda: _kde_without(t, y, n_classes),
                  lambda: kde_information(t, y, n_classes, _KDE)))
    centres = torch.from_numpy(t)[:, None, :]
    cases.append(("sample_propagation", lambda: layer_information(centres, y, n_classes, 0.3, None, 0),
                  lambda: layer_information(centres, y, n_classes, 0.3, None, 0,
                                            shuffled=shuffled_labels(y))))
    rows = []
    for name, without, with_baseline in cases:
        plain, flagged = measure(without, repeat=3), measure(with_baseline, repeat=3)
        rows.append({"estimator": name, "n": n, "width": width, "classes": n_classes,
                     "seconds": plain.seconds, "seconds_baseline": flagged.seconds,
                     "ratio": flagged.seconds / plain.seconds})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 only")
    args = parser.parse_args()
    set_threads(1)
    rows = []
    for n in (1000,) if args.quick else (1000, 2000):
        for n_classes in (2, 10):
            rows += _rows(n, 256, n_classes)
    print(format_table(rows, title="shuffled-label baseline: seconds without and with it"))
    write_results("plane_baselines", {"environment": environment(), "rows": rows})


if __name__ == "__main__":
    main()
