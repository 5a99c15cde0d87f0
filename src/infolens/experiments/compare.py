"""Several finished runs side by side: which configurations compress, with intervals over seeds.

Every run directory written by ``infolens run`` (the main job or an ``--experiment`` preset) holds a
``summary.json`` whose ``"verdicts"`` list has one row per (variant, estimator, split): the layer
that compresses most, the ratio of its final to its peak I(X;T) (mean over seeds, with an interval
over seeds), whether that counts as compression under the run's stated rule, and what the paper
the experiment reproduces says. :func:`compare_runs` reads those rows (and nothing else: no
training, no estimation) into one table, experiment x variant x estimator x split, next to the
paper's claim. Runs are compared on the same axis (the ratio final / peak I(X;T), which is unit-
and estimator-scale free); rows with the same estimator label share the estimator's settings,
because the label states them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infolens._validation import fail

__all__ = ["COLUMNS", "Comparison", "compare_runs"]

_FN = "compare_runs"
#: The columns of the comparison table, in order.
COLUMNS = ("run", "experiment", "variant", "estimator", "split", "layer", "ratio_mean", "ratio_low",
           "ratio_high", "n_seeds", "compresses", "paper_says", "agrees")
_REQUIRED = ("variant", "estimator", "split", "layer", "ratio_mean", "ratio_low", "ratio_high",
             "n_seeds", "compresses", "paper_says")


@dataclass(frozen=True)
class Comparison:
    """The verdict rows of several runs, and what each run reproduces.

    Attributes
    ----------
    rows : list of dict
        One row per (run, variant, estimator, split), keys :data:`COLUMNS`. ``compresses`` and
        ``paper_says`` are True, False or None (undecided / the paper says nothing); ``agrees`` is
        None unless both are decided.
    runs : list of dict
        Per run directory: ``run`` (its name), ``path``, ``experiment``, ``title``, ``paper``,
        ``claim`` and ``rule`` (how the run decides "compresses").
    """

    rows: list[dict[str, Any]]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame with the columns :data:`COLUMNS`."""
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=list(COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready contents (what ``compare.json`` holds)."""
        return {"runs": [dict(r) for r in self.runs], "rows": [dict(r) for r in self.rows],
                "columns": list(COLUMNS)}

    @property
    def disagreements(self) -> list[dict[str, Any]]:
        """The rows where our decided verdict differs from the paper's."""
        return [row for row in self.rows if row["agrees"] is False]


def compare_runs(run_dirs: Sequence[str | os.PathLike[str]]) -> Comparison:
    """Read the compression verdicts of finished runs into one table.

    Parameters
    ----------
    run_dirs : sequence of paths
        Run directories of ``infolens run`` (main job or ``--experiment`` presets), each holding a
        ``summary.json`` with ``"verdicts"`` (written by the analysis step; a run from an older
        version gets them with ``infolens analyze RUN_DIR``).

    Returns
    -------
    Comparison
        Rows ordered by run (as given), then variant, estimator and split.

    Raises
    ------
    InfoLensError
        No directory, a directory without a summary or without verdicts, a malformed row, or the
        same directory twice.
    """
    if isinstance(run_dirs, (str, os.PathLike)) or not isinstance(run_dirs, Sequence) or not run_dirs:
        raise fail("run_dirs", _FN, "a non-empty sequence of run directories", run_dirs)
    paths = [Path(d) for d in run_dirs]
    seen: set[Path] = set()
    for path in paths:
        resolved = path.resolve()
        if resolved in seen:
            raise fail("run_dirs", _FN, "distinct run directories", got=f"{str(path)!r} twice")
        seen.add(resolved)
    names = _run_names(paths)
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for name, path in zip(names, paths, strict=True):
        summary = _read_summary(path)
        meta = _experiment_meta(summary)
        runs.append({"run": name, "path": str(path), **meta})
        for row in _verdict_rows(summary, path):
            rows.append(_table_row(name, meta["experiment"], row))
    return Comparison(rows=rows, runs=runs)


def _run_names(paths: list[Path]) -> list[str]:
    """Short unique names: the directory's name, with its parent's when two share one."""
    names = [p.name or str(p) for p in paths]
    return [f"{p.parent.name}/{n}" if names.count(n) > 1 else n for p, n in zip(paths, names, strict=True)]


def _read_summary(path: Path) -> Mapping[str, Any]:
    file = path / "summary.json"
    if not path.is_dir():
        raise fail("run_dirs", _FN, "existing run directories",
                   got=f"{str(path)!r}, which is not a directory")
    if not file.is_file():
        raise fail("run_dirs", _FN, "run directories holding a summary.json (a finished `infolens run`)",
                   got=f"{str(path)!r} without one")
    try:
        summary = json.loads(file.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise fail("run_dirs", _FN, "run directories with a readable summary.json",
                   got=f"{str(file)!r}, which is not valid JSON ({err}); rebuild it with "
                       f"`infolens analyze {path}`") from err
    if not isinstance(summary, Mapping):
        raise fail("run_dirs", _FN, "run directories with a summary.json object", got=f"{str(file)!r}")
    return summary


def _experiment_meta(summary: Mapping[str, Any]) -> dict[str, Any]:
    meta = summary.get("experiment")
    meta = meta if isinstance(meta, Mapping) else {}
    return {"experiment": str(meta.get("name", "main")), "title": str(meta.get("title", "")),
            "paper": str(meta.get("paper", "")), "claim": str(meta.get("claim", "")),
            "rule": str(meta.get("rule", summary.get("compression_rule", "")))}


def _verdict_rows(summary: Mapping[str, Any], path: Path) -> list[Mapping[str, Any]]:
    rows = summary.get("verdicts")
    if not isinstance(rows, list) or not rows:
        raise fail("run_dirs", _FN, "runs whose summary.json has compression verdicts",
                   got=f"{str(path)!r} without them (an older run: `infolens analyze {path}` adds them)")
    for row in rows:
        missing = [key for key in _REQUIRED if not isinstance(row, Mapping) or key not in row]
        if missing:
            raise fail("run_dirs", _FN, f"verdict rows with the keys {list(_REQUIRED)}",
                       got=f"a row of {str(path / 'summary.json')!r} without {missing}")
    return rows


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _decision(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _table_row(run: str, experiment: str, row: Mapping[str, Any]) -> dict[str, Any]:
    compresses, paper = _decision(row["compresses"]), _decision(row["paper_says"])
    agrees = None if compresses is None or paper is None else compresses == paper
    return {"run": run, "experiment": experiment, "variant": str(row["variant"]),
            "estimator": str(row["estimator"]), "split": str(row["split"]), "layer": str(row["layer"]),
            "ratio_mean": _number(row["ratio_mean"]), "ratio_low": _number(row["ratio_low"]),
            "ratio_high": _number(row["ratio_high"]), "n_seeds": int(row["n_seeds"]),
            "compresses": compresses, "paper_says": paper, "agrees": agrees}
