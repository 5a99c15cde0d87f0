"""`infolens estimate` on sample files, and the CLI's lazy command group."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
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


def _gaussian_files(tmp_path, n=4000):
    """x = z + a, y = z + b with corr(a, b) = 0.6, all unit variance: I(X;Y) = -ln(1 - 0.8^2) / 2
    (corr(x, y) = 1.6 / 2 = 0.8) and I(X;Y|Z) = -ln(1 - 0.6^2) / 2, in nats."""
    rng = np.random.default_rng(0)
    z, a, e = rng.normal(size=(3, n))
    b = 0.6 * a + 0.8 * e
    paths = [tmp_path / f"{name}.npy" for name in ("x", "y", "z", "noise")]
    for path, values in zip(paths, (z + a, z + b, z, rng.normal(size=n)), strict=True):
        np.save(path, values)
    return [str(p) for p in paths], -0.5 * math.log(1 - 0.8**2), -0.5 * math.log(1 - 0.6**2)


def _estimate(*args):
    result = CliRunner().invoke(main, ["estimate", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_estimate_three_files_is_the_conditional_mi(tmp_path):
    (x, y, z, _), _, cmi = _gaussian_files(tmp_path)
    payload = _estimate(x, y, z, "--method", "gaussian", "--units", "nats")
    assert payload["quantity"] == "cmi" and payload["n_samples"] == 4000
    # Gaussian CMI at N = 4000: sd about (1 - 0.36) / sqrt(N) = 0.01 nats; 4 sd
    assert payload["value"] == pytest.approx(cmi, abs=0.04)
    bits = _estimate(x, y, z, "--method", "gaussian")
    assert bits["value"] == pytest.approx(payload["value"] / math.log(2), rel=1e-12)


def test_estimate_ci_permutations_and_max_samples(tmp_path):
    (x, y, _, noise), mi, _ = _gaussian_files(tmp_path)
    with_ci = _estimate(x, y, "--method", "ksg", "--ci", "0.95", "--units", "nats")
    assert with_ci["ci_level"] == 0.95 and with_ci["p_value"] is None
    low, high = with_ci["ci"]
    assert low < with_ci["value"] < high and high - low < 0.1
    # KSG at N = 4000, rho = 0.8: bias below 0.02 nats; the bootstrap interval is about +-0.025
    assert low - 0.03 <= mi <= high + 0.03
    dependent = _estimate(x, y, "--method", "ksg", "--permutations", "19", "--units", "nats")
    # no permuted pair comes near 0.51 nats: p = (0 + 1) / (19 + 1)
    assert dependent["p_value"] == pytest.approx(1 / 20)
    independent = _estimate(x, noise, "--method", "ksg", "--permutations", "19", "--units", "nats")
    assert independent["p_value"] > 0.05 and abs(independent["value"]) < 0.03
    sub = _estimate(x, y, "--method", "ksg", "--max-samples", "500", "--units", "nats")
    assert (sub["n_samples"], sub["n_used"]) == (4000, 500) and "subsampled" in sub["flags"]
    assert sub["value"] == pytest.approx(mi, abs=0.1)  # N = 500: sd about 0.04 nats


def test_estimate_discrete_features_for_mi_and_cmi(tmp_path):
    # Y uniform on 4 labels, X = Y + 0.5 N(0, 1), Z independent: I(X;Y|Z) = I(X;Y) = 0.8452 nats
    # (quadrature, tests/test_semidiscrete_cmi.py); spread at N = 1000 about 0.03: tolerance 0.1
    import infolens as il

    rng = np.random.default_rng(0)
    n = 1000
    y = rng.integers(0, 4, n)
    x, z = y + 0.5 * rng.normal(size=n), rng.normal(size=n)
    table = tmp_path / "t.csv"
    with table.open("w") as f:
        f.write("x,y,yf,z\n")
        for row in zip(x, y, y.astype(float), z, strict=True):
            f.write(f"{float(row[0])!r},{row[1]},{row[2]:.1f},{float(row[3])!r}\n")
    common = [str(table), "--units", "nats", "--x", "x", "--z", "z"]
    by_dtype = _estimate(*common, "--y", "y")
    told = _estimate(*common, "--y", "yf", "--discrete-features", "y")
    by_position = _estimate(*common, "--y", "yf", "--discrete-features", "1")
    api = il.estimate_cmi(x, y, z, units="nats")
    assert by_dtype["method"] == told["method"] == by_position["method"] == "ksg_discrete"
    assert by_dtype["value"] == told["value"] == by_position["value"] == pytest.approx(api.value, abs=1e-12)
    assert api.value == pytest.approx(0.8452, abs=0.1)
    assert _estimate(*common, "--y", "y", "--discrete-features", "none")["method"] == "ksg"
    mi = _estimate(str(table), "--x", "x", "--y", "yf", "--discrete-features", "y", "--units", "nats")
    assert mi["quantity"] == "mi" and mi["method"] == "mixed"
    assert mi["value"] == pytest.approx(0.8452, abs=0.1)
    bad = CliRunner().invoke(main, ["estimate", *common, "--y", "y", "--discrete-features", "w"])
    assert bad.exit_code != 0
    assert "The 'discrete_features' parameter of estimate_cmi must be 'auto', a bool, or" in bad.output
    one = CliRunner().invoke(main, ["estimate", str(table), "--x", "y", "--discrete-features", "x"])
    assert one.exit_code != 0 and "The '--discrete-features' parameter of infolens estimate" in one.output
