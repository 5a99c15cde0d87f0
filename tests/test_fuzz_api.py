"""Property-based fuzzing of the public Python API: one answer to every bad input.

Every call either returns a finite value that is right (checked against a closed form or an
invariant) or raises ``il.InfoLensError`` naming the parameter at fault; any other exception, a
NaN or inf, a wrong value or a call over 5 s fails (the oracle is ``fuzz_cases.run``). The
examples are bounded (profile ``infolens-fuzz`` in ``conftest.py``); ``INFOLENS_FUZZ=long`` runs
the longer profile. ``python tests/fuzz_census.py`` runs every case once and counts outcomes.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fuzz_cases
import infolens as il
from conftest import FUZZ_PROFILE

FUZZ = settings.get_profile(FUZZ_PROFILE)


@functools.cache
def _cases_by_family() -> dict[str, list[fuzz_cases.Case]]:
    families: dict[str, list[fuzz_cases.Case]] = collections.defaultdict(list)
    for case in fuzz_cases.all_cases(seed=1):
        families[case.target.split("[")[0].split(".")[0]].append(case)
    return dict(families)


FAMILIES = ["entropy", "joint_entropy", "conditional_entropy", "mutual_information",
            "conditional_mutual_information", "kl_divergence", "cross_entropy", "js_divergence",
            "self_information", "estimate_entropy", "estimate_mi", "estimate_cmi",
            "InformationPlane", "capture", "list_layers", "probe_layers", "v_information", "embed",
            "ib_curve",
            "iterative_ib", "deterministic_ib", "VIBLoss", "NonlinearIBLoss", "InfoNCELoss",
            "cross_entropy_logits", "correlated_gaussians", "split", "mnist1d", "digits", "load",
            "Schedule"]


@pytest.mark.parametrize("family", FAMILIES)
@settings(FUZZ, max_examples=max(4, FUZZ.max_examples // 6))
@given(data=st.data())
def test_every_bad_input_gets_a_value_or_a_clear_error(family: str, data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(_cases_by_family()[family]), label="case")
    outcome = fuzz_cases.run(case)
    assert outcome.kind in ("ok", "error", "signature"), f"{case.target} {case.kind}: {outcome.detail}"


def test_the_census_covers_every_public_function() -> None:
    assert set(FAMILIES) <= set(_cases_by_family())
    methods = {c.target.split("[")[1].rstrip("]") for c in fuzz_cases.all_cases()
               if c.target.startswith("estimate_")}
    assert methods == set(il.METHODS)


# ------------------------------------------------------------------------------- measures
probabilities = hnp.arrays(np.float64, st.integers(1, 8),
                           elements=st.one_of(st.just(0.0), st.floats(1e-300, 1e300)))


@FUZZ
@given(weights=probabilities)
def test_entropy_of_any_nonnegative_table_is_bounded_and_exact(weights: np.ndarray) -> None:
    assume(weights.max() > 0)
    p = weights / weights.max()
    p = p / p.sum()
    nonzero = p[p > 0]
    expected = float(-np.sum(nonzero * np.log2(nonzero)))
    value = il.entropy(weights, normalize=True)
    assert value == pytest.approx(expected, abs=1e-9)
    assert -1e-12 <= value <= math.log2(len(weights)) + 1e-9


# zeros and weights within 12 decades: beyond, a ratio p/q overflows the gradient, not a zero
moderate = hnp.arrays(np.float64, st.integers(1, 8),
                      elements=st.one_of(st.just(0.0), st.floats(1e-6, 1e6)))


@FUZZ
@given(weights=moderate, other=moderate)
def test_divergences_have_finite_gradients_at_zero_probabilities(weights: np.ndarray,
                                                                 other: np.ndarray) -> None:
    n = min(len(weights), len(other))
    p_np, q_np = weights[:n], other[:n]
    assume(p_np.max() > 0 and q_np.max() > 0)
    p = torch.tensor(p_np / p_np.max(), requires_grad=True)
    q = torch.tensor(q_np / q_np.max(), requires_grad=True)
    for fn in (il.entropy, il.js_divergence, il.kl_divergence, il.cross_entropy):
        args = (p,) if fn is il.entropy else (p, q)
        value = fn(*args, normalize=True)
        if not math.isfinite(float(value)):  # KL, cross-entropy: +inf where q = 0 < p
            assert fn in (il.kl_divergence, il.cross_entropy)
            assert bool(((q_np == 0) & (p_np > 0)).any())
            continue
        grads = torch.autograd.grad(value, [t for t in args])
        assert all(bool(torch.isfinite(g).all()) for g in grads), (fn.__name__, grads)


def test_measure_gradients_match_finite_differences_inside_the_simplex() -> None:
    p = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64, requires_grad=True)
    table = torch.tensor([[0.3, 0.2], [0.1, 0.4]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: il.entropy(a, normalize=True), (p,))
    assert torch.autograd.gradcheck(lambda a, b: il.kl_divergence(a, b, normalize=True), (p, q))
    assert torch.autograd.gradcheck(lambda a, b: il.js_divergence(a, b, normalize=True), (p, q))
    assert torch.autograd.gradcheck(lambda t: il.mutual_information(t, normalize=True), (table,))


def test_entropy_gradient_at_a_one_hot_is_finite() -> None:
    p = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64, requires_grad=True)
    il.entropy(p).backward()
    assert torch.equal(p.grad, torch.tensor([0.0, -1.0 / math.log(2), 0.0], dtype=torch.float64))


# ----------------------------------------------------------------------------- estimators
labels = st.lists(st.integers(-2**70, 2**70), min_size=1, max_size=4, unique=True)


@FUZZ
@given(symbols=labels, data=st.data())
def test_discrete_entropy_counts_integers_of_any_size_exactly(symbols: list[int],
                                                             data: st.DataObject) -> None:
    picks = data.draw(st.lists(st.sampled_from(symbols), min_size=2, max_size=60))
    counts = np.array(list(collections.Counter(picks).values()), dtype=np.float64)
    p = counts / counts.sum()
    expected = float(-np.sum(p * np.log2(p)))
    est = il.estimate_entropy(np.array(picks, dtype=object) if max(map(abs, picks)) >= 2**63
                              else np.array(picks), method="plugin")
    assert est.value == pytest.approx(expected, abs=1e-12)


@settings(FUZZ, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(n=st.integers(2, 30), k_x=st.integers(1, 6), k_y=st.integers(1, 6),
       method=st.sampled_from(["plugin", "miller_madow", "chao_shen"]), seed=st.integers(0, 2**32 - 1))
def test_discrete_mi_above_its_cap_or_undersampled_is_flagged(n: int, k_x: int, k_y: int,
                                                              method: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, k_x, n), rng.integers(0, k_y, n)
    with pytest.warns() if n < 2 * len(set(zip(x, y, strict=True))) else contextlib.nullcontext():
        est = il.estimate_mi(x, y, method=method, units="nats")
    plugin_cap = min(_plugin_entropy(x), _plugin_entropy(y))
    if est.value > plugin_cap + 1e-9:  # above what the data show: always said
        assert "above_cap" in est.flags or "undersampled" in est.flags, est


def _plugin_entropy(values: np.ndarray) -> float:
    counts = np.bincount(values)
    p = counts[counts > 0] / len(values)
    return float(-np.sum(p * np.log(p)))


@FUZZ
@given(exponent=st.integers(-1000, 1000), seed=st.integers(0, 2**32 - 1),
       method=st.sampled_from(["binning", "adaptive_binning"]))
def test_binned_entropy_is_invariant_to_any_exact_rescaling(exponent: int, seed: int,
                                                            method: str) -> None:
    x = np.random.default_rng(seed).standard_normal((60, 2))
    scaled = np.ldexp(x, exponent)  # x * 2**e exactly, 1e-300 to 1e300
    assume(np.isfinite(scaled).all() and (np.abs(scaled[x != 0]) > 0).all())
    assume(np.array_equal(np.ldexp(scaled, -exponent), x))  # no subnormal rounding
    expected = il.estimate_entropy(x, method=method, bins=10).value
    assert il.estimate_entropy(scaled, method=method, bins=10).value == pytest.approx(expected, abs=1e-12)


@FUZZ
@given(exponent=st.integers(-1000, 1000), seed=st.integers(0, 2**32 - 1))
def test_kde_plane_information_stays_within_zero_and_log_n_at_any_scale(exponent: int,
                                                                        seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((30, 3))
    acts = np.ldexp(x, exponent)
    assume(np.isfinite(acts).all())
    plane = il.InformationPlane(np.zeros((30, 2), np.float32), np.arange(30) % 2, estimator="kde")
    records = plane.record_activations({"layer": acts}, 0, )
    for record in records:
        assert -1e-9 <= record["value"] <= math.log2(30) + 1e-9, record


# ----------------------------------------------------------------------------- parameters
bad_seeds = st.one_of(st.text(max_size=3), st.floats(allow_nan=True), st.integers(max_value=-1),
                      st.booleans(), st.integers(min_value=2**32), st.lists(st.integers(), max_size=2))


@FUZZ
@given(seed=bad_seeds, target=st.sampled_from(["estimate", "ib_curve", "gaussians", "embed", "split"]))
def test_a_bad_seed_is_refused_by_name(seed: object, target: str) -> None:
    x = np.random.default_rng(0).standard_normal((20, 2))
    calls = {
        "estimate": lambda: il.estimate_mi(x[:, 0], x[:, 1], random_state=seed, ci=0.9, n_resamples=10),
        "ib_curve": lambda: il.bottleneck.ib_curve([[0.3, 0.2], [0.1, 0.4]], [1.0], seed=seed),
        "gaussians": lambda: il.data.correlated_gaussians(10, seed=seed),
        "embed": lambda: il.embed(x, "pca", seed=seed),
        "split": lambda: il.data.split(x, np.arange(20) % 2, seed=seed),
    }
    with pytest.raises(il.InfoLensError, match=r"The '(seed|random_state)' parameter of \S+ must be an int"):
        calls[target]()
