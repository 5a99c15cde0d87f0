"""Sweeps: grids, atomic per-point persistence, resume without re-running, process pool."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from _sweep_points_for_tests import counted_point, executions
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


def test_a_progress_bar_counts_points_on_stderr_when_asked_or_on_a_terminal(tmp_path, capsys, monkeypatch):
    configs = grid(x=[1.0, 2.0, 3.0], seed=[0])
    run_sweep(square_plus_seed, configs[:1], tmp_path / "asked")  # one point already finished
    run_sweep(square_plus_seed, configs, tmp_path / "asked", progress=True)
    bar = capsys.readouterr().err
    assert "sweep:  33%" in bar and "1/3" in bar  # the resumed point counts from the start
    assert "sweep: 100%" in bar and "3/3" in bar and "point/s" in bar
    run_sweep(square_plus_seed, configs, tmp_path / "pipe")  # stderr is not a terminal: no bar
    assert capsys.readouterr().err == ""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run_sweep(square_plus_seed, configs, tmp_path / "terminal")
    assert "sweep: 100%" in terminal.getvalue() and "3/3" in terminal.getvalue()
    terminal.truncate(0)
    run_sweep(square_plus_seed, configs, tmp_path / "off", progress=False)  # turned off on a terminal
    assert terminal.getvalue() == ""


def test_a_failing_point_in_the_pool_keeps_the_finished_points_and_cancels_the_rest(tmp_path):
    records = tmp_path / "executions"
    records.mkdir()
    (records / "fail").touch()
    # point 0 fails at once while point 1 runs for 1 s in the other worker; 2-7 take 0.3 s each
    configs = [{"x": x, "record_dir": str(records), "fail": 0, "seconds": 1.0 if x == 1 else 0.3}
               for x in range(8)]
    with pytest.raises(ValueError, match="point 0 failed on purpose"):
        run_sweep(counted_point, configs, tmp_path / "points", n_jobs=2)
    started, done = executions(records, "start"), executions(records, "done")
    assert 1 in done and 0 not in done  # the point running beside the failure finished and was saved
    assert len(list((tmp_path / "points").glob("*.json"))) == len(done)
    assert 7 not in started  # the points not yet started were cancelled
    (records / "fail").unlink()
    result = run_sweep(counted_point, configs, tmp_path / "points", n_jobs=2)
    assert result.n_skipped == len(done) and [r["result"]["value"] for r in result.records] == [
        x * x for x in range(8)]
    assert {x: len(pids) for x, pids in executions(records, "done").items()} == dict.fromkeys(range(8), 1)


def test_a_killed_pool_worker_stops_the_sweep_and_a_rerun_runs_only_its_point(tmp_path):
    records, points = tmp_path / "executions", tmp_path / "points"
    records.mkdir()
    victim = 0  # blocks one of the two workers while the other runs points 1-4
    configs = grid(x=[0, 1, 2, 3, 4], record_dir=[str(records)], victim=[victim])

    def kill_the_victim() -> None:  # once 1-4 are saved, SIGKILL the worker running the victim
        deadline = time.monotonic() + 60
        while len(list(points.glob("*.json"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(executions(records, "start")[victim][0], signal.SIGKILL)

    killer = threading.Thread(target=kill_the_victim)
    killer.start()
    # the local backend does not retry: the broken pool stops the sweep, the finished points stay
    with pytest.raises(BrokenProcessPool, match="terminated abruptly"):
        run_sweep(counted_point, configs, points, n_jobs=2)
    killer.join()
    assert sorted(executions(records, "done")) == [1, 2, 3, 4]
    result = run_sweep(counted_point, configs, points, n_jobs=2)
    assert result.n_skipped == 4 and [r["result"]["value"] for r in result.records] == [0, 1, 4, 9, 16]
    started, done = executions(records, "start"), executions(records, "done")
    assert {x: len(pids) for x, pids in done.items()} == dict.fromkeys(range(5), 1)
    assert {x: len(pids) for x, pids in started.items()} == {**dict.fromkeys(range(5), 1), victim: 2}


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
