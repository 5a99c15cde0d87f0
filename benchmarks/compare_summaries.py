"""Compare the numbers of two ``summary.json`` files (a run before and after a change).

    python benchmarks/compare_summaries.py BEFORE/summary.json AFTER/summary.json [--rtol 1e-12]

Every number present in both files is compared, key by key (lists element by element); keys
that hold wall-clock measurements (``timings``, ``*seconds*``, ``*_s``) or file paths (``files``,
``run_dir``) are skipped. Prints the largest relative difference, every difference above
``--rtol``, and the keys present in only one file; exits 1 when a number differs by more than
``--rtol`` or a key is missing on either side.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

SKIP = ("timings", "files", "run_dir", "seconds", "probe_seconds")


def _skipped(key: str) -> bool:
    return key in SKIP or "seconds" in key or key.endswith("_s")


def walk(before: Any, after: Any, path: str, diffs: list[tuple[str, float, Any, Any]],
         missing: list[str]) -> None:
    """Append (path, relative difference, before, after) of every compared leaf to ``diffs``."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in dict.fromkeys([*before, *after]):
            if _skipped(str(key)):
                continue
            if key not in before or key not in after:
                missing.append(f"{path}/{key} ({'after' if key not in before else 'before'} only)")
                continue
            walk(before[key], after[key], f"{path}/{key}", diffs, missing)
    elif isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            missing.append(f"{path} (lengths {len(before)} and {len(after)})")
        for i, (a, b) in enumerate(zip(before, after, strict=False)):
            walk(a, b, f"{path}[{i}]", diffs, missing)
    elif isinstance(before, int | float) and isinstance(after, int | float) and not isinstance(before, bool):
        same = before == after or (math.isnan(before) and math.isnan(after))
        rel = 0.0 if same else abs(before - after) / max(abs(before), abs(after))
        diffs.append((path, rel, before, after))
    else:
        diffs.append((path, 0.0 if before == after else math.inf, before, after))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rtol", type=float, default=0.0, help="relative tolerance (default: identical)")
    args = parser.parse_args()
    with open(args.before) as fb, open(args.after) as fa:
        before, after = json.load(fb), json.load(fa)
    diffs: list[tuple[str, float, Any, Any]] = []
    missing: list[str] = []
    walk(before, after, "", diffs, missing)
    worst = max(diffs, key=lambda d: d[1], default=("", 0.0, None, None))
    bad = [d for d in diffs if d[1] > args.rtol]
    print(f"{len(diffs)} values compared; {sum(d[1] == 0 for d in diffs)} identical; "
          f"largest relative difference {worst[1]:.3g} at {worst[0] or '-'}")
    for path, rel, a, b in bad[:50]:
        print(f"  DIFF {path}: {a!r} -> {b!r} (relative {rel:.3g})")
    for entry in missing:
        print(f"  MISSING {entry}")
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
