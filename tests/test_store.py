"""Run store: transactions, idempotent re-recording, resume after SIGKILL, atomic checkpoints."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from infolens import InfoLensError
from infolens.plane import PlaneResult
from infolens.store import RunStore, load_checkpoint, save_checkpoint

LAYERS = ("layers.0", "layers.1", "layers.2")


def _measurements(epoch: int, seed: int = 0, value: float | None = None) -> list[dict]:
    return [{"run": "ignored", "seed": seed, "activation": "tanh", "epoch": epoch, "layer": layer,
             "quantity": quantity, "estimator": "binning(bins=30)",
             "value": value if value is not None else epoch + i / 10, "units": "bits"}
            for i, layer in enumerate(LAYERS) for quantity in ("I_XT", "I_TY")]


def _count_keys(path: Path) -> tuple[int, int]:
    """(rows, distinct measurement keys) read straight from SQLite."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
        keys = db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT run_id, seed, activation, epoch, layer, "
                          "quantity, estimator FROM measurements)").fetchone()[0]
    return rows, keys


def test_begin_run_resume_and_config_conflict(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        config = {"lr": 0.01, "widths": (12, 10, 2), "name": "a"}
        assert store.begin_run("r1", config) == {"lr": 0.01, "widths": [12, 10, 2], "name": "a"}
        assert store.status("r1") == "running"
        store.finish_run("r1")
        assert store.status("r1") == "finished"
        # same config, other key order: resumes and returns the stored config
        assert store.begin_run("r1", {"name": "a", "widths": [12, 10, 2], "lr": 0.01})["lr"] == 0.01
        assert store.status("r1") == "running"
        with pytest.raises(InfoLensError, match="'config' parameter of RunStore.begin_run"):
            store.begin_run("r1", {**config, "lr": 0.1})
        assert [r["run_id"] for r in store.runs()] == ["r1"]
    with RunStore(tmp_path / "runs.sqlite") as store:  # reopened: still there
        assert store.config("r1")["widths"] == [12, 10, 2]
        mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_record_epoch_replaces_instead_of_duplicating(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.begin_run("r", {})
        assert store.last_epoch("r") is None
        store.record_epoch("r", 0, _measurements(0), [{"name": "loss", "value": 0.7}])
        store.record_epoch("r", 1, _measurements(1), [{"name": "loss", "value": 0.5, "seed": 0}])
        store.record_epoch("r", 1, _measurements(1, value=9.0), [{"name": "loss", "value": 0.4}])
        assert store.last_epoch("r") == 1
        rows = store.measurements("r")
        assert len(rows) == 2 * 2 * len(LAYERS)
        assert [r["value"] for r in rows if r["epoch"] == 1] == [9.0] * 6
        assert all(r["run"] == "r" for r in rows)
        assert store.metrics("r") == [
            {"run": "r", "seed": 0, "activation": "", "epoch": 0, "name": "loss", "value": 0.7},
            {"run": "r", "seed": 0, "activation": "", "epoch": 1, "name": "loss", "value": 0.4}]
        plane = PlaneResult(store.measurements("r"))
        assert plane.layers == list(LAYERS) and plane.epochs == [0, 1]
    assert _count_keys(path) == (12, 12)


def test_record_epoch_is_all_or_nothing(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.begin_run("r", {})
        bad = _measurements(0)
        bad[-1] = {k: v for k, v in bad[-1].items() if k != "value"}
        with pytest.raises(InfoLensError, match="without value"):
            store.record_epoch("r", 0, bad)
        # a failure inside the transaction, after the measurements went in, rolls them back
        real = store._db

        class FailOnMetrics:
            def __getattr__(self, name):
                return getattr(real, name)

            def executemany(self, sql, rows):
                if sql.startswith("INSERT INTO metrics"):
                    raise sqlite3.OperationalError("disk I/O error")
                return real.executemany(sql, rows)

        store._db = FailOnMetrics()
        with pytest.raises(OSError, match="disk I/O error on the run store"):
            store.record_epoch("r", 0, _measurements(0), [{"name": "loss", "value": 1.0}])
        store._db = real
        assert store.measurements("r") == [] and store.metrics("r") == []
        assert store.last_epoch("r") is None


def test_last_epoch_filters_nan_values(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.begin_run("r", {})
        store.record_epoch("r", 0, _measurements(0, seed=0) + _measurements(0, seed=1))
        store.record_epoch("r", 1, _measurements(1, seed=0, value=math.nan))
        store.record_epoch("r", 2)  # an epoch with nothing to record still counts
        assert store.last_epoch("r") == 2
        assert store.last_epoch("r", seed=1) == 0
        assert store.last_epoch("r", seed=0, activation="tanh") == 1
        assert store.last_epoch("r", activation="relu") is None
        assert store.recorded_epochs("r") == [0, 1, 2]
        assert all(math.isnan(r["value"]) for r in store.measurements("r") if r["epoch"] == 1)


def test_bad_store_input_raises(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with pytest.raises(InfoLensError, match="'run_id' parameter of RunStore.record_epoch"):
        store.record_epoch("missing", 0, _measurements(0))
    store.begin_run("r", {})
    with pytest.raises(InfoLensError, match="'config' parameter"):
        store.begin_run("s", {"f": object()})
    with pytest.raises(InfoLensError, match="'run_id' parameter"):
        store.begin_run("", {})
    with pytest.raises(InfoLensError, match=r"'measurements\[0\]\['epoch'\]' parameter"):
        store.record_epoch("r", 1, _measurements(0))
    with pytest.raises(InfoLensError, match="'status' parameter"):
        store.finish_run("r", "done")
    store.close()
    store.close()
    with pytest.raises(InfoLensError, match="closed"):
        store.begin_run("t", {})


def test_checkpoint_roundtrip_and_atomic_replace(tmp_path, monkeypatch):
    path = tmp_path / "ckpt" / "model.pt"
    state = {"epoch": 3, "weights": torch.arange(4.0)}
    save_checkpoint(path, state)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and torch.equal(loaded["weights"], state["weights"])

    def broken_save(obj, fh):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint(path, {"epoch": 4})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 3  # the old checkpoint survived
    assert os.listdir(path.parent) == ["model.pt"]  # no temp file left behind
    with pytest.raises(InfoLensError, match="'path' parameter of load_checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


_WORKER = textwrap.dedent("""
    import sys
    import torch
    from infolens.store import RunStore, load_checkpoint, save_checkpoint

    db, ckpt, n_epochs, pause_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    layers = ("layers.0", "layers.1", "layers.2")
    store = RunStore(db)
    store.begin_run("killed", {"epochs": n_epochs})
    try:
        state = load_checkpoint(ckpt)
        start, weights = state["epoch"] + 1, state["weights"]
    except ValueError:                           # no checkpoint yet
        start, weights = 0, torch.zeros(3)
    print("start", start, store.last_epoch("killed"), flush=True)
    for epoch in range(start, n_epochs):
        weights += 1.0                           # "training"
        rows = [{"seed": s, "activation": "tanh", "epoch": epoch, "layer": layer, "quantity": q,
                 "estimator": "binning(bins=30)", "value": float(weights[0]) + i, "units": "bits"}
                for s in (0, 1) for i, layer in enumerate(layers) for q in ("I_XT", "I_TY")]
        store.record_epoch("killed", epoch, rows, [{"name": "loss", "value": 1.0 / (epoch + 1)}])
        if epoch == pause_at:                    # stored but not checkpointed: wait to be killed
            print("recorded", epoch, flush=True)
            sys.stdin.readline()
        save_checkpoint(ckpt, {"epoch": epoch, "weights": weights})
        print("epoch", epoch, flush=True)
    store.finish_run("killed")
    print("done", flush=True)
""")


def test_killed_run_resumes_without_lost_or_duplicated_rows(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    db, ckpt, n_epochs = tmp_path / "runs.sqlite", tmp_path / "model.pt", 60
    args = [sys.executable, str(script), str(db), str(ckpt), str(n_epochs)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # the worker stops after storing epoch 8 and before checkpointing it: the worst moment to die
    proc = subprocess.Popen([*args, "8"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if line.startswith("recorded") or time.monotonic() > deadline:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stdin.close()
    assert proc.returncode == -signal.SIGKILL
    with RunStore(db) as store:
        assert store.last_epoch("killed") == 8
        assert store.status("killed") == "running"
    assert load_checkpoint(ckpt)["epoch"] == 7

    out = subprocess.run([*args, "-1"], capture_output=True, text=True, env=env, timeout=120,
                         check=True).stdout
    assert out.split()[:3] == ["start", "8", "8"]  # resumes after the checkpoint: epoch 8 is re-recorded
    assert out.strip().endswith("done")
    with RunStore(db) as store:
        rows = store.measurements("killed")
        assert store.status("killed") == "finished"
        assert store.recorded_epochs("killed") == list(range(n_epochs))
        assert [m["epoch"] for m in store.metrics("killed")] == list(range(n_epochs))
        per_epoch = {}
        for r in rows:
            per_epoch[r["epoch"]] = per_epoch.get(r["epoch"], 0) + 1
        assert per_epoch == {e: 2 * 3 * 2 for e in range(n_epochs)}
        # values continue the checkpointed "training": weights[0] == epoch + 1 at every epoch
        assert all(r["value"] == r["epoch"] + 1 + LAYERS.index(r["layer"]) for r in rows)
    assert _count_keys(db) == (n_epochs * 12, n_epochs * 12)


def test_flags_and_estimated_by_are_stored_and_an_old_store_gains_the_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # a store written before the flags columns existed
        db.executescript(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, config_json TEXT NOT NULL, created REAL NOT NULL, "
            "status TEXT NOT NULL);"
            "CREATE TABLE measurements (run_id TEXT NOT NULL REFERENCES runs(run_id), seed INTEGER NOT NULL, "
            "activation TEXT NOT NULL, epoch INTEGER NOT NULL, layer TEXT NOT NULL, quantity TEXT NOT NULL, "
            "estimator TEXT NOT NULL, value REAL, units TEXT NOT NULL, UNIQUE (run_id, seed, activation, "
            "epoch, layer, quantity, estimator));"
            "INSERT INTO runs VALUES ('old', '{}', 0, 'finished');"
            "INSERT INTO measurements VALUES ('old', 0, 'tanh', 0, 'h', 'I_XT', 'binning(bins=30)', 1.5, "
            "'bits');")
    with RunStore(path) as store:
        assert store.measurements("old")[0]["flags"] == ""
        assert "estimated_by" not in store.measurements("old")[0]
        store.begin_run("new", {})
        rows = _measurements(0)
        rows[0] = {**rows[0], "flags": "near_log_n,all_distinct", "estimated_by": "kde(noise_var=0.1)"}
        store.record_epoch("new", 0, rows)
        back = store.measurements("new")
    assert back[0]["flags"] == "near_log_n,all_distinct" and back[0]["estimated_by"] == "kde(noise_var=0.1)"
    assert back[1]["flags"] == "" and "estimated_by" not in back[1]
    frame = PlaneResult(back).to_frame()
    assert list(frame["flags"])[:2] == ["near_log_n,all_distinct", ""]
