"""Run the fixed fuzz sweep of the public Python API and print counts per outcome.

Usage: ``python tests/fuzz_census.py [--list-other] [--only SUBSTRING]``. Every call is one
:class:`fuzz_cases.Case`; each ends ``ok`` (a finite value that passes its check), ``error``
(a clear ``InfoLensError`` naming an allowed parameter), ``signature`` (Python's own
``TypeError`` for an unknown keyword of a function without ``**kwargs``, which names it) or
``other`` (anything else: a fault).
The script exits non-zero when any call is ``other``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_cases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list-other", action="store_true", help="print every 'other' outcome")
    parser.add_argument("--only", default="", help="run only targets containing this text")
    parser.add_argument("--log", default=None, help="write one line per call (outcome, seconds)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [c for c in fuzz_cases.all_cases() + fuzz_cases.corner_cases(np.random.default_rng(0))
             if args.only in c.target]
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    others = []
    slowest = (0.0, "")
    start = time.perf_counter()
    log = open(args.log, "w") if args.log else None  # noqa: SIM115 - closed below
    for case in cases:
        outcome = fuzz_cases.run(case)
        if log:
            print(f"{outcome.kind:5s} {outcome.seconds:7.3f} {case.target} {case.kind} "
                  f"{outcome.detail[:300]}", file=log, flush=True)
        family = case.target.split("[")[0]
        table[family][outcome.kind] += 1
        slowest = max(slowest, (outcome.seconds, f"{case.target} {case.kind}"))
        if outcome.kind == "other":
            others.append(f"{case.target:45s} {case.kind:32s} {outcome.detail}")
    total = collections.Counter()
    kinds = ("ok", "error", "signature", "other")
    print(f"{'function':40s} " + " ".join(f"{k:>9s}" for k in kinds))
    for family in sorted(table):
        counts = table[family]
        total.update(counts)
        print(f"{family:40s} " + " ".join(f"{counts[k]:9d}" for k in kinds))
    print(f"{'TOTAL':40s} " + " ".join(f"{total[k]:9d}" for k in kinds))
    print(f"{len(cases)} calls in {time.perf_counter() - start:.0f} s; slowest {slowest[0]:.2f} s "
          f"({slowest[1]})")
    if log:
        log.close()
    if args.list_other:
        print("\n".join(others))
    return 1 if others else 0


if __name__ == "__main__":
    raise SystemExit(main())
