"""Faults at the storage level, through the ``infolens`` command: a corrupt or truncated store,
checkpoint or config, a full disk, an unwritable output, two runs on one ``--out``, a run killed
while writing its report. Each gives one clear line on stderr, and nothing already stored is
deleted or overwritten (the files' bytes are compared before and after).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolens.cli import main

TINY = ["run", "--epochs", "20", "--seeds", "1", "--activation", "tanh", "--no-sensitivity"]


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def error_line(result) -> str:
    """The one error line of a failed call (after any progress messages)."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[-1]


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (the lock file aside), by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".infolens.lock"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A real, tiny finished run (20 epochs, one seed, tanh)."""
    out = tmp_path_factory.mktemp("faults") / "run"
    result = cli(*TINY, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def run_dir(finished_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_store_is_named_and_left_untouched(run_dir, damage):
    store = run_dir / "store.sqlite"
    data = store.read_bytes()
    store.write_bytes(b"not a database " * 50 if damage == "garbage" else data[: len(data) // 2])
    before = digest(run_dir)
    for args in (["report", str(run_dir)], ["run", "--resume", "--out", str(run_dir)]):
        line = error_line(cli(*args))
        assert f"{store} is corrupt or truncated" in line, line
        assert "It was left untouched: restore it from a copy, or start a new run" in line
    assert digest(run_dir) == before


def test_a_truncated_config_is_named_and_left_untouched(run_dir):
    config = run_dir / "config.json"
    config.write_text(config.read_text()[:40])
    before = digest(run_dir)
    for args in (["report", str(run_dir)], ["run", "--resume", "--out", str(run_dir)]):
        line = error_line(cli(*args))
        assert f"{config} is truncated or corrupt" in line and "left untouched" in line, line
    assert digest(run_dir) == before


def test_a_corrupt_checkpoint_is_named_and_left_untouched(run_dir):
    checkpoint = run_dir / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    before = digest(run_dir)
    line = error_line(cli("run", "--resume", "--out", str(run_dir)))
    assert f"{checkpoint} is truncated or corrupt" in line and "left untouched" in line, line
    assert digest(run_dir) == before


def test_a_full_disk_stops_the_report_and_keeps_every_file(run_dir, monkeypatch):
    import infolens._atomic

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    before = digest(run_dir)
    monkeypatch.setattr(infolens._atomic.os, "fsync", full)
    line = error_line(cli("report", str(run_dir)))
    assert line.startswith(f"Error: No space left on the disk to write {run_dir}/")
    assert "Files written before are intact" in line
    assert digest(run_dir) == before
    assert not list(run_dir.glob(".*.tmp")), "the temporary file of the failed write was left behind"


def test_a_full_disk_while_storing_an_epoch_keeps_the_epochs_stored_before(tmp_path, monkeypatch):
    import sqlite3

    from infolens.store import RunStore

    path = tmp_path / "store.sqlite"
    row = {"seed": 0, "activation": "tanh", "layer": "layers.0", "quantity": "I_XT",
           "estimator": "binning", "value": 1.0, "units": "bits"}
    with RunStore(path) as store:
        store.begin_run("r", {})
        store.record_epoch("r", 0, [{**row, "epoch": 0}])
        real = store._db

        class FullDisk:
            def __getattr__(self, name):
                return getattr(real, name)

            def executemany(self, sql, rows):
                raise sqlite3.OperationalError("database or disk is full")

        store._connection = FullDisk()
        with pytest.raises(OSError, match="No space left on device") as caught:
            store.record_epoch("r", 1, [{**row, "epoch": 1}])
        assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
        store._connection = real
        assert [m["epoch"] for m in store.measurements("r")] == [0]


def test_an_unwritable_output_is_refused_in_one_line(tmp_path):
    from test_cli_fuzz import unwritable_dir

    target = unwritable_dir(tmp_path) / "out"
    line = error_line(cli(*TINY, "--out", str(target)))
    assert line.startswith("Error: Permission denied:") and str(target.parent) in line, line
    assert "Choose a directory you can write (--out)" in line
    os.chmod(tmp_path / "readonly", 0o700)


def test_a_read_only_run_directory_keeps_its_report(run_dir, monkeypatch):
    import infolens._atomic

    def denied(*args, dir=None, **kwargs):  # what mkstemp raises in a directory without write access
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))

    before = digest(run_dir)
    monkeypatch.setattr(infolens._atomic.tempfile, "mkstemp", denied)
    line = error_line(cli("report", str(run_dir)))
    assert line == (f"Error: Permission denied: {run_dir} cannot be written. Choose a directory you can "
                    "write (--out) or change its permissions.")
    assert digest(run_dir) == before


def _spawn(code: str, *args: str) -> subprocess.Popen:
    """``python -c code args...`` in a new process."""
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_second_run_on_the_same_out_is_refused_and_a_killed_runs_lock_is_not_stale(tmp_path):
    out = tmp_path / "run"
    lock = out / ".infolens.lock"
    first = _spawn("from infolens.cli import main; main()", *TINY[:2], "3000", *TINY[3:], "--out", str(out))
    try:
        _wait_for(lambda: (out / "config.json").exists() and lock.is_file() and lock.read_text().strip(),
                  first)
        assert lock.read_text().strip() == str(first.pid)
        line = error_line(cli(*TINY, "--out", str(out)))
        assert line == (f"Error: The '--out' parameter of infolens run must be a run directory that no other "
                        f"process is writing (wait for process {first.pid} to finish, or choose another "
                        f"directory). Got '{out.resolve()}', locked by process {first.pid} instead.")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
    # the kernel released the killed process's lock: the next command is not refused by it
    line = error_line(cli(*TINY, "--out", str(out)))
    assert "locked" not in line and "--resume" in line, line


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the report's file by /proc/self/fd")
def test_a_run_killed_while_writing_the_report_leaves_the_previous_report(run_dir):
    report = run_dir / "report.html"
    previous = report.read_bytes()
    # the atomic write of the report is held at its fsync (the new report fully written to a
    # temporary file, not yet renamed over report.html); the process is killed with SIGKILL then
    code = ("import os, sys, time\n"
            "real = os.fsync\n"
            "def held(fd):\n"
            "    if '.report.html.' in os.readlink(f'/proc/self/fd/{fd}'):\n"
            "        time.sleep(600)\n"
            "    real(fd)\n"
            "os.fsync = held\n"
            "from infolens.cli import main\n"
            "main()\n")
    writer = _spawn(code, "report", str(run_dir))
    try:
        _wait_for(lambda: any(run_dir.glob(".report.html.*.tmp")), writer, timeout=180)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate()
    assert report.read_bytes() == previous
    # the next report is written in full; the killed write's temporary file does not disturb it
    result = cli("report", str(run_dir))
    assert result.exit_code == 0, result.output
    assert report.read_text().rstrip().endswith("</html>")
