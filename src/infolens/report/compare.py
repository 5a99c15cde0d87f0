"""The report of ``infolens compare``: several runs' compression verdicts on one axis and in one table.

Built from a :class:`~infolens.experiments.compare.Comparison` alone (the runs' stored summaries):
a forest plot of final / peak I(X;T) with its interval over seeds for every run, variant, estimator
and split, the table experiment x variant x estimator x split -> compresses or not, next to what
each paper says, and each run's claim and decision rule.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infolens._atomic import atomic_write_bytes
from infolens._json import write_json
from infolens.experiments.compare import Comparison
from infolens.report.html import Report, figure_png

__all__ = ["build_compare_report", "format_comparison"]

Log = Callable[[str], None]
_WORD = {True: "yes", False: "no", None: "-"}


def _label(row: dict[str, Any]) -> str:
    return f"{row['run']}: {row['variant']}, {row['estimator']}, {row['split']}"


def forest_figure(comparison: Comparison) -> Any:
    """Final / peak I(X;T) of the most compressing layer, mean over seeds with its interval."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = comparison.rows
    fig, ax = plt.subplots(figsize=(8.5, 1.2 + 0.32 * len(rows)))
    colours = {True: "#d62728", False: "#1f77b4", None: "#7f7f7f"}
    for i, row in enumerate(rows):
        mean, low, high = row["ratio_mean"], row["ratio_low"], row["ratio_high"]
        if mean is None:
            continue
        low = mean if low is None else low
        high = mean if high is None else high
        ax.errorbar([mean], [i], xerr=[[mean - low], [high - mean]], fmt="o", capsize=3,
                    color=colours[row["compresses"]],
                    markerfacecolor=colours[row["compresses"]] if row["paper_says"] is not None else "white")
        if row["agrees"] is False:
            ax.annotate("  differs from the paper", (high, i), va="center", fontsize=8, color="#b35900")
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(rows)), [_label(r) for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("final / peak I(X;T) of the most compressing hidden layer (1 = no compression)")
    ax.set_title("Compression by run, variant, estimator and split (interval over seeds)\n"
                 "red: compresses, blue: does not, grey: undecided; hollow: the paper says nothing",
                 fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _table_records(comparison: Comparison) -> list[dict[str, Any]]:
    out = []
    for row in comparison.rows:
        interval = ("-" if row["ratio_low"] is None or row["ratio_high"] is None
                    else f"[{row['ratio_low']:.3f}, {row['ratio_high']:.3f}]")
        out.append({"run": row["run"], "experiment": row["experiment"], "variant": row["variant"],
                    "estimator": row["estimator"], "split": row["split"], "layer": row["layer"],
                    "final/peak": row["ratio_mean"], "interval": interval, "seeds": row["n_seeds"],
                    "compresses": _WORD[row["compresses"]], "paper": _WORD[row["paper_says"]],
                    "agrees": _WORD[row["agrees"]]})
    return out


def format_comparison(comparison: Comparison) -> str:
    """The comparison table as plain text (what the command prints)."""
    records = _table_records(comparison)
    columns = list(records[0]) if records else []
    cells = [[f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in columns] for r in records]
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    disagree = len(comparison.disagreements)
    lines.append(f"{len(records)} rows; {disagree} disagree with the paper." if records else "no rows")
    return "\n".join(lines)


def build_compare_report(comparison: Comparison, out: str | os.PathLike[str], *,
                         log: Log | None = None) -> Path:
    """Write ``compare.json``, ``compare.png`` and ``report.html`` into ``out``; return the report path."""
    import matplotlib.pyplot as plt

    start = time.perf_counter()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / "compare.json", comparison.to_dict())
    fig = forest_figure(comparison)
    png = figure_png(fig, dpi=110)
    plt.close(fig)
    atomic_write_bytes(root / "compare.png", png)

    report = Report(f"infolens: {len(comparison.runs)} runs compared")
    report.add_heading("Does it compress?")
    report.add_text("Each row is one run, variant (activation, noise, weight decay ...), estimator and "
                    "split. The number is final / peak I(X;T) of the hidden layer that compresses most, "
                    "the mean over seeds, with the run's interval over seeds; 'compresses' applies the "
                    "run's stated rule to that interval, and 'paper' is what the reproduced paper reports.")
    report.add_png(png, "Final / peak I(X;T) with intervals over seeds, every run on one axis.")
    report.add_table(_table_records(comparison), float_format="{:.3f}")
    disagreements = comparison.disagreements
    if disagreements:
        report.add_text("Where our measurement disagrees with the paper: "
                        + "; ".join(_label(r) for r in disagreements) + ".", css_class="note")
    report.add_heading("The runs")
    report.add_table([{k: run[k] for k in ("run", "experiment", "paper", "claim", "rule", "path")}
                      for run in comparison.runs])
    path = report.write(root / "report.html")
    if log is not None:
        log(f"Wrote {path} ({time.perf_counter() - start:.1f} s).")
    return path
