"""Resuming the main job with the command the user ran, and run directories that must not be lost:
changed settings, earlier versions, bad input before anything is written, damaged files."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from infolens.cli import main

# a tiny run: 6 epochs, checkpoints at 3 and 6, no sensitivity table
COMMAND = ["run", "--activation", "tanh", "--epochs", "6", "--seeds", "1", "--batch-size", "512",
           "--points-per-decade", "3", "--checkpoint-every", "3", "--no-sensitivity", "--no-progress"]


def _invoke(*args):
    return CliRunner().invoke(main, [*args])


def _files(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


class _KilledError(BaseException):
    """Stands for a kill: not an Exception, so no error handler on the way catches it."""


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A run stopped after epoch 4 (its last checkpoint is epoch 3), as a kill would leave it."""
    import infolens.training

    out = tmp_path_factory.mktemp("resume") / "run"
    advance = infolens.training._advance

    def stop_after_4(progress, epoch):
        advance(progress, epoch)
        if epoch == 4:
            raise _KilledError

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infolens.training, "_advance", stop_after_4)
        with pytest.raises(_KilledError):
            _invoke(*COMMAND, "--out", str(out))
    assert (out / "checkpoint.pt").is_file() and not (out / "summary.json").exists()
    return out


def test_the_same_command_with_resume_continues_the_run(interrupted, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(interrupted, out)
    result = _invoke(*COMMAND, "--out", str(out), "--resume")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["epochs"] == 6 and list(summary)[0] == "tanh"
    assert summary["timings"]["epochs_trained"] == 3.0  # epochs 4-6, from the checkpoint at 3
    again = _invoke(*COMMAND, "--out", str(out), "--resume")  # finished: the outputs are rebuilt
    assert again.exit_code == 0, again.output
    assert "already trained to epoch 6" in again.output


def test_a_changed_setting_is_refused_naming_each_option_and_nothing_changes(interrupted):
    before = _files(interrupted)
    changed = [a if a not in ("6", "1") else {"6": "7", "1": "2"}[a] for a in COMMAND]
    result = _invoke(*changed, "--out", str(interrupted), "--resume")
    assert result.exit_code != 0
    assert "--epochs (epochs): stored 6, given 7" in result.output
    assert "--seeds (n_seeds): stored 1, given 2" in result.output
    assert "Traceback" not in result.output
    assert _files(interrupted) == before


def test_a_run_directory_of_an_earlier_version_says_so(interrupted, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(interrupted, out)
    stored = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps(stored["config"]))  # the layout before format 2
    before = _files(out)
    for args in ([*COMMAND, "--out", str(out), "--resume"], ["report", str(out)]):
        result = _invoke(*args)
        assert result.exit_code != 0
        assert "written by an earlier version" in result.output
    assert _files(out) == before


@pytest.mark.parametrize("damage", ["truncated", "not json"])
def test_a_damaged_config_is_a_clear_error_and_kept(interrupted, tmp_path, damage):
    out = tmp_path / "run"
    shutil.copytree(interrupted, out)
    text = (out / "config.json").read_text()
    (out / "config.json").write_text(text[: len(text) // 2] if damage == "truncated" else "\x00garbage")
    before = _files(out)
    result = _invoke(*COMMAND, "--out", str(out), "--resume")
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "config.json is truncated or corrupt" in result.output and "left untouched" in result.output
    assert _files(out) == before


def test_a_truncated_checkpoint_is_a_clear_error_and_kept(interrupted, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(interrupted, out)
    data = (out / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(data[: len(data) // 3])
    before = _files(out)
    result = _invoke(*COMMAND, "--out", str(out), "--resume")
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "checkpoint.pt is truncated or corrupt" in result.output and "left untouched" in result.output
    assert _files(out) == before


@pytest.mark.parametrize(("bad", "message"), [(["--bins", "0"], "'bins' parameter of PlaneRunConfig"),
                                              (["--device", "foo"], "'foo' is not a torch device")])
def test_a_failed_command_leaves_no_run_behind(tmp_path, bad, message):
    out = tmp_path / "run"
    result = _invoke(*COMMAND, *bad, "--out", str(out))
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert message in result.output
    assert not (out / "config.json").exists() and not (out / "store.sqlite").exists()


def test_the_corrected_command_runs_where_a_bad_one_failed(tmp_path):
    out = tmp_path / "run"
    for bad in (["--bins", "0"], ["--device", "foo"]):
        assert _invoke(*COMMAND, *bad, "--out", str(out)).exit_code != 0
    result = _invoke(*COMMAND, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["config"]["epochs"] == 6
