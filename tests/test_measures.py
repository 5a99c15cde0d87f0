"""Exact measures: textbook values, identities as properties, autograd, units and bad input.

Identities hold to floating-point rounding, so they are checked with ``ATOL = 1e-9`` bits on
tables of at most 6 x 6 x 4 entries (a sum of ~150 terms of size <= 1 loses far less than that).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import infolens as il
from infolens import InfoLensError

ATOL = 1e-9
LN2 = math.log(2.0)


# ----------------------------------------------------------------------------- strategies

def _normalised(weights: np.ndarray) -> np.ndarray:
    weights = weights.copy()
    if weights.sum() <= 0:
        weights.flat[0] = 1.0
    return weights / weights.sum()


def tables(ndim: int, max_side: int = 5, min_side: int = 1):
    """Random joint probability tables (with zeros) of ``ndim`` dimensions."""
    shapes = hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=min_side, max_side=max_side)
    # weights in {0} U [1e-3, 1]: exact zeros exercise 0 log 0 = 0
    weight = st.one_of(st.just(0.0), st.floats(1e-3, 1.0))
    return hnp.arrays(np.float64, shapes, elements=weight).map(_normalised)


def positive_vectors(size: int):
    return hnp.arrays(np.float64, size, elements=st.floats(1e-3, 1.0)).map(_normalised)


# ----------------------------------------------------------------------------- textbook values

def test_textbook_values(nx) -> None:
    assert nx.to_float(il.entropy(nx.array([0.5, 0.5]))) == pytest.approx(1.0, abs=1e-12)
    assert nx.to_float(il.entropy(nx.array([1.0, 0.0]))) == pytest.approx(0.0, abs=1e-12)
    # 50/50 contest: 1 bit; 99/1 contest: 0.0808 bits
    assert nx.to_float(il.entropy(nx.array([0.99, 0.01]))) == pytest.approx(0.0808, abs=5e-5)
    assert nx.to_float(il.entropy(nx.array([0.1, 0.3, 0.2, 0.4]))) == pytest.approx(1.846, abs=5e-4)
    assert float(il.self_information(nx.array(0.01))) == pytest.approx(6.644, abs=5e-4)
    assert nx.to_float(il.entropy(nx.array([0.25] * 4), units="nats")) == pytest.approx(math.log(4))


def test_self_information_scalar_and_vector() -> None:
    assert il.self_information(0.5) == 1.0
    assert il.self_information(1.0) == 0.0
    assert il.self_information(0.0) == math.inf
    np.testing.assert_allclose(il.self_information([0.5, 0.25, 0.125]), [1.0, 2.0, 3.0])
    assert il.self_information(math.exp(-2), units="nats") == pytest.approx(2.0)


def test_hand_computed_joint_measures(nx) -> None:
    # X = Y with p = (1/2, 1/4, 1/4): I = H(X) = 1.5 bits, H(X|Y) = 0
    pxy = nx.array(np.diag([0.5, 0.25, 0.25]))
    assert nx.to_float(il.mutual_information(pxy)) == pytest.approx(1.5)
    assert nx.to_float(il.conditional_entropy(pxy)) == pytest.approx(0.0, abs=1e-12)
    assert nx.to_float(il.joint_entropy(pxy)) == pytest.approx(1.5)
    # binary symmetric channel, crossover 0.1, uniform input: 1 - h(0.1) = 0.531 bits
    bsc = nx.array([[0.45, 0.05], [0.05, 0.45]])
    h01 = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))
    assert nx.to_float(il.mutual_information(bsc)) == pytest.approx(1 - h01, abs=1e-12)
    # KL([1/2, 1/2] || [9/10, 1/10]) = 1/2 log2(5/9) + 1/2 log2(5) = 0.7370 bits
    kl = nx.to_float(il.kl_divergence(nx.array([0.5, 0.5]), nx.array([0.9, 0.1])))
    assert kl == pytest.approx(0.5 * math.log2(5 / 9) + 0.5 * math.log2(5), abs=1e-12)
    # JS of disjoint supports is exactly 1 bit
    js = nx.to_float(il.js_divergence(nx.array([1.0, 0.0]), nx.array([0.0, 1.0])))
    assert js == pytest.approx(1.0, abs=1e-12)
    # XOR: Z = X xor Y with X, Y fair and independent: I(X;Y|Z) = 1 bit, I(X;Y) = 0
    pxyz = np.zeros((2, 2, 2))
    for a in range(2):
        for b in range(2):
            pxyz[a, b, a ^ b] = 0.25
    assert nx.to_float(il.conditional_mutual_information(nx.array(pxyz))) == pytest.approx(1.0)
    assert nx.to_float(il.mutual_information(nx.array(pxyz.sum(axis=2)))) == pytest.approx(0, abs=1e-12)


def test_units_bits_vs_nats(nx) -> None:
    pxy = nx.array([[0.4, 0.1], [0.1, 0.4]])
    bits = nx.to_float(il.mutual_information(pxy))
    nats = nx.to_float(il.mutual_information(pxy, units="nats"))
    assert bits == pytest.approx(0.278, abs=5e-4)
    assert nats == pytest.approx(bits * LN2, rel=1e-12)
    p, q = nx.array([0.2, 0.8]), nx.array([0.5, 0.5])
    for measure in (il.kl_divergence, il.cross_entropy, il.js_divergence):
        assert nx.to_float(measure(p, q, units="nats")) == pytest.approx(
            nx.to_float(measure(p, q)) * LN2, rel=1e-12)


def test_torch_keeps_dtype_device_and_graph() -> None:
    p = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float32, requires_grad=True)
    h = il.entropy(p)
    assert isinstance(h, torch.Tensor) and h.dtype == torch.float32 and h.device == p.device
    assert h.requires_grad
    # mixed inputs: a list and a tensor give a tensor
    kl = il.kl_divergence([0.5, 0.5], torch.tensor([0.9, 0.1], dtype=torch.float64))
    assert isinstance(kl, torch.Tensor)


# ----------------------------------------------------------------------------- identities

@given(tables(2))
def test_mutual_information_identities(pxy: np.ndarray) -> None:
    px, py = pxy.sum(axis=1), pxy.sum(axis=0)
    h_x, h_y = il.entropy(px), il.entropy(py)
    h_xy = il.joint_entropy(pxy)
    mi = il.mutual_information(pxy)
    assert mi >= -ATOL
    assert mi == pytest.approx(h_x - il.conditional_entropy(pxy), abs=ATOL)
    assert mi == pytest.approx(h_x + h_y - h_xy, abs=ATOL)
    # chain rule H(X, Y) = H(Y) + H(X | Y); symmetry I(X;Y) = I(Y;X)
    assert h_xy == pytest.approx(h_y + il.conditional_entropy(pxy), abs=ATOL)
    assert il.mutual_information(pxy.T) == pytest.approx(mi, abs=ATOL)
    assert mi <= min(h_x, h_y) + ATOL


@given(positive_vectors(st.integers(1, 6)), positive_vectors(st.integers(1, 6)))
def test_independent_tables_have_zero_mi(px: np.ndarray, py: np.ndarray) -> None:
    assert il.mutual_information(np.outer(px, py)) == pytest.approx(0.0, abs=ATOL)


@given(tables(3, max_side=4))
def test_chain_rules_in_three_variables(pxyz: np.ndarray) -> None:
    nx_, ny, nz = pxyz.shape
    # I(X; Y, Z) = I(X; Z) + I(X; Y | Z)
    i_x_yz = il.mutual_information(pxyz.reshape(nx_, ny * nz))
    i_x_z = il.mutual_information(pxyz.sum(axis=1))
    assert i_x_yz == pytest.approx(i_x_z + il.conditional_mutual_information(pxyz), abs=ATOL)
    assert il.conditional_mutual_information(pxyz) >= -ATOL
    # H(X, Y, Z) = H(X) + H(Y | X) + H(Z | X, Y)
    pyx = pxyz.sum(axis=2).T  # Y on axis 0, X on axis 1
    pz_xy = pxyz.reshape(nx_ * ny, nz).T  # Z on axis 0, (X, Y) on axis 1
    chain = (il.entropy(pxyz.sum(axis=(1, 2))) + il.conditional_entropy(pyx)
             + il.conditional_entropy(pz_xy))
    assert il.joint_entropy(pxyz) == pytest.approx(chain, abs=ATOL)


@given(positive_vectors(st.integers(1, 5)),
       hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)),
                  elements=st.floats(0.0, 1.0)),
       hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)),
                  elements=st.floats(0.0, 1.0)))
def test_data_processing_inequality(px: np.ndarray, channel_xy: np.ndarray,
                                    channel_yz: np.ndarray) -> None:
    """X -> Y -> Z Markov chain: I(X;Z) <= I(X;Y), I(X;Z) <= I(Y;Z) and I(X;Z|Y) = 0."""
    k = len(px)
    channel_xy = np.resize(channel_xy, (k, channel_xy.shape[1])) + 1e-3
    channel_xy /= channel_xy.sum(axis=1, keepdims=True)  # p(y | x), rows sum to 1
    m = channel_xy.shape[1]
    channel_yz = np.resize(channel_yz, (m, channel_yz.shape[1])) + 1e-3
    channel_yz /= channel_yz.sum(axis=1, keepdims=True)  # p(z | y)
    pxyz = px[:, None, None] * channel_xy[:, :, None] * channel_yz[None, :, :]
    pxyz /= pxyz.sum()
    i_xy = il.mutual_information(pxyz.sum(axis=2))
    i_yz = il.mutual_information(pxyz.sum(axis=0))
    i_xz = il.mutual_information(pxyz.sum(axis=1))
    assert i_xz <= i_xy + ATOL
    assert i_xz <= i_yz + ATOL
    # I(X; Z | Y) = 0: put Y on the conditioning axis
    assert il.conditional_mutual_information(pxyz.transpose(0, 2, 1)) == pytest.approx(0, abs=ATOL)


@given(tables(2, min_side=2), st.randoms(use_true_random=False))
def test_invariance_under_relabelling(pxy: np.ndarray, rnd) -> None:
    rows = list(range(pxy.shape[0]))
    cols = list(range(pxy.shape[1]))
    rnd.shuffle(rows)
    rnd.shuffle(cols)
    relabelled = pxy[rows][:, cols]
    assert il.mutual_information(relabelled) == pytest.approx(il.mutual_information(pxy), abs=ATOL)
    assert il.joint_entropy(relabelled) == pytest.approx(il.joint_entropy(pxy), abs=ATOL)
    assert il.entropy(relabelled.sum(axis=1)) == pytest.approx(il.entropy(pxy.sum(axis=1)), abs=ATOL)


@given(st.integers(1, 6).flatmap(lambda k: st.tuples(tables(1, k, k), positive_vectors(k))))
def test_divergence_identities(pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, q = pair
    p = p.reshape(-1)
    kl = il.kl_divergence(p, q)
    assert kl >= -ATOL  # Gibbs' inequality
    assert il.cross_entropy(p, q) == pytest.approx(il.entropy(p) + kl, abs=ATOL)
    assert il.kl_divergence(p, p) == pytest.approx(0.0, abs=ATOL)
    js = il.js_divergence(p, q)
    assert -ATOL <= js <= 1.0 + ATOL
    assert js == pytest.approx(il.js_divergence(q, p), abs=ATOL)
    assert il.js_divergence(p, q, units="nats") <= LN2 + ATOL


def test_kl_infinite_where_q_vanishes_and_finite_where_p_does(nx) -> None:
    assert nx.to_float(il.kl_divergence(nx.array([0.5, 0.5]), nx.array([1.0, 0.0]))) == math.inf
    assert nx.to_float(il.cross_entropy(nx.array([0.5, 0.5]), nx.array([1.0, 0.0]))) == math.inf
    # p = 0 < q contributes nothing: KL([1, 0] || [1/2, 1/2]) = 1 bit
    assert nx.to_float(il.kl_divergence(nx.array([1.0, 0.0]), nx.array([0.5, 0.5]))) == pytest.approx(1)


# ----------------------------------------------------------------------------- autograd

def test_entropy_gradient_matches_closed_form() -> None:
    p = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64, requires_grad=True)
    il.entropy(p, units="nats").backward()
    # d/dp_i of -sum p log p (p unconstrained) is -(log p_i + 1)
    torch.testing.assert_close(p.grad, -(torch.log(p.detach()) + 1), rtol=0, atol=1e-12)


def test_gradcheck_entropy_and_mi() -> None:
    """Gradients of entropy / MI / KL / JS through a softmax match finite differences (float64)."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True)
    joint = torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    other = torch.randn(5, generator=gen, dtype=torch.float64)

    def as_table(z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z.reshape(-1), dim=0).reshape(z.shape)

    assert torch.autograd.gradcheck(lambda z: il.entropy(as_table(z)), (logits,))
    assert torch.autograd.gradcheck(lambda z: il.mutual_information(as_table(z)), (joint,))
    assert torch.autograd.gradcheck(lambda z: il.conditional_entropy(as_table(z)), (joint,))
    q = torch.softmax(other, dim=0)
    assert torch.autograd.gradcheck(lambda z: il.kl_divergence(as_table(z), q), (logits,))
    assert torch.autograd.gradcheck(lambda z: il.js_divergence(as_table(z), q), (logits,))
    # and through normalize=True on unnormalised positive weights
    weights = torch.rand(4, generator=gen, dtype=torch.float64).add_(0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda w: il.entropy(w, normalize=True), (weights,))


