"""Sweeps on a real Ray cluster: one ``ray start --head`` started by this module (as the README tells
a user to), the in-process tests connected to it and the CLI sent to it with ``--address``.

Checked: the same points give the same numbers as the local backend; a worker killed in the middle
of a point does not lose the point nor finish it twice; a rerun skips the finished points; a
failing point raises its own error. The cluster listens on the loopback interface only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from _sweep_points_for_tests import counted_point, executions
from conftest import require
from infolens.cli import main
from infolens.sweeps import grid, run_sweep

#: ~1 min on two shared cores, most of it the cluster's start and the CLI's training.
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
# Read by Ray when it is imported: a single-node cluster on 127.0.0.1 (Ray's choice on a laptop),
# no token file written to the home directory, no usage report, no log lines copied to pytest.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0"}
os.environ.update(RAY_ENV)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """The address of a two-CPU Ray head started for this module; this process is connected to it."""
    require(importlib.util.find_spec("ray") is not None, 'Ray is not installed: pip install "infolens[ray]"')
    import ray

    port = _free_port()
    address = f"127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("ray") / "head.log").open("w")
    # a temp dir of its own (short: Ray's socket paths live in it): `ray start` writes the address
    # file that a bare ray.init() would follow there, not in the machine-wide /tmp/ray
    temp_dir = tempfile.mkdtemp(prefix="infolens-ray-", dir="/tmp")
    # workers inherit the head's environment: PYTHONPATH lets them import the test points
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    head = subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", "--object-store-memory=100000000",
         "--disable-usage-stats", f"--temp-dir={temp_dir}", f"--ray-client-server-port={_free_port()}",
         f"--dashboard-agent-listen-port={_free_port()}"],
        env={**os.environ, **RAY_ENV, "PYTHONPATH": path}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert head.poll() is None, f"ray start exited with {head.returncode}: see {log.name}"
            try:
                ray.init(address=address, log_to_driver=False)
                break
            except ConnectionError:
                assert time.monotonic() < deadline, f"no Ray head at {address} after 120 s: see {log.name}"
                time.sleep(0.5)
        yield address
    finally:
        ray.shutdown()
        os.killpg(head.pid, signal.SIGTERM)  # the head's own session: its GCS, raylet and workers
        try:
            head.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_cli_sweep_on_a_ray_cluster_matches_the_local_backend(ray_cluster, tmp_path):
    args = ["sweep", "ib", "--dataset", "digits", "--seeds", "0,1", "--betas", "0,1", "--epochs", "1"]
    local = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    # the cluster command of the README, from another process (a second driver of the cluster)
    remote = subprocess.run([str(Path(sys.executable).with_name("infolens")), *args, "--backend", "ray",
                             "--address", ray_cluster, "--progress", "--out", str(tmp_path / "ray")],
                            capture_output=True, text=True, env={**os.environ, **RAY_ENV}, timeout=300)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert "sweep: 100%" in remote.stderr and "2/2" in remote.stderr  # the progress bar, on stderr
    on_ray, here = (json.loads((tmp_path / d / "sweep.json").read_text()) for d in ("ray", "local"))
    # same seeds, one torch thread each: the same computation, so equal to float64 round-off
    for a, b in zip(on_ray["table"], here["table"], strict=True):
        assert a.pop("dataset") == b.pop("dataset") == "digits"
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
    for a, b in zip(on_ray["records"], here["records"], strict=True):
        assert a["config"] == b["config"] and len(a["result"]["points"]) == 2
        for point_a, point_b in zip(a["result"]["points"], b["result"]["points"], strict=True):
            assert point_a == pytest.approx(point_b, rel=1e-9, abs=1e-12)


def test_a_worker_killed_mid_point_loses_nothing_and_runs_nothing_twice(ray_cluster, tmp_path):
    records = tmp_path / "executions"
    records.mkdir()
    victim = 2
    configs = grid(x=[0, 1, 2, 3, 4, 5], record_dir=[str(records)], victim=[victim], seconds=[0.2])
    killed: list[int] = []

    def kill_the_victim() -> None:  # SIGKILL the worker process running the victim, by the PID it wrote
        deadline = time.monotonic() + 120
        while not (started := executions(records, "start").get(victim)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if started:
            os.kill(started[0], signal.SIGKILL)
            killed.append(started[0])

    killer = threading.Thread(target=kill_the_victim)
    killer.start()
    t0 = time.monotonic()
    result = run_sweep(counted_point, configs, tmp_path / "points", backend="ray")
    seconds = time.monotonic() - t0
    killer.join()
    assert len(killed) == 1
    assert seconds < 50, "the victim slept its 60 s: it was not killed"
    assert [r["result"]["value"] for r in result.records] == [x * x for x in range(6)]
    started, done = executions(records, "start"), executions(records, "done")
    # every point finished exactly once; the victim started twice: killed once, then retried by Ray
    assert {x: len(pids) for x, pids in done.items()} == dict.fromkeys(range(6), 1)
    assert {x: len(pids) for x, pids in started.items()} == {**dict.fromkeys(range(6), 1), victim: 2}
    assert killed[0] not in done[victim] and result.records[victim]["result"]["pid"] == done[victim][0]
    # a rerun finds every point's file: nothing starts again
    again = run_sweep(counted_point, configs, tmp_path / "points", backend="ray")
    assert again.n_skipped == 6 and executions(records, "start") == started
    assert again.records == result.records


def test_a_failing_point_raises_its_error_and_a_rerun_runs_only_the_missing_points(ray_cluster, tmp_path):
    records = tmp_path / "executions"
    records.mkdir()
    (records / "fail").touch()
    configs = grid(x=[0, 1, 2, 3], record_dir=[str(records)], fail=[1])
    with pytest.raises(ValueError, match="point 1 failed on purpose"):
        run_sweep(counted_point, configs, tmp_path / "points", backend="ray")
    first = executions(records, "done")
    assert 1 not in first and len(list((tmp_path / "points").glob("*.json"))) == len(first)
    (records / "fail").unlink()
    result = run_sweep(counted_point, configs, tmp_path / "points", backend="ray")
    assert result.n_skipped == len(first) and [r["result"]["value"] for r in result.records] == [0, 1, 4, 9]
    started, done = executions(records, "start"), executions(records, "done")
    # the points saved by the first run did not run again; the failed one ran to its end once.
    # (Points that were running when the error came were interrupted by ray.cancel, and rerun.)
    assert all(len(started[x]) == 1 and len(done[x]) == 1 for x in first)
    assert len(started[1]) == 2 and len(done[1]) == 1
