"""What users of other information-theory libraries expect, answered by infolens (issue 22).

Each expected value comes from a closed form or from the peer's own test or documented example,
named in the test: project, file, case. Peers are not imported (not dependencies); their
numbers are written here with the peer's tolerance.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import infolens as il
from infolens import InfoLensError, InfoLensWarning

LN2 = math.log(2.0)


# ----------------------------------------------------------------------------- the two flags
def test_mixed_on_disjoint_uniform_atoms_is_not_flagged_above_cap() -> None:
    # two equiprobable atoms seen through x (as floats) and y (as labels): truth ln 2 nats; the
    # mixed estimator reads ln N - psi(n_s), above the plug-in H(Y) by < K/N = 2/N by construction
    x = np.random.default_rng(0).integers(0, 2, 1000)
    est = il.estimate_mi(x.astype(float), x, method="mixed", units="nats")
    assert est.value == pytest.approx(LN2, abs=2e-3)
    assert est.cap < est.value <= est.cap + 2 / 1000
    assert "above_cap" not in est.flags


def test_sklearn_symmetry_case_is_not_flagged_above_cap() -> None:
    # scikit-learn, sklearn/feature_selection/tests/test_mutual_info.py,
    # test_mutual_information_symmetry_classif_regression (correlated: c = d, d uniform on 10
    # values, n = 100): truth ln 10; the plug-in cap of the sample is below the truth
    rng = np.random.RandomState(0)
    d = rng.randint(10, size=100)
    est = il.estimate_mi(d.astype(np.float64), d, method="mixed", units="nats")
    assert est.value == pytest.approx(math.log(10), abs=0.05)
    assert est.cap < est.value <= est.cap + 10 / 100
    assert "above_cap" not in est.flags


def test_a_real_upward_bias_still_raises_above_cap() -> None:
    # the Gaussian MI of a binary label and its tight copy: -ln(1 - rho^2)/2 ~ 3.9 nats >> ln 2
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    with pytest.warns(InfoLensWarning, match="small-sample allowance K/N = 0.0100 nats"):
        est = il.estimate_mi(y + 0.01 * rng.normal(size=200), y, method="gaussian", units="nats")
    assert est.value > math.log(2) + 2 / 200 and "above_cap" in est.flags


def test_nsb_without_coincidences_is_flagged_with_its_prior() -> None:
    # infomeasure / Nemenman et al. 2002: [1, 2, 3, 4, 5] has no repeated symbol
    with pytest.warns(InfoLensWarning, match=r"no repeated symbol.*mean of the prior.*\[0, ln K\], K = 5"):
        est = il.estimate_entropy([1, 2, 3, 4, 5], method="nsb")
    assert "no_coincidences" in est.flags
    assert 0 < est.value < math.log2(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repeated = il.estimate_entropy([1, 2, 3, 4, 5, 1, 2, 3], method="nsb")
    assert "no_coincidences" not in repeated.flags


# ----------------------------------------------------------------------------- base=
@pytest.mark.parametrize(("base", "units", "per_nat"), [
    (10, "dits", 1 / math.log(10)), ("hartleys", "hartleys", 1 / math.log(10)),
    (2.5, "base 2.5", 1 / math.log(2.5)), (4, "base 4.0", 1 / math.log(4)), (math.e, "nats", 1.0)])
def test_base_gives_logarithms_in_that_base(base, units, per_nat) -> None:
    # dit, dit/tests (Distribution.set_base(10)) and infomeasure, tests (base 2.5, 4, 5, 8, 10):
    # the entropy of a fair coin in base b is log_b 2; of four equiprobable symbols, log_b 4
    assert il.entropy([0.5, 0.5], base=base) == pytest.approx(LN2 * per_nat, rel=1e-12)
    assert il.entropy([0.25] * 4, base=base) == pytest.approx(math.log(4) * per_nat, rel=1e-12)
    pxy = np.array([[0.4, 0.1], [0.1, 0.4]])
    assert il.mutual_information(pxy, base=base) == pytest.approx(
        il.mutual_information(pxy, units="nats") * per_nat, rel=1e-12)
    est = il.estimate_entropy(["a", "b", "a", "b"], base=base, method="plugin")
    assert (est.value, est.units) == (pytest.approx(LN2 * per_nat, rel=1e-12), units)
    mi = il.estimate_mi([0, 1, 0, 1], [0, 1, 0, 1], method="plugin", base=base)
    assert mi.value == pytest.approx(LN2 * per_nat, rel=1e-12)


def test_scipy_entropy_base_example() -> None:
    # scipy, scipy/stats/_entropy.py docstring: entropy([9/10, 1/10], base=2) = 0.46899559358928117
    assert il.entropy([0.9, 0.1], base=2) == pytest.approx(0.46899559358928117, rel=1e-12)
    assert il.entropy([0.9, 0.1], base=10) == pytest.approx(0.46899559358928117 * math.log10(2), rel=1e-12)


@pytest.mark.parametrize("base", [0, -2, 1, 1.0, float("nan"), float("inf"), "bit", True, [2]])
def test_a_bad_base_is_refused_naming_it(base) -> None:
    for call in (lambda: il.entropy([0.5, 0.5], base=base),
                 lambda: il.estimate_entropy([0, 1, 0, 1], base=base),
                 lambda: il.kl_divergence([0.5, 0.5], [0.9, 0.1], base=base)):
        with pytest.raises(InfoLensError, match=r"The 'base' parameter of \w+ must be a logarithm base"):
            call()


def test_units_and_base_must_agree() -> None:
    with pytest.raises(InfoLensError, match="The 'units' parameter of entropy must be left at 'bits'"):
        il.entropy([0.5, 0.5], units="nats", base=10)
    assert il.entropy([0.5, 0.5], units="nats", base="nats") == pytest.approx(LN2)


# ----------------------------------------------------------------------------- string labels
def test_string_labels_are_symbols() -> None:
    # pyitlib, pyitlib/discrete_random_variable.py docstring (entropy(['a', 'b', 'a', 'b']) = 1 bit
    # by its default ML estimator) and infomeasure's entropy(..., approach="discrete")
    assert il.estimate_entropy(["a", "b", "a", "b"], method="plugin").value == pytest.approx(1.0)
    assert il.estimate_entropy(np.array([b"x", b"y", b"y", b"y"]), method="plugin").value == \
        pytest.approx(il.entropy([0.25, 0.75]))
    objects = np.array(["cat", "dog", "cat", "emu"], dtype=object)
    assert il.estimate_entropy(objects, method="plugin").value == pytest.approx(1.5)
    # the codes are those of np.unique: the same estimate as the integer labels, for any method
    words = ["b", "a", "c", "a", "b", "b", "c", "a"]
    ints = np.unique(words, return_inverse=True)[1]
    for method in ("plugin", "miller_madow", "chao_shen", "nsb"):
        assert il.estimate_entropy(words, method=method).value == \
            il.estimate_entropy(ints, method=method).value
    assert il.estimate_mi(words, words, method="plugin").value == pytest.approx(
        il.estimate_entropy(words, method="plugin").value)
    assert il.estimate_entropy(words).method == "miller_madow"  # strings are discrete under auto


def test_labels_of_mixed_types_are_refused() -> None:
    with pytest.raises(InfoLensError, match="The 'x' parameter of estimate_entropy must be"):
        il.estimate_entropy(np.array(["a", 1, 2.5], dtype=object))


# ----------------------------------------------------------------------------- weighted JSD
def test_weighted_jensen_shannon_of_several_distributions() -> None:
    # dit, dit/divergences/tests/test_jensen_shannon_divergence.py, test_jsd4: d1 = "AB" and
    # d2 = "BC", each uniform, weights [0.25, 0.75]: 0.40563906222956625 bits
    d1, d2 = [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]
    assert il.js_divergence([d1, d2], weights=[0.25, 0.75]) == pytest.approx(0.40563906222956625, abs=1e-12)
    assert il.js_divergence(d1, d2, weights=[0.25, 0.75]) == pytest.approx(0.40563906222956625, abs=1e-12)
    # test_jsd2 / test_jsd3 (equal weights): half-overlapping 0.5 bit, disjoint 1 bit
    assert il.js_divergence([d1, d2]) == pytest.approx(0.5, abs=1e-12)
    assert il.js_divergence([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]]) == pytest.approx(1.0, abs=1e-12)
    # closed form: k disjoint distributions with weights w give H(w)
    w = [0.5, 0.25, 0.25]
    assert il.js_divergence(np.eye(3), weights=w, units="nats") == pytest.approx(il.entropy(w, units="nats"))
    # the two-argument call is unchanged: KL(p||m)/2 + KL(q||m)/2
    p, q = np.array([0.1, 0.6, 0.3]), np.array([0.5, 0.25, 0.25])
    m = (p + q) / 2
    expected = (il.kl_divergence(p, m) + il.kl_divergence(q, m)) / 2
    assert il.js_divergence(p, q) == pytest.approx(expected, rel=1e-12)
    assert il.js_divergence(p, q, "nats") == pytest.approx(expected * LN2, rel=1e-12)


def test_weighted_jsd_keeps_autograd() -> None:
    torch = pytest.importorskip("torch")
    dists = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], dtype=torch.float64, requires_grad=True)
    value = il.js_divergence(dists, weights=[0.25, 0.75])
    value.backward()
    assert float(value) == pytest.approx(0.40563906222956625) and dists.grad is not None


@pytest.mark.parametrize("weights", [[0.5, 0.6], [-0.25, 1.25], [1.0], [0.1, 0.6, 0.3], [0.5, float("nan")]])
def test_bad_weights_are_refused_naming_them(weights) -> None:
    # dit test_jsd5: more weights than distributions is an error
    with pytest.raises(InfoLensError, match="'weights' parameter of js_divergence must be 2 non-negative"):
        il.js_divergence([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], weights=weights)


# ----------------------------------------------------------------------------- NSB with K
def test_nsb_with_a_known_alphabet_size() -> None:
    # infomeasure, tests/.../test_nsb.py, test_nsb_k_parameter_functional_api: data [1, 1, 2, 2, 3]
    # (3 observed symbols): K=4 and K=10 give different estimates, each unlike the default
    data = [1, 1, 2, 2, 3]
    default = il.estimate_entropy(data, method="nsb").value
    k3, k4, k10 = (il.estimate_entropy(data, method="nsb", K=k).value for k in (3, 4, 10))
    assert k3 == default  # K = the observed symbols is the default
    assert default < k4 < k10 < math.log2(10)  # unseen symbols raise the estimate, below log K
    # closed form: many samples of 8 equiprobable symbols, K = 8 known: H = 3 bits
    x = np.random.default_rng(3).integers(0, 8, 4000)
    assert il.estimate_entropy(x, method="nsb", K=8).value == pytest.approx(3.0, abs=0.01)
    # K names a 16-symbol alphabet of which 8 are seen: the posterior still says about 3 bits
    assert il.estimate_entropy(x, method="nsb", K=16).value == pytest.approx(3.0, abs=0.02)


def test_an_alphabet_size_below_the_observed_symbols_is_refused() -> None:
    with pytest.raises(InfoLensError, match=r"The 'K' parameter of estimate_entropy must be an int >= "
                                            r"the 5 distinct symbols observed in 'x'. Got 4 instead"):
        il.estimate_entropy([1, 2, 3, 4, 5, 1], method="nsb", K=4)
    with pytest.raises(InfoLensError, match="The 'K' parameter of estimate_mi must be None"):
        il.estimate_mi([1, 2, 1, 2], [1, 2, 2, 1], method="nsb", K=4)


# ----------------------------------------------------------------------------- H(X|Y), H(p, q), KL of samples
def test_conditional_entropy_from_samples() -> None:
    # pyitlib, pyitlib/discrete_random_variable.py, entropy_conditional docstring: X = [1,1,2,2],
    # Y = [1,2,1,2] (independent) gives H(X|Y) = 1 bit; Y = X gives 0
    x, y = [1, 1, 2, 2], [1, 2, 1, 2]
    with pytest.warns(InfoLensWarning, match="undersampled"):
        est = il.estimate_conditional_entropy(x, y, method="plugin")
    assert (est.value, est.quantity, est.units) == (pytest.approx(1.0), "conditional_entropy", "bits")
    assert il.estimate_conditional_entropy(x, x, method="plugin").value == pytest.approx(0.0, abs=1e-15)
    # closed form on a larger sample: plug-in H(X|Y) of the empirical joint table
    rng = np.random.default_rng(4)
    xs, ys = rng.integers(0, 4, 500), rng.integers(0, 3, 500)
    table = np.histogram2d(xs, ys, bins=(4, 3))[0] / 500
    est = il.estimate_conditional_entropy(xs, ys, method="plugin", units="nats")
    assert est.value == pytest.approx(il.conditional_entropy(table, units="nats"), rel=1e-12)
    assert il.estimate_conditional_entropy(["a", "b", "a", "b"], ["u", "u", "v", "v"],
                                           method="plugin").value == pytest.approx(1.0)
    with pytest.raises(InfoLensError, match="The 'method' parameter of estimate_conditional_entropy"):
        il.estimate_conditional_entropy(rng.normal(size=20), rng.normal(size=20))


def test_plugin_cross_entropy_and_kl_from_two_samples() -> None:
    # pyitlib divergence_kullbackleibler / entropy_cross and infomeasure kld (discrete): the plug-in
    # answer equals the measure on the two empirical tables
    x, y = ["a", "a", "b", "b"], ["a", "b", "b", "b"]
    kl = il.estimate_kl_divergence(x, y)
    assert (kl.value, kl.method, kl.quantity) == (pytest.approx(il.kl_divergence([0.5, 0.5], [0.25, 0.75])),
                                                  "plugin", "kl_divergence")
    ce = il.estimate_cross_entropy(x, y, units="nats")
    assert ce.value == pytest.approx(il.cross_entropy([0.5, 0.5], [0.25, 0.75], units="nats"))
    assert il.estimate_kl_divergence([0, 1, 1], [1, 1, 0, 0]).value == pytest.approx(
        il.kl_divergence([1 / 3, 2 / 3], [0.5, 0.5]))
    with pytest.warns(InfoLensWarning, match="never occur in 'y'"):
        unseen = il.estimate_kl_divergence(["a", "c"], ["a", "b"])  # coded jointly: c is not b
    assert unseen.value == math.inf and "unseen_in_y" in unseen.flags


def _npeet_kldiv(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """NPEET, npeet/entropy_estimators.py, kldiv (nats), re-expressed: const + d * mean log ratio."""
    from scipy.spatial import cKDTree

    n, d = x.shape
    nn = cKDTree(x).query(x, k + 1, p=np.inf)[0][:, k]
    nnp = cKDTree(y).query(x, k, p=np.inf)[0][:, k - 1]
    return math.log(len(y)) - math.log(n - 1) + d * (np.log(nnp).mean() - np.log(nn).mean())


def test_knn_kl_divergence_matches_npeet_and_the_gaussian_closed_form() -> None:
    # one estimate at n = 2000, m = 3000 has a spread of about 0.04 nats (30 seeds): the closed
    # forms are checked on the mean of 5 seeds (spread ~0.02) within 0.06 nats
    kl_1d, kl_2d, ce_2d = [], [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        x, y = rng.normal(size=(2000, 1)), rng.normal(1.0, 1.0, size=(3000, 1))
        est = il.estimate_kl_divergence(x, y, units="nats")
        assert est.method == "knn" and est.value == pytest.approx(_npeet_kldiv(x, y), rel=1e-12)
        x2, wide = rng.normal(size=(2000, 2)), rng.normal(0.0, 2.0, size=(3000, 2))
        kl = il.estimate_kl_divergence(x2, wide, units="nats")
        assert kl.value == pytest.approx(_npeet_kldiv(x2, wide), rel=1e-12)
        kl_1d.append(est.value)
        kl_2d.append(kl.value)
        ce_2d.append(il.estimate_cross_entropy(x2, wide, units="nats").value)
    assert np.mean(kl_1d) == pytest.approx(0.5, abs=0.06)  # KL(N(0,1) || N(1,1)) = 1/2 nat
    assert np.mean(kl_2d) == pytest.approx(2 * (LN2 + 1 / 8 - 0.5), abs=0.06)  # N(0, I) || N(0, 4 I)
    assert np.mean(ce_2d) == pytest.approx(2 * (0.5 * math.log(2 * math.pi * 4) + 1 / 8), abs=0.06)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 1)), rng.normal(size=(50, 1))
    with pytest.raises(InfoLensError, match="'x' parameter of estimate_kl_divergence must be continuous"):
        il.estimate_kl_divergence(np.repeat(x[:10], 4, axis=0), y, method="knn")
    with pytest.raises(InfoLensError, match="'y' parameter of estimate_kl_divergence must be samples with"):
        il.estimate_kl_divergence(x, rng.normal(size=(50, 2)))


# ----------------------------------------------------------------------------- discrete_features
def test_discrete_features_says_which_variables_are_discrete() -> None:
    # scikit-learn, sklearn/feature_selection/tests/test_mutual_info.py,
    # test_mutual_info_regression_X_int_dtype: integer-valued continuous features give the same
    # MI as their float copy (independent draws: true MI 0)
    rng = np.random.RandomState(0)
    x, y = rng.randint(100, size=(100, 1)), rng.randint(100, size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties and a small N: auto says it has not converged
        told = il.estimate_mi(x, y, units="nats", discrete_features=False)
        floats = il.estimate_mi(x.astype(float), y.astype(float), units="nats")
        by_dtype = il.estimate_mi(x, y, units="nats")
    # (100 samples on 100 values: the k-NN estimate of 0 is noisy, 0.24 nats here, not 3.6)
    assert told.value == floats.value and abs(told.value) < 0.5 and told.method == "auto"
    assert by_dtype.method == "miller_madow" and by_dtype.value > 3  # by dtype, as before
    # a float label told discrete: auto picks the mixed estimator, as for an integer label
    labels = rng.randint(3, size=300)
    z = labels + rng.normal(size=300)
    named = il.estimate_mi(z, labels.astype(float), discrete_features=["y"])
    assert named.method == "mixed"
    assert named.value == il.estimate_mi(z, labels, method="mixed").value
    assert il.estimate_mi(z, labels.astype(float), discrete_features=[False, True]).value == named.value
    assert il.estimate_mi(z, labels.astype(float), discrete_features=[1]).value == named.value


@pytest.mark.parametrize("bad", [["w"], [2], "z", 3.5, [0, "q"]])
def test_discrete_features_naming_a_missing_variable_is_refused(bad) -> None:
    with pytest.raises(InfoLensError, match=r"The 'discrete_features' parameter of estimate_mi must be "
                                            r"'auto', a bool, or the discrete variables among 'x', 'y'"):
        il.estimate_mi([0.1, 0.2, 0.3, 0.4], [1, 2, 1, 2], discrete_features=bad)


# ----------------------------------------------------------------------------- docs/coming-from.md
COMING_FROM = Path(__file__).resolve().parents[1] / "docs" / "coming-from.md"


@pytest.fixture(scope="module")
def coming_from() -> dict:
    """The namespace after every ```python block of docs/coming-from.md ran, in order."""
    namespace: dict = {}
    blocks = re.findall(r"```python\n(.*?)```", COMING_FROM.read_text(), re.S)
    assert len(blocks) == 7
    for i, block in enumerate(blocks):
        exec(compile(block, f"coming-from.md python block {i + 1}", "exec"), namespace)  # noqa: S102 - our docs
    return namespace


def test_the_coming_from_page_holds(coming_from) -> None:
    ns = coming_from
    assert ns["h_bits"] == pytest.approx(0.46899559358928117, rel=1e-12)  # scipy's docstring example
    assert ns["h_dits"] == pytest.approx(0.46899559358928117 * math.log10(2), rel=1e-12)
    assert round(ns["h_dits"], 4) == 0.1412 and round(ns["h_nats"], 4) == 0.3251
    assert ns["h_labels"].value == pytest.approx(1.0) and ns["h_labels"].units == "bits"
    assert round(ns["h_mm"].value, 2) == 1.18 and ns["h_mm"].method == "miller_madow"
    assert ns["copy"].value == pytest.approx(math.log(4), abs=0.01)
    assert ns["mixed"].method == "mixed" and ns["mixed"].value == pytest.approx(math.log(4), abs=0.05)
    assert round(ns["kl_table"], 4) == round(ns["kl_labels"].value, 4) == 0.2075
    assert ns["kl_knn"].value == pytest.approx(0.5, abs=0.15)  # one draw: spread 0.04 nats
    assert ns["jsd"] == pytest.approx(0.5) and round(ns["jsd_weighted"], 4) == 0.4056
    assert ns["h_table"] == pytest.approx(1.0) and ns["h_samples"].value == pytest.approx(1.0)
    # ennemi, tests/unit/test_entropy_estimators.py, test_irrelevant_condition: ln 2 within 0.02
    assert ns["cmi_semi"].method == "ksg_discrete" and round(ns["cmi_semi"].value, 2) == 0.70
    assert ns["cmi_semi"].value == pytest.approx(math.log(2), abs=0.02)
    assert ns["cmi_told"].value == ns["cmi_semi"].value


def test_the_cli_takes_a_base(tmp_path) -> None:
    from click.testing import CliRunner

    from infolens.cli import main

    np.save(tmp_path / "x.npy", np.arange(100) % 10)  # uniform on 10 symbols: 1 dit
    ok = CliRunner().invoke(main, ["estimate", str(tmp_path / "x.npy"), "--method", "plugin", "--base", "10"])
    assert ok.exit_code == 0, ok.output
    payload = json.loads(ok.output)
    assert payload["value"] == pytest.approx(1.0) and payload["units"] == "dits"
    nsb = CliRunner().invoke(main, ["estimate", str(tmp_path / "x.npy"), "--method", "nsb", "--param", "K=9"])
    assert nsb.exit_code != 0
    assert "The 'K' parameter of estimate_entropy must be an int >= the 10" in nsb.output
    bad = CliRunner().invoke(main, ["estimate", str(tmp_path / "x.npy"), "--base", "1"])
    assert bad.exit_code != 0
    assert "The 'base' parameter of estimate_entropy must be a logarithm base" in bad.output
