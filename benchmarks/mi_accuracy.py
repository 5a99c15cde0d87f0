"""Accuracy, interval coverage and time of MI estimators on the known-MI task suite.

Tasks: :func:`infolens.data.known_mi_tasks` (46 tasks in the families of Czyz et al. 2023,
1 to 50 dimensions per side; truths in nats, closed form or Monte Carlo with standard error).
Methods, all through ``il.estimate_mi`` with ``ci=0.95``:

* ``ksg`` (k = 3), ``gaussian_copula`` (bias-corrected, the default), ``gaussian_copula_plain``
  (``bias_correct=False``), ``ksg_copula``, ``ksg_radial``: intervals by the API's resampling
  with ``n_resamples`` = 20 (subsampling for k-NN, bootstrap for the copula);
* ``rule``: the fixed rule of issue 10, the larger of ``ksg`` and ``gaussian_copula`` (no
  interval; its time is the sum of both);
* ``auto``: ``method="auto"`` with its own interval and ``unreliable`` flag.

Per task and method: estimate, error, relative error, interval, whether it covers the truth,
seconds. Summary rows per method: MAE, median relative error, share within 10%, worst relative
error, interval coverage, median seconds, the 25-50-D tasks (largest relative error), and tasks
worse than 50% without the ``unreliable`` flag. A per-family table gives median relative errors.
``--large`` also runs ``auto`` at N = 100,000 on eight tasks (:data:`LARGE_TASKS`). Results go to
``benchmarks/results/mi_accuracy.json`` and the figure of estimate against truth per method to
``benchmarks/results/mi_accuracy.png``. Run ``.venv/bin/python benchmarks/mi_accuracy.py``
(about 15 minutes on 2 busy cores); ``--quick`` runs every fourth task.

``--neural`` runs the high-dimensional suite instead (issue 24): the tasks of ``known_mi_tasks()``
with 25 to 50 dimensions on a side, plus a 1-D Gaussian pair (rho = 0.75, 0.413 nats) embedded
in 100 dimensions per side by :func:`infolens.data.embedded_task` (noise padding: a bijection of
R^100; zero padding: a curved 1-D manifold), with ``smile``, ``infonce`` and ``latent_mi`` at
their defaults against ``ksg`` and ``gaussian_copula`` in the same run, and ``smile_old`` /
``infonce_old``: the neural bounds as they were before the held-out split and early stopping
(revision :data:`OLD_REVISION`, 80/20 split, 1000 steps, lr 1e-3), loaded from git history so
old and new run on the same samples. Its summary adds the most negative estimate and seconds
per task; results go to ``benchmarks/results/mi_accuracy_neural.json``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, environment, format_table, set_threads, write_results  # noqa: E402

set_threads(2)

import infolens as il  # noqa: E402
from infolens.data import KnownMITask, embedded_task, gaussian_task, known_mi_tasks  # noqa: E402

#: (label, method, extra parameters); ``rule`` is derived from two of them.
METHODS: list[tuple[str, str, dict[str, Any]]] = [
    ("ksg", "ksg", {"k": 3}),
    ("gaussian_copula", "gaussian_copula", {}),
    ("gaussian_copula_plain", "gaussian_copula", {"bias_correct": False}),
    ("ksg_copula", "ksg_copula", {}),
    ("ksg_radial", "ksg_radial", {}),
    ("auto", "auto", {}),
]
#: The ``--neural`` suite's methods: the new neural estimators at their defaults and baselines.
NEURAL_METHODS: list[tuple[str, str, dict[str, Any]]] = [
    ("ksg", "ksg", {"k": 3}),
    ("gaussian_copula", "gaussian_copula", {}),
    ("smile", "smile", {}),
    ("infonce", "infonce", {}),
    ("latent_mi", "latent_mi", {}),
]
#: The last revision with the previous neural bounds (80/20 split, 1000 steps, no early stopping).
OLD_REVISION = "31a4a76^"
#: Smallest largest-side dimension of a ``known_mi_tasks()`` task in the ``--neural`` suite.
NEURAL_MIN_DIM = 25
N_RESAMPLES = 20
#: (task, method, error) of every estimate that raised ``InfoLensError``; left out of the summary.
REFUSED: list[dict[str, str]] = []
LARGE_N = 100_000
#: Tasks timed at ``LARGE_N``: every family, 1 to 50 dimensions per side.
LARGE_TASKS = ("gaussian-dense-1x1", "gaussian-sparse-5x5", "gaussian-dense-50x50", "student-t-dof2-5x5",
               "half_cube(gaussian-sparse-3x3)", "spiral(gaussian-sparse-3x3)", "uniform-noise-eps0.1",
               "mixture-x")


def _row(task: KnownMITask, label: str, value: float, ci: tuple[float, float] | None,
         seconds: float, flags: tuple[str, ...] = (), chosen: str = "") -> dict[str, Any]:
    error = value - task.mi
    return {"task": task.name, "family": task.family, "dims": f"{task.dim_x}x{task.dim_y}",
            "max_dim": max(task.dim_x, task.dim_y), "method": label, "truth": task.mi,
            "truth_se": task.mi_se, "estimate": value, "error": error,
            "relative_error": abs(error) / task.mi, "ci": list(ci) if ci else None,
            "covered": None if ci is None else bool(ci[0] <= task.mi <= ci[1]),
            "seconds": seconds, "unreliable": "unreliable" in flags, "chosen": chosen}


def old_neural(revision: str) -> types.ModuleType:
    """``infolens.estimators.neural`` as it was at ``revision`` (read with ``git show``)."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "show", f"{revision}:src/infolens/estimators/neural.py"],
                            cwd=root, capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("infolens_neural_old")
    exec(compile(source, f"{revision}:neural.py", "exec"), module.__dict__)  # noqa: S102
    return module


