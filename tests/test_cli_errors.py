"""How the ``infolens`` command answers errors: one line on stderr that says what is wrong and what
to do, exit status 1 (2 for a usage error), and the traceback only with ``infolens --debug``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from infolens.cli import main


def one_line(args: list[str], code: int = 1) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_usage_errors_are_one_line_with_where_to_look():
    assert one_line(["frobnicate"], 2) == "Error: No such command 'frobnicate'; see 'infolens --help'."
    assert one_line(["layers", "--bogus"], 2) == ("Error: No such option '--bogus'; see "
                                                 "'infolens layers --help'.")
    assert one_line(["sweep", "ib", "--seeds", "a", "--out", "x"], 2) == (
        "Error: Invalid value for '--seeds': expected comma-separated integers, e.g. 0,1,2; got 'a'; "
        "see 'infolens sweep --help'.")


@pytest.mark.parametrize("command", ["run", "ib"])
def test_device_is_checked_against_this_machine(command, tmp_path):
    line = one_line([command, "--device", "foo", "--out", str(tmp_path / "out")], 2)
    assert line.startswith("Error: Invalid value for '--device': 'foo' is not a torch device; use one of: "
                           "cpu")
    assert not (tmp_path / "out").exists()  # refused before anything is written
    if not torch.cuda.is_available():
        line = one_line([command, "--device", "cuda", "--out", str(tmp_path / "out")], 2)
        assert line == (f"Error: Invalid value for '--device': 'cuda' is not available on this machine; use "
                        f"one of: cpu; see 'infolens {command} --help'.")


def test_an_unexpected_exception_is_one_line_that_points_to_debug(tmp_path, monkeypatch):
    import infolens.estimators.api

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(infolens.estimators.api, "estimate_entropy", broken)
    np.save(tmp_path / "x.npy", np.arange(10))
    assert one_line(["estimate", str(tmp_path / "x.npy")]) == (
        "Error: internal error (RuntimeError: boom second line). Rerun with 'infolens --debug ...' for "
        "the traceback and please report it.")
    debug = CliRunner().invoke(main, ["--debug", "estimate", str(tmp_path / "x.npy")])
    assert isinstance(debug.exception, RuntimeError) and str(debug.exception) == "boom\nsecond line"


def test_debug_shows_the_traceback_of_a_bad_input(tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"garbage")
    command = [sys.executable, "-m", "infolens"]
    plain = subprocess.run([*command, "estimate", str(bad)], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.count("\n") == 1 and f"{bad} could not be read" in plain.stderr
    debug = subprocess.run([*command, "--debug", "estimate", str(bad)], capture_output=True, text=True,
                           timeout=120)
    assert debug.returncode == 1 and debug.stderr.startswith("Traceback (most recent call last):")
    assert "infolens._validation.InfoLensError: The 'FILES' parameter of infolens estimate" in debug.stderr


def test_probe_restores_the_torch_thread_count(tmp_path, monkeypatch):
    import infolens.experiments.probe_run

    seen = []

    def fake_run(config, out, log):
        seen.append(torch.get_num_threads())
        raise infolens.InfoLensError("stop here")

    before = torch.get_num_threads()
    monkeypatch.setattr(infolens.experiments.probe_run, "run_probe", fake_run)
    assert one_line(["probe", "--threads", "3", "--out", str(tmp_path / "p")]) == "Error: stop here"
    assert seen == [3] and torch.get_num_threads() == before
