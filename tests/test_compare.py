"""`infolens compare`: runs' verdict rows read into one table, agreement with the paper, bad input.

The summaries here are written by hand in the schema the analysis step writes, so the reader's
logic (agreement, ordering, names, errors) is checked on exact values; the end-to-end comparison
of real runs is in tests/test_experiments.py.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import infolens as il
from infolens.cli import main
from infolens.experiments.compare import COLUMNS, compare_runs


def _verdict(variant: str, estimator: str, split: str, mean: float, low: float, high: float,
             compresses: bool | None, paper: bool | None) -> dict:
    return {"variant": variant, "estimator": estimator, "split": split, "layer": "layers.3",
            "ratio_mean": mean, "ratio_low": low, "ratio_high": high, "n_seeds": 3,
            "compresses": compresses, "paper_says": paper}


def _run(root: Path, name: str, experiment: str | None, verdicts: list[dict]) -> Path:
    path = root / name
    path.mkdir(parents=True)
    summary: dict = {"verdicts": verdicts}
    if experiment is not None:
        summary["experiment"] = {"name": experiment, "title": experiment.upper(), "paper": "A et al. (2018)",
                                 "claim": "tanh compresses, ReLU does not", "rule": "interval below 0.9"}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    a = _run(tmp_path, "saxe", "saxe-mnist", [
        _verdict("tanh", "binning(bins=30)", "train", 0.41, 0.35, 0.47, True, True),
        _verdict("relu", "binning(bins=30)", "train", 0.98, 0.96, 1.0, False, False),
        _verdict("relu", "kde(noise_var=0.1)", "test", 0.62, 0.5, 0.74, True, False),
    ])
    b = _run(tmp_path, "main", None, [
        _verdict("tanh", "binning(bin_width=0.0667)", "train", 0.33, 0.3, 0.38, True, None),
        _verdict("relu", "binning(bin_width=0.0667)", "train", 0.93, 0.86, 1.0, None, None),
    ])
    return a, b


def test_rows_keep_order_and_values_and_judge_agreement(two_runs: tuple[Path, Path]) -> None:
    comparison = compare_runs(list(two_runs))
    assert [r["run"] for r in comparison.rows] == ["saxe"] * 3 + ["main"] * 2
    assert [r["experiment"] for r in comparison.rows] == ["saxe-mnist"] * 3 + ["main"] * 2
    assert [r["agrees"] for r in comparison.rows] == [True, True, False, None, None]
    first = comparison.rows[0]
    assert (first["ratio_mean"], first["ratio_low"], first["ratio_high"]) == (0.41, 0.35, 0.47)
    assert first["n_seeds"] == 3
    assert comparison.disagreements == [comparison.rows[2]]
    assert comparison.runs[0]["claim"] == "tanh compresses, ReLU does not"
    assert comparison.runs[1]["experiment"] == "main" and comparison.runs[1]["paper"] == ""
    frame = comparison.to_frame()
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 5
    assert frame["ratio_mean"].tolist() == [0.41, 0.98, 0.62, 0.33, 0.93]


def test_same_directory_names_are_told_apart(tmp_path: Path) -> None:
    rows = [_verdict("tanh", "binning", "train", 0.5, 0.4, 0.6, True, True)]
    a = _run(tmp_path / "seed0", "run", "x", rows)
    b = _run(tmp_path / "seed1", "run", "x", rows)
    assert [r["run"] for r in compare_runs([a, b]).rows] == ["seed0/run", "seed1/run"]


@pytest.mark.parametrize(("setup", "match"), [
    ("missing_summary", "without one"),
    ("no_verdicts", "infolens analyze"),
    ("bad_row", r"without \['ratio_low'"),
    ("bad_json", "not valid JSON"),
    ("twice", "twice"),
    ("empty", "non-empty sequence"),
])
def test_bad_runs_are_refused_with_one_message(tmp_path: Path, setup: str, match: str) -> None:
    good = _run(tmp_path, "good", "x", [_verdict("tanh", "binning", "train", 0.5, 0.4, 0.6, True, True)])
    bad = tmp_path / "bad"
    bad.mkdir()
    dirs: list = [good, bad]
    if setup == "no_verdicts":
        (bad / "summary.json").write_text(json.dumps({"tanh": {}}))
    elif setup == "bad_row":
        row = _verdict("tanh", "binning", "train", 0.5, 0.4, 0.6, True, True)
        del row["ratio_low"]
        (bad / "summary.json").write_text(json.dumps({"verdicts": [row]}))
    elif setup == "bad_json":
        (bad / "summary.json").write_text("{truncated")
    elif setup == "twice":
        dirs = [good, good]
    elif setup == "empty":
        dirs = []
    with pytest.raises(il.InfoLensError, match=match):
        compare_runs(dirs)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images = 0

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.images += tag == "img" and dict(attrs).get("src", "").startswith("data:image/png;base64,")


def test_cli_prints_the_table_and_writes_the_report(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", *map(str, two_runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 rows; 1 disagree with the paper." in result.output
    assert "[0.350, 0.470]" in result.output
    stored = json.loads((out / "compare.json").read_text())
    assert len(stored["rows"]) == 5 and stored["rows"][2]["agrees"] is False
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = _Text()
    page.feed((out / "report.html").read_text())
    text = " ".join(page.text)
    assert page.images == 1
    assert "kde(noise_var=0.1)" in text and "tanh compresses, ReLU does not" in text
    assert "Where our measurement disagrees with the paper" in text


def test_cli_refuses_a_directory_without_a_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compare", str(tmp_path)])
    assert result.exit_code == 1
    assert "summary.json" in result.output and "Traceback" not in result.output