def run_old(task: KnownMITask, x: Any, y: Any, seed: int, old: types.ModuleType) -> list[dict[str, Any]]:
    """``smile_old`` and ``infonce_old`` rows: the previous bounds at their defaults, no interval."""
    rows = []
    for bound in ("smile", "infonce"):
        start = time.perf_counter()
        value, _ = old.neural_mi(x, y, bound, seed=seed)
        rows.append(_row(task, f"{bound}_old", value, None, time.perf_counter() - start))
    return rows


def run_task(task: KnownMITask, n: int, seed: int, labels: set[str],
             methods: list[tuple[str, str, dict[str, Any]]] = METHODS,
             old: types.ModuleType | None = None) -> list[dict[str, Any]]:
    x, y = task.sample(n, seed=seed)
    rows = []
    for label, method, params in methods:
        if label not in labels:
            continue
        extra = {} if il.METHODS[method].resampling == "internal" else {"n_resamples": N_RESAMPLES}
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est = il.estimate_mi(x, y, method=method, units="nats", ci=0.95,
                                     random_state=seed, **extra, **params)
            except il.InfoLensError as err:  # e.g. the copula on data of singular covariance
                REFUSED.append({"task": task.name, "method": label, "error": str(err)})
                continue
        seconds = time.perf_counter() - start
        rows.append(_row(task, label, est.value, est.ci, seconds, est.flags,
                         str(est.details.get("chosen", ""))))
    by_label = {r["method"]: r for r in rows}
    if "ksg" in by_label and "gaussian_copula" in by_label:
        ksg, gc = by_label["ksg"], by_label["gaussian_copula"]
        rows.append(_row(task, "rule", max(ksg["estimate"], gc["estimate"]), None,
                         ksg["seconds"] + gc["seconds"]))
    if old is not None:
        rows += run_old(task, x, y, seed, old)
    return rows


def neural_tasks() -> list[KnownMITask]:
    """The ``--neural`` suite: 25-50-D tasks of ``known_mi_tasks()`` and two 100-D embeddings."""
    base = gaussian_task(1, 1, "dense", 0.75)
    high = [t for t in known_mi_tasks() if max(t.dim_x, t.dim_y) >= NEURAL_MIN_DIM]
    return [*high, embedded_task(base, 100), embedded_task(base, 100, padding="zeros")]


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for label in dict.fromkeys(r["method"] for r in rows):
        own = [r for r in rows if r["method"] == label]
        rel = [r["relative_error"] for r in own]
        covered = [r["covered"] for r in own if r["covered"] is not None]
        high = [r for r in own if r["max_dim"] >= 25]
        worst = max(own, key=lambda r: r["relative_error"])
        out.append({
            "method": label, "tasks": len(own),
            "MAE": statistics.fmean(abs(r["error"]) for r in own),
            "median_rel_err": statistics.median(rel),
            "within_10%": sum(e <= 0.10 for e in rel) / len(rel),
            "worst_rel_err": worst["relative_error"], "worst_task": worst["task"],
            "coverage": statistics.fmean(covered) if covered else None,
            "median_s": statistics.median(r["seconds"] for r in own),
            "25-50D_within_25%": (sum(r["relative_error"] <= 0.25 for r in high) / len(high)
                                  if high else None),
            "25-50D_worst": max((r["relative_error"] for r in high), default=None),
            "over_50%_unflagged": sum(r["relative_error"] > 0.5 and not r["unreliable"] for r in own),
            "most_negative": min(min(r["estimate"] for r in own), 0.0),
            "mean_s": statistics.fmean(r["seconds"] for r in own),
            "refused": sum(r["method"] == label for r in REFUSED),
        })
    return out


