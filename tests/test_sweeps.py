"""Sweeps: grids, atomic per-point persistence, resume without re-running, process pool."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infolens import InfoLensError
from infolens.sweeps import SweepResult, grid, point_key, run_sweep

CALLS: list[dict] = []


def square_plus_seed(x: float, seed: int) -> dict:
    CALLS.append({"x": x, "seed": seed})
    return {"value": x * x + seed}


def test_grid_is_the_cartesian_product():
    points = grid(seed=[0, 1], beta=[0.0, 1e-3, 1e-2])
    assert len(points) == 6
    assert {"seed": 1, "beta": 1e-3} in points


def test_grid_refuses_empty_axis():
    with pytest.raises(InfoLensError, match="'beta' parameter of grid"):
        grid(beta=[])


def test_sweep_persists_each_point_and_resumes(tmp_path):
    CALLS.clear()
    configs = grid(x=[1.0, 2.0], seed=[0, 10])
    first = run_sweep(square_plus_seed, configs, tmp_path)
    assert [r["result"]["value"] for r in first.records] == [1.0, 11.0, 4.0, 14.0]
    assert len(CALLS) == 4 and first.n_skipped == 0
    # a point lost mid-run: delete one file, run again: only that point is recomputed
    (tmp_path / f"{point_key(configs[2])}.json").unlink()
    second = run_sweep(square_plus_seed, configs, tmp_path)
    assert len(CALLS) == 5 and second.n_skipped == 3
    assert second.to_frame()["value"].tolist() == [1.0, 11.0, 4.0, 14.0]
    assert not list(tmp_path.glob(".tmp-*"))
    saved = json.loads((tmp_path / f"{point_key(configs[1])}.json").read_text())
    assert saved == {"config": {"x": 1.0, "seed": 10}, "result": {"value": 11.0}}


def test_sweep_in_a_process_pool_matches_serial(tmp_path):
    configs = grid(x=[0.5, 1.5, 2.5], seed=[1])
    pooled = run_sweep(square_plus_seed, configs, tmp_path / "pool", n_jobs=2)
    serial = run_sweep(square_plus_seed, configs, tmp_path / "serial")
    assert pooled.to_frame().equals(serial.to_frame())


def test_sweep_refuses_a_lambda_and_unknown_backend(tmp_path):
    with pytest.raises(InfoLensError, match="module-level function"):
        run_sweep(lambda x: {"x": x}, [{"x": 1}], tmp_path, n_jobs=2)
    with pytest.raises(InfoLensError, match="'backend' parameter of run_sweep"):
        run_sweep(square_plus_seed, [{"x": 1, "seed": 0}], tmp_path, backend="spark")


@pytest.mark.slow
def test_sweep_on_ray_matches_local(tmp_path):
    ray = pytest.importorskip("ray")
    here = str(Path(__file__).parent)  # Ray workers import this test module by name
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": here}})
    try:
        configs = grid(x=[1.0, 3.0], seed=[2])
        on_ray = run_sweep(square_plus_seed, configs, tmp_path / "ray", backend="ray")
    finally:
        ray.shutdown()
    assert on_ray.to_frame()["value"].tolist() == [3.0, 11.0]


def slow_point(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}


def test_to_frame_expands_per_beta_points_and_aggregate_averages_over_seeds(tmp_path):
    from infolens.sweeps import aggregate

    def record(seed, accuracies):
        points = [{"beta": b, "acc": a} for b, a in zip((0.0, 1.0), accuracies, strict=True)]
        return {"config": {"dataset": "d", "seed": seed}, "result": {"seconds": 1.0, "points": points}}

    result = SweepResult(records=[record(0, (0.5, 0.25)), record(1, (0.7, 0.25)), record(2, (0.9, 0.25))],
                         out_dir=tmp_path, n_skipped=0)
    frame = result.to_frame(expand="points")
    assert len(frame) == 6 and list(frame.columns) == ["dataset", "seed", "seconds", "beta", "acc"]
    table = aggregate(frame, by=["dataset", "beta"], metrics=["acc"]).to_dict("records")
    # beta 0: mean of 0.5, 0.7, 0.9 = 0.7, sample sd = 0.2; beta 1: constant 0.25, sd 0
    assert table[0] == pytest.approx({"dataset": "d", "beta": 0.0, "acc_mean": 0.7, "acc_std": 0.2})
    assert table[1] == pytest.approx({"dataset": "d", "beta": 1.0, "acc_mean": 0.25, "acc_std": 0.0})
    with pytest.raises(InfoLensError, match="unknown columns \\['loss'\\]"):
        aggregate(frame, by=["beta"], metrics=["loss"])
    with pytest.raises(InfoLensError, match="'expand' parameter of SweepResult.to_frame"):
        result.to_frame(expand="seconds")


def test_a_second_sweep_on_the_same_directory_is_refused_while_the_first_runs(tmp_path):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from test_sweeps import slow_point; "
            "from infolens.sweeps import run_sweep; run_sweep(slow_point, [{'seconds': 60}], sys.argv[2])")
    first = subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path)])
    lock = tmp_path / ".infolens.lock"
    try:
        deadline = time.monotonic() + 60
        while not (lock.is_file() and lock.read_text().strip()):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        with pytest.raises(InfoLensError, match=f"locked by process {first.pid}"):
            run_sweep(square_plus_seed, [{"x": 1.0, "seed": 0}], tmp_path)
    finally:
        first.kill()
        first.wait()
    # the killed sweep's lock went with its process: the directory is usable at once
    again = run_sweep(square_plus_seed, [{"x": 1.0, "seed": 0}], tmp_path)
    assert again.records[0]["result"] == {"value": 1.0}
