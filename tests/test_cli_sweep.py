"""`infolens sweep`: points persisted per seed, summary over seeds, resume skips finished points."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from infolens.cli import main


def _sweep(args):
    result = CliRunner().invoke(main, ["sweep", *args])
    assert result.exit_code == 0, result.output
    return result


def test_ib_sweep_over_seeds_summarises_and_resumes(tmp_path):
    args = ["ib", "--seeds", "0,1", "--betas", "0,1", "--epochs", "1", "--out", str(tmp_path)]
    _sweep(args)
    payload = json.loads((tmp_path / "sweep.json").read_text())
    assert payload["n_points"] == 2 and payload["resumed_points"] == 0
    assert [row["beta"] for row in payload["table"]] == [0.0, 1.0]
    per_seed = [r["result"]["points"] for r in payload["records"]]
    mean_acc = sum(points[0]["test_accuracy"] for points in per_seed) / 2
    assert payload["table"][0]["test_accuracy_mean"] == pytest.approx(mean_acc)
    # a VIB rate is a KL divergence: never negative
    assert all(p["rate_bits"] >= 0 for points in per_seed for p in points)
    again = _sweep(args)
    assert "2 of 2 points resumed" in again.output


@pytest.mark.slow
def test_plane_sweep_writes_one_run_per_point(tmp_path):
    _sweep(["plane", "--seeds", "0", "--activation", "tanh", "--epochs", "5", "--out", str(tmp_path)])
    payload = json.loads((tmp_path / "sweep.json").read_text())
    assert payload["n_points"] == 1
    run_dir = payload["records"][0]["result"]["run_dir"]
    assert (tmp_path / "runs").exists() and run_dir.endswith("szt12-tanh-binning-seed0")
    assert 0.0 <= payload["table"][0]["test_accuracy"] <= 1.0


def test_address_is_refused_without_the_ray_backend(tmp_path):
    result = CliRunner().invoke(main, ["sweep", "ib", "--address", "127.0.0.1:6379", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "The 'address' parameter of run_sweep must be None unless backend=\"ray\"" in result.output
    assert not list(tmp_path.glob("points/*.json"))