def test_mi_gradient_is_finite_and_agrees_with_numpy() -> None:
    pxy = np.array([[0.3, 0.1], [0.05, 0.55]])
    t = torch.tensor(pxy, requires_grad=True)
    mi = il.mutual_information(t, units="nats")
    mi.backward()
    assert torch.isfinite(t.grad).all()
    assert float(mi.detach()) == pytest.approx(il.mutual_information(pxy, units="nats"), abs=1e-14)
    # dI/dp(x,y) for an unconstrained table is log p(x,y) / (p(x) p(y)) - 1
    expected = np.log(pxy / np.outer(pxy.sum(1), pxy.sum(0))) - 1
    np.testing.assert_allclose(t.grad.numpy(), expected, atol=1e-12)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(("call", "match"), [
    (lambda: il.entropy([0.5, -0.1, 0.6]), r"'p' parameter of entropy must be non-negative. "
                                             r"Got minimum entry -0.1"),
    (lambda: il.entropy([0.5, float("nan")]), r"'p' parameter of entropy must be finite.*"
                                                r"Got 1 non-finite entries"),
    (lambda: il.entropy([0.5, float("inf")]), r"'p' .*finite"),
    (lambda: il.entropy([0.5, 0.6]), r"'p' .*summing to 1.*normalize=True.*Got sum 1.1 instead"),
    (lambda: il.entropy([[0.5, 0.5]]), r"'p' parameter of entropy must be a 1-D probability table"
                                         r". Got a 2-D array of shape \(1, 2\)"),
    (lambda: il.entropy([]), r"'p' .*non-empty"),
    (lambda: il.entropy(["a", "b"]), r"'p' .*real numeric"),
    (lambda: il.entropy(np.array([0.5 + 0j, 0.5])), r"'p' .*real numeric"),
    (lambda: il.entropy([0.5, 0.5], units="bytes"), r"'units' parameter of entropy must be one of "
                                                      r"'bits', 'nats'. Got 'bytes' instead"),
    (lambda: il.mutual_information([0.5, 0.5]), r"'pxy' parameter of mutual_information must be a "
                                                  r"2-D probability table. Got a 1-D array"),
    (lambda: il.conditional_mutual_information(np.full((2, 2), 0.25)), r"'pxyz' .*3-D"),
    (lambda: il.joint_entropy([1.0]), r"'pxy' .*2-D"),
    (lambda: il.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5]), r"'q' parameter of kl_divergence must be"
                                                              r" of the same shape as 'p' \(2,\)"),
    (lambda: il.js_divergence([0.5, 0.5], [0.2, 0.9]), r"'q' .*summing to 1"),
    (lambda: il.self_information(1.5), r"'p' parameter of self_information must be probabilities"),
    (lambda: il.self_information(-0.1), r"'p' .*probabilities in \[0, 1\]"),
    (lambda: il.cross_entropy(torch.tensor([0.5, 0.5]), [0.5, 0.5], units=2), r"'units'"),
])
def test_bad_input_names_the_argument(call, match: str) -> None:
    with pytest.raises(InfoLensError, match=match):
        call()


def test_normalize_rescales(nx) -> None:
    weights = nx.array([1.0, 3.0])
    expected = il.entropy([0.25, 0.75])
    assert nx.to_float(il.entropy(weights, normalize=True)) == pytest.approx(expected, abs=1e-12)
    counts = nx.array([[2.0, 0.0], [0.0, 2.0]])
    assert nx.to_float(il.mutual_information(counts, normalize=True)) == pytest.approx(1.0)
    assert nx.to_float(il.kl_divergence(nx.array([1.0, 1.0]), nx.array([1.0, 3.0]), normalize=True)
                       ) == pytest.approx(il.kl_divergence([0.5, 0.5], [0.25, 0.75]), abs=1e-12)
    with pytest.raises(InfoLensError, match=r"'p' .*positive sum. Got sum 0.0"):
        il.entropy(nx.array([0.0, 0.0]), normalize=True)


def test_sum_tolerance_accepts_rounding() -> None:
    p = np.full(10, 0.1)  # sums to 0.9999999999999999
    assert il.entropy(p) == pytest.approx(math.log2(10))
