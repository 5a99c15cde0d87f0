"""`infolens estimate` on sample files, and the CLI's lazy command group."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from infolens.cli import main


def test_estimate_discrete_mi_from_npy_files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, 4000)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x)  # I(X;X) = H(X) = 2 bits for uniform X on 4 symbols
    result = CliRunner().invoke(main, ["estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                                       "--method", "plugin"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["quantity"] == "mi" and payload["units"] == "bits"
    assert abs(payload["value"] - 2.0) < 0.01


def test_estimate_passes_method_parameters_and_reports_bad_ones(tmp_path):
    np.savetxt(tmp_path / "t.csv", np.random.default_rng(1).normal(size=(500, 2)), delimiter=",")
    ok = CliRunner().invoke(main, ["estimate", str(tmp_path / "t.csv"), "--method", "binning",
                                   "--param", "bins=4", "--units", "nats"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["params"]["bins"] == 4
    bad = CliRunner().invoke(main, ["estimate", str(tmp_path / "t.csv"), "--method", "binning",
                                    "--param", "bins=0"])
    assert bad.exit_code != 0
    assert "The 'bins' parameter of estimate_entropy must be an int >= 1. Got 0 instead." in bad.output


def test_help_lists_every_command_without_importing_them():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("run", "estimate", "ib", "probe", "layers", "report", "sweep"):
        assert name in result.output