def by_family(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for family in dict.fromkeys(r["family"] for r in rows):
        entry: dict[str, Any] = {"family": family}
        for label in dict.fromkeys(r["method"] for r in rows):
            rel = [r["relative_error"] for r in rows if r["family"] == family and r["method"] == label]
            entry[label] = statistics.median(rel)
        out.append(entry)
    return out


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r["method"] for r in rows))
    cols = 4
    lines = math.ceil(len(labels) / cols)
    fig, axes = plt.subplots(lines, cols, figsize=(4 * cols, 3.6 * lines), squeeze=False)
    top = max(r["truth"] for r in rows) * 1.15
    for ax, label in zip(axes.flat, labels, strict=False):
        own = [r for r in rows if r["method"] == label]
        for r in own:
            if r["ci"]:
                ax.plot([r["truth"]] * 2, r["ci"], color="0.7", lw=1)
        ax.scatter([r["truth"] for r in own], [r["estimate"] for r in own], s=12,
                   c=["tab:red" if r["unreliable"] else "tab:blue" for r in own])
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set(title=label, xlabel="true MI (nats)", ylabel="estimate (nats)", xlim=(0, top),
               ylim=(-0.1, top))
    for ax in list(axes.flat)[len(labels):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="every fourth task only")
    parser.add_argument("--large", action="store_true", help=f"also time auto at N = {LARGE_N:,}")
    parser.add_argument("--methods", default=None,
                        help="comma-separated labels (default: every method of the suite)")
    parser.add_argument("--neural", action="store_true",
                        help="the 25-100-D suite with the neural estimators (issue 24)")
    parser.add_argument("--no-old", action="store_true",
                        help=f"with --neural: skip the previous neural bounds ({OLD_REVISION})")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads (1 is faster for the small critics on busy cores)")
    args = parser.parse_args()
    set_threads(args.threads)
    if args.neural:
        neural_main(args)
        return
    tasks = known_mi_tasks()[:: 4 if args.quick else 1]
    labels = set((args.methods or ",".join(m[0] for m in METHODS)).split(","))
    rows: list[dict[str, Any]] = []
    for task in tasks:
        task_rows = run_task(task, args.n, args.seed, labels)
        rows += task_rows
        auto = next((r for r in task_rows if r["method"] == "auto"), None)
        if auto:
            print(f"{task.name:42s} truth {task.mi:.3f} auto {auto['estimate']:.3f} "
                  f"({auto['chosen']}, {auto['relative_error']:.1%}, {auto['seconds']:.1f} s)", flush=True)
    summary = summarize(rows)
    families = by_family(rows)
    auto_rows = sorted((r for r in rows if r["method"] == "auto"), key=lambda r: -r["relative_error"])
    print(format_table(summary, title=f"MI accuracy, N = {args.n}, seed {args.seed} (nats)"))
    print(format_table(families, title="median relative error per family"))
    print(format_table([{k: r[k] for k in ("task", "truth", "estimate", "relative_error", "ci",
                                            "covered", "unreliable", "chosen")} for r in auto_rows[:5]],
                       title="auto: worst five tasks"))
    large: list[dict[str, Any]] = []
    if args.large:
        for task in known_mi_tasks():
            if task.name in LARGE_TASKS:
                large += run_task(task, LARGE_N, args.seed, {"auto"})
        print(format_table([{k: r[k] for k in ("task", "truth", "estimate", "relative_error",
                                                "covered", "seconds", "chosen")} for r in large],
                           title=f"auto at N = {LARGE_N:,}"))
    RESULTS_DIR.mkdir(exist_ok=True)
    plot(rows, RESULTS_DIR / "mi_accuracy.png")
    write_results("mi_accuracy", {
        "environment": environment(n=args.n, seed=args.seed,
                                   note="2 cores shared with other jobs: times are pessimistic"),
        "summary": summary, "families": families, "rows": rows, "large": large})


def neural_main(args: argparse.Namespace) -> None:
    """The ``--neural`` suite: per-task lines, the summary table, JSON."""
    tasks = neural_tasks()[:: 2 if args.quick else 1]
    labels = set((args.methods or ",".join(m[0] for m in NEURAL_METHODS)).split(","))
    old = None if args.no_old else old_neural(OLD_REVISION)
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    for task in tasks:
        task_rows = run_task(task, args.n, args.seed, labels, NEURAL_METHODS, old)
        rows += task_rows
        print(f"{task.name:40s} truth {task.mi:.3f} " + " ".join(
            f"{r['method']} {r['estimate']:.3f} ({r['seconds']:.1f} s)" for r in task_rows), flush=True)
    columns = ["method", "tasks", "refused", "MAE", "median_rel_err", "within_10%", "most_negative",
               "worst_rel_err", "worst_task", "coverage", "mean_s"]
    summary = summarize(rows)
    title = (f"MI accuracy on {len(tasks)} tasks with 25-100 dimensions per side, N = {args.n}, "
             f"seed {args.seed} (nats; {time.perf_counter() - start:.0f} s in all)")
    print(format_table(summary, columns, title=title))
    print(format_table(by_family(rows), title="median relative error per family"))
    RESULTS_DIR.mkdir(exist_ok=True)
    write_results("mi_accuracy_neural", {
        "environment": environment(n=args.n, seed=args.seed, old_revision=None if old is None
                                   else OLD_REVISION, command=" ".join(sys.argv),
                                   note="2 cores shared with other jobs: times are pessimistic"),
        "summary": summary, "families": by_family(rows), "rows": rows, "refused": REFUSED})


if __name__ == "__main__":
    main()
