"""The main job end to end on reduced runs: outputs, summary contract, report, CLI, kill and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from infolens import InfoLensError
from infolens.experiments.plane import PlaneRunConfig, load_run, run_plane
from infolens.report.plane import build_report

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
LAYER_KEYS = {"width", "peak_I_XT", "final_I_XT", "final_I_TY"}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _tiny(**overrides):
    settings = {"epochs": 12, "n_seeds": 1, "points_per_decade": 5, "checkpoint_every": 5,
                "costly_epochs": 0}
    settings.update(overrides)
    return PlaneRunConfig.quick(**settings)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "job"
    summary = run_plane(_tiny(n_seeds=2), out, progress=False)
    return out, summary


def test_run_writes_every_output(tiny_run):
    out, _ = tiny_run
    for name in ("report.html", "summary.json", "store.sqlite", "config.json", "checkpoint.pt",
                 "information_plane.png", "mi_vs_epoch.png", "accuracy.png", "compression.png",
                 "probes.png", "sensitivity.json"):
        assert (out / name).is_file(), name
    assert (out / "information_plane.png").read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in (out / "snapshots").glob("*.pt"))[0] == "epoch_000000.pt"


def test_summary_holds_the_contract_keys(tiny_run):
    out, summary = tiny_run
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["estimator"]["name"] == "binning"
    assert summary["estimator"]["params"] == {"bin_width": pytest.approx(2 / 30)}
    assert summary["estimator"]["units"] == "bits"
    widths = (10, 7, 5, 4, 3, 2)
    for act in ("tanh", "relu"):
        entry = summary[act]
        assert 0.0 <= entry["test_accuracy"] <= 1.0
        assert list(entry["layers"]) == [f"layers.{i}" for i in range(6)]
        for i, (name, layer) in enumerate(entry["layers"].items()):
            assert set(layer) == LAYER_KEYS, name
            assert layer["width"] == widths[i]
            # binned I(X;T) of 4096 distinct inputs is at most log2(4096) = 12 bits, I(T;Y) <= H(Y) < 1
            assert 0.0 <= layer["final_I_XT"] <= layer["peak_I_XT"] + 1e-9 <= 12.0 + 1e-9
            assert 0.0 <= layer["final_I_TY"] <= 1.0
    assert set(summary["checks"]) == {"tanh_last_hidden_compresses", "relu_hidden_do_not_compress",
                                      "tanh_last_hidden_I_TY", "relu_last_hidden_I_TY",
                                      "tanh_test_accuracy", "relu_test_accuracy"}


def test_summary_numbers_come_from_the_store(tiny_run):
    out, summary = tiny_run
    data = load_run(out)
    frame = data.result.to_frame()
    assert set(frame["seed"]) == {0, 1} and set(frame["activation"]) == {"tanh", "relu"}
    last = frame[(frame.epoch == frame.epoch.max()) & (frame.activation == "relu")
                 & (frame.quantity == "I_TY") & (frame.layer == "layers.4")]
    # final_I_TY is the mean over seeds of each seed's 3-point moving average: its last point averages
    # the last two recorded epochs, so it lies within their range
    ends = frame[(frame.activation == "relu") & (frame.quantity == "I_TY") & (frame.layer == "layers.4")
                 & (frame.epoch >= sorted(set(frame.epoch))[-2])]["value"]
    assert ends.min() - 1e-9 <= summary["relu"]["layers"]["layers.4"]["final_I_TY"] <= ends.max() + 1e-9
    assert len(last) == 2
    metrics = data.metrics
    test = metrics[(metrics.metric == "test_accuracy") & (metrics.activation == "tanh")
                   & (metrics.epoch == metrics.epoch.max())]
    assert summary["tanh"]["test_accuracy"] == pytest.approx(test["value"].mean())


def test_report_is_self_contained_and_complete(tiny_run):
    out, _ = tiny_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert EXTERNAL.search(html) is None and "<link" not in html
    assert html.count('src="data:image/png;base64,') == 5
    assert html.count("<canvas") == 2  # the 3-D map of the last hidden layer, one per activation
    for heading in ("Run and estimator", "Expected outcome", "Information plane", "Accuracy",
                    "Compression scores and phases", "Estimator sensitivity", "Probes and embeddings",
                    "Timings"):
        assert f">{heading}</h2>" in html, heading
    assert "What I(X;T) means here" in html and "binning(bin_width=0.0666667)" in html


def test_store_has_one_row_per_measurement(tiny_run):
    out, _ = tiny_run
    with sqlite3.connect(out / "store.sqlite") as db:
        epochs = [r[0] for r in db.execute("SELECT epoch FROM epochs ORDER BY epoch")]
        n_rows = db.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
    # 2 activations x 2 seeds x 6 layers x 2 quantities per recorded epoch, epoch 0 and the last included
    assert epochs[0] == 0 and epochs[-1] == 12
    assert n_rows == len(epochs) * 2 * 2 * 6 * 2


def test_report_rebuild_from_store(tiny_run):
    out, summary = tiny_run
    before = (out / "report.html").read_bytes()
    (out / "report.html").unlink()
    build_report(out)
    assert (out / "report.html").read_bytes() == before
    assert json.loads((out / "summary.json").read_text()) == summary


def test_existing_run_needs_resume_and_same_config(tiny_run, tmp_path):
    out, _ = tiny_run
    with pytest.raises(InfoLensError, match="'out' parameter of run_plane"):
        run_plane(_tiny(n_seeds=2), out, progress=False)
    with pytest.raises(InfoLensError, match="'config' parameter of run_plane"):
        run_plane(_tiny(n_seeds=3), out, resume=True, progress=False)
    with pytest.raises(InfoLensError, match="'out' parameter of run_plane"):
        run_plane(None, tmp_path / "nothing", resume=True, progress=False)


@pytest.mark.parametrize(("field", "value"), [("epochs", 0), ("activations", ("tanh", "gelu")),
                                              ("activations", ()), ("estimator", "magic"), ("n_seeds", 0),
                                              ("schedule", "sometimes"), ("lr", -1.0)])
def test_config_rejects_bad_settings(field, value):
    with pytest.raises(InfoLensError, match=f"'{field}' parameter of PlaneRunConfig"):
        PlaneRunConfig(**{field: value})


def test_config_round_trips_and_defaults_the_bin_width():
    config = PlaneRunConfig(activations=["relu"], estimator_params={"bins": 30})
    assert config.activations == ("relu",) and config.estimator_params == {"bins": 30}
    assert PlaneRunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert PlaneRunConfig().estimator_params == {"bin_width": pytest.approx(2 / 30)}
    assert PlaneRunConfig(estimator="kde").estimator_params == {}


def _cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "infolens", "run", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _rows(path):
    with sqlite3.connect(path) as db:
        measurements = db.execute("SELECT seed, activation, epoch, layer, quantity, estimator, value "
                                  "FROM measurements ORDER BY epoch, layer, quantity").fetchall()
        metrics = db.execute("SELECT seed, activation, epoch, name, value FROM metrics "
                             "ORDER BY epoch, name").fetchall()
    return measurements, metrics


def _last_epoch(path):
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            row = db.execute("SELECT MAX(epoch) FROM epochs").fetchone()
        return -1 if row[0] is None else row[0]
    except sqlite3.Error:
        return -1


def test_killed_run_resumes_without_lost_or_duplicated_rows(tmp_path):
    from infolens.plane import Schedule

    args = ["--activation", "tanh", "--seeds", "1", "--epochs", "150", "--batch-size", "512",
            "--points-per-decade", "20", "--checkpoint-every", "30", "--no-sensitivity", "--no-progress"]
    killed = tmp_path / "killed"
    proc = _cli(*args, "--out", str(killed))
    deadline = time.monotonic() + 120
    while _last_epoch(killed / "store.sqlite") < 45 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before, before_metrics = _rows(killed / "store.sqlite")
    recorded_at_kill = max(r[2] for r in before)
    assert 45 <= recorded_at_kill < 150
    assert not (killed / "summary.json").exists()

    resumed = _cli("--out", str(killed), "--resume", "--no-progress")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    assert "Resuming" in err

    after, after_metrics = _rows(killed / "store.sqlite")
    epochs = Schedule("log", last_epoch=150, n_points=20).epochs()
    # nothing lost, nothing duplicated: one row per (epoch, layer, quantity) of the schedule
    assert sorted({r[2] for r in after}) == epochs
    assert len(after) == len({r[:6] for r in after}) == len(epochs) * 6 * 2
    assert len(after_metrics) == len({r[:4] for r in after_metrics}) == len(epochs) * 3
    # the checkpoint was at epoch 30, 60, ...: the epochs recorded after it before the kill were
    # trained and recorded again after the resume, and came out identical (an exact resume)
    old = {r[:6]: r[6] for r in before}
    new = {r[:6]: r[6] for r in after}
    assert set(old) <= set(new)
    redone = [key for key in old if key[2] > (recorded_at_kill // 30) * 30]
    assert redone, "the kill fell exactly on a checkpoint; nothing was re-recorded"
    for key, value in old.items():
        assert new[key] == pytest.approx(value, abs=1e-9), key
    old_metrics = {r[:4]: r[4] for r in before_metrics}
    for key, value in old_metrics.items():
        assert {r[:4]: r[4] for r in after_metrics}[key] == pytest.approx(value, abs=1e-9), key
    summary = json.loads((killed / "summary.json").read_text())
    assert set(summary["tanh"]["layers"]) == {f"layers.{i}" for i in range(6)}


def test_cli_quick_run_and_report_command(tmp_path):
    from click.testing import CliRunner

    from infolens.cli import main

    out = tmp_path / "cli"
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--quick", "--epochs", "8", "--seeds", "1", "--activation", "relu",
                                  "--out", str(out), "--no-progress", "--batch-size", "512"])
    assert result.exit_code == 0, result.output
    assert "relu: test accuracy" in result.stdout and "report:" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary)[:1] == ["relu"] and "tanh" not in summary
    assert summary["config"]["batch_size"] == 512 and summary["config"]["epochs"] == 8
    (out / "report.html").unlink()
    result = runner.invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    result = runner.invoke(main, ["run", "--resume", "--epochs", "9", "--out", str(out)])
    assert result.exit_code != 0 and "--epochs (epochs): stored 8, given 9" in result.output
    result = runner.invoke(main, ["run", "--out", str(out), "--no-progress"])
    assert result.exit_code != 0 and "pass --resume to continue that run" in result.output


@pytest.mark.slow
def test_tanh_compresses_its_last_hidden_layer_more_than_relu(tmp_path):
    summary = run_plane(PlaneRunConfig(epochs=1500, n_seeds=1, sensitivity=False), tmp_path / "run",
                        progress=False)

    def ratio(act, layer="layers.4"):
        entry = summary[act]["layers"][layer]
        return entry["final_I_XT"] / entry["peak_I_XT"]

    assert ratio("tanh") < ratio("relu") - 0.1
    assert ratio("tanh") < 0.9


def test_report_command_shows_stored_results_without_training_or_estimating(tiny_run, monkeypatch):
    import time as clock

    import torch
    from click.testing import CliRunner

    import infolens.embedding
    import infolens.estimators.api
    import infolens.experiments.plane.analysis
    import infolens.plane
    import infolens.plane.estimate
    import infolens.probes
    from infolens.cli import main
    from infolens.plane import PlaneResult

    out, _ = tiny_run
    before = (out / "report.html").read_bytes()

    def forbidden(*args, **kwargs):
        raise AssertionError("the report measured something")

    for owner, name in [(torch.nn.Module, "__call__"), (torch.autograd, "backward"),
                        (torch.optim.Optimizer, "step"), (infolens.plane.estimate, "plane_records"),
                        (infolens.plane.estimate.LayerEstimator, "information"),
                        (infolens.estimators.api, "_raw_nats"), (infolens.probes, "probe_layers"),
                        (infolens.embedding, "embed"), (infolens.plane, "sensitivity"),
                        (infolens.experiments.plane.analysis, "analyze"),
                        (PlaneResult, "compression_scores"), (PlaneResult, "phases"),
                        (PlaneResult, "summary"), (PlaneResult, "dpi_violations")]:
        monkeypatch.setattr(owner, name, forbidden)
    (out / "report.html").unlink()
    start = clock.perf_counter()
    result = CliRunner().invoke(main, ["report", str(out)])
    seconds = clock.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert (out / "report.html").read_bytes() == before
    assert seconds < 60, seconds  # drawing only: ~10 s on a loaded 2-core machine
