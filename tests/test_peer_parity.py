"""What users of other information-theory libraries expect, answered by infolens (issue 22).

Each expected value comes from a closed form or from the peer's own test or documented example,
named in the test: project, file, case. Peers are not imported (not dependencies); their
numbers are written here with the peer's tolerance.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import infolens as il
from infolens import InfoLensWarning

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
