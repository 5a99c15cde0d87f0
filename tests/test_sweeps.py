"""Sweeps: grids, atomic per-point persistence, resume without re-running, process pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infolens import InfoLensError
from infolens.sweeps import grid, point_key, run_sweep

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
