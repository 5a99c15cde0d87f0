"""Matrix-based Renyi alpha-entropy and MI (Sanchez Giraldo et al. 2014; Yu et al. 2019): closed forms,
invariances, numpy = torch, batches, the plane entry, bad input."""

import math

import numpy as np
import pytest
import torch

import infolens as il


def _two_point_entropy(distance: float, sigma: float, alpha: float) -> float:
    """Closed form (bits) for two samples: A = K / 2 with K = [[1, k], [k, 1]], k = exp(-d^2 / 2 s^2),
    so the eigenvalues of A are (1 +- k) / 2 (Sanchez Giraldo et al. 2014, eq. for S_alpha)."""
    k = math.exp(-distance**2 / (2 * sigma**2))
    lam = np.array([(1 + k) / 2, (1 - k) / 2])
    lam = lam[lam > 0]
    if alpha == 1.0:
        return float(-(lam * np.log2(lam)).sum())
    return float(np.log2((lam**alpha).sum()) / (1 - alpha))


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 2.0, 3.0])
def test_two_samples_match_the_closed_form(alpha):
    x = np.array([[0.0, 0.0], [0.6, 0.8]])  # distance 1
    got = il.matrix_renyi_entropy(x, alpha=alpha, kernel_width=0.7).value
    assert got == pytest.approx(_two_point_entropy(1.0, 0.7, alpha), abs=1e-12)


def test_identical_samples_read_zero_and_separated_ones_log2_n():
    assert il.matrix_renyi_entropy(np.ones((50, 3)), kernel_width=1.0).value == pytest.approx(0.0, abs=1e-9)
    far = np.arange(64.0)[:, None] * 100.0
    est = il.matrix_renyi_entropy(far, kernel_width=1.0)
    assert est.value == pytest.approx(6.0, abs=1e-9) and "near_log_n" in est.flags


def test_alpha_to_one_is_the_von_neumann_entropy():
    x = np.random.default_rng(0).normal(size=(80, 3))
    von_neumann = il.matrix_renyi_entropy(x, alpha=1.0, kernel_width=1.0).value
    near = [il.matrix_renyi_entropy(x, alpha=1 + eps, kernel_width=1.0).value for eps in (1e-2, 1e-3, 1e-4)]
    errors = [abs(v - von_neumann) for v in near]
    assert errors[2] < errors[1] < errors[0] and errors[2] < 1e-3


def test_mi_is_non_negative_joint_above_marginals_and_order_free():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 2))
    y = x[:, :1] + 0.5 * rng.normal(size=(120, 1))
    mi = il.matrix_renyi_mi(x, y, kernel_width=1.0).value
    independent = il.matrix_renyi_mi(x, rng.normal(size=(120, 1)), kernel_width=1.0).value
    assert mi > independent >= -1e-9
    h_x = il.matrix_renyi_entropy(x, kernel_width=1.0).value
    h_y = il.matrix_renyi_entropy(y, kernel_width=1.0).value
    h_xy = h_x + h_y - mi
    assert h_xy >= max(h_x, h_y) - 1e-9  # the Hadamard joint is at least each marginal
    order = rng.permutation(120)
    assert il.matrix_renyi_mi(x[order], y[order], kernel_width=1.0).value == pytest.approx(mi, abs=1e-9)


def test_labels_give_the_renyi_entropy_of_the_class_frequencies():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    p = np.array([0.5, 0.3, 0.2])
    for alpha in (1.0, 2.0):
        expected = -(p * np.log2(p)).sum() if alpha == 1 else np.log2((p**alpha).sum()) / (1 - alpha)
        assert il.matrix_renyi_entropy(y, alpha=alpha).value == pytest.approx(expected, abs=1e-9)


def test_numpy_equals_torch_and_gradients_flow():
    x = np.random.default_rng(2).normal(size=(60, 4))
    y = x[:, :2] ** 2
    value = il.matrix_renyi_mi(x, y, kernel_width=1.5).value
    tx = torch.tensor(x, requires_grad=True)
    out = il.matrix_renyi(tx, torch.tensor(y), kernel_width=1.5)
    assert float(out.detach()) == pytest.approx(value, abs=1e-10)
    out.backward()
    assert torch.isfinite(tx.grad).all() and tx.grad.abs().sum() > 0


def test_one_batch_equals_unbatched_and_batches_cap_at_log2_batch():
    x = np.random.default_rng(3).normal(size=(150, 3))
    whole = il.matrix_renyi_entropy(x).value
    assert il.matrix_renyi_entropy(x, batch_size=150).value == pytest.approx(whole, abs=1e-12)
    batched = il.matrix_renyi_entropy(x * 100, batch_size=50, kernel_width=1.0)
    assert batched.value == pytest.approx(math.log2(50), abs=1e-9) and batched.details["n_batches"] == 3
    seeded = [il.matrix_renyi_entropy(x, batch_size=40, seed=s).value for s in (0, 0, 1)]
    assert seeded[0] == seeded[1] != seeded[2]


def test_plane_records_stay_within_zero_and_log2_batch():
    rng = np.random.default_rng(4)
    n = 400
    x = rng.normal(size=(n, 8))
    y = (x[:, 0] > 0).astype(int)
    model = torch.nn.Sequential(torch.nn.Linear(8, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 2))
    torch.manual_seed(0)
    plane = il.InformationPlane(torch.tensor(x, dtype=torch.float32), y, estimator="matrix_renyi")
    records = plane.record(model, 0)
    values = [r["value"] for r in records]
    assert all(-1e-9 <= v <= math.log2(200) + 1e-9 for v in values)
    assert all(r["estimator"] == "matrix_renyi(alpha=1.01, batch_size=200)" for r in records)
    i_ty = {r["layer"]: r["value"] for r in records if r["quantity"] == "I_TY"}
    assert i_ty["1"] < 1.0 + 1e-9  # at most H(Y) = 1 bit for balanced binary labels


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"alpha": 0.0}, "alpha"), ({"alpha": -1.0}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"kernel_width": 0.0}, "kernel_width"), ({"kernel_width": float("nan")}, "kernel_width"),
    ({"kernel_width": "scott"}, "kernel_width"), ({"batch_size": 1}, "batch_size"),
])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(il.InfoLensError, match=f"'{name}' parameter of matrix_renyi_entropy"):
        il.matrix_renyi_entropy(np.random.default_rng(0).normal(size=(20, 2)), **kwargs)


def test_bad_data_is_refused():
    x = np.random.default_rng(0).normal(size=(20, 2))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(il.InfoLensError, match="'x' parameter"):
        il.matrix_renyi_entropy(bad)
    with pytest.raises(il.InfoLensError, match="'y' parameter"):
        il.matrix_renyi_mi(x, x[:10])
    with pytest.raises(il.InfoLensError, match="'x' parameter"):
        il.matrix_renyi_entropy(x[:1])


def test_three_points_match_a_hand_computed_gram():
    """Points 0, 1, 3 on a line, sigma = 1: K has off-diagonals exp(-1/2), exp(-9/2), exp(-2) and
    A = K / 3. alpha = 2 is -log2 ||A||_F^2 (the Frobenius shortcut of uk-cliplab/representation-itl,
    ``generalizedInformationPotential``, read, not copied); alpha = 3 is log2 tr(A^3) / (1 - 3) from
    the matrix cube (no eigendecomposition); the joint with y = 0, 2, 2.5 is the Hadamard product."""
    x = np.array([[0.0], [1.0], [3.0]])
    k01, k02, k12 = math.exp(-0.5), math.exp(-4.5), math.exp(-2.0)
    s2 = -math.log2((3 + 2 * (k01**2 + k02**2 + k12**2)) / 9)
    assert il.matrix_renyi_entropy(x, alpha=2, kernel_width=1.0).value == pytest.approx(s2, abs=1e-12)
    a = np.array([[1, k01, k02], [k01, 1, k12], [k02, k12, 1]]) / 3
    s3 = math.log2(np.trace(a @ a @ a)) / (1 - 3)
    assert il.matrix_renyi_entropy(x, alpha=3, kernel_width=1.0).value == pytest.approx(s3, abs=1e-12)
    y = np.array([[0.0], [2.0], [2.5]])
    l01, l02, l12 = math.exp(-2.0), math.exp(-3.125), math.exp(-0.125)
    s2_y = -math.log2((3 + 2 * (l01**2 + l02**2 + l12**2)) / 9)
    s2_xy = -math.log2((3 + 2 * ((k01 * l01)**2 + (k02 * l02)**2 + (k12 * l12)**2)) / 9)
    got = il.matrix_renyi_mi(x, y, alpha=2, kernel_width=1.0).value
    assert got == pytest.approx(s2 + s2_y - s2_xy, abs=1e-12)


def test_plane_record_activations_equals_record_and_stays_in_bounds():
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.normal(size=(300, 6)), dtype=torch.float32)
    y = (x[:, 0] > 0).long().numpy()
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2))
    plane = il.InformationPlane(x, y, estimator="matrix_renyi", batch_size=100)
    recorded = {(r["layer"], r["quantity"]): r["value"] for r in plane.record(model, 0)}
    with torch.no_grad():
        hidden = model[1](model[0](x))
    again = il.InformationPlane(x, y, estimator="matrix_renyi", batch_size=100)
    acts = {(r["layer"], r["quantity"]): r["value"] for r in again.record_activations({"1": hidden}, 0)}
    assert acts[("1", "I_XT")] == pytest.approx(recorded[("1", "I_XT")], abs=1e-9)
    assert acts[("1", "I_TY")] == pytest.approx(recorded[("1", "I_TY")], abs=1e-9)
    assert all(0 <= v <= math.log2(100) + 1e-9 for v in recorded.values())
    assert 0 < acts[("1", "I_TY")] <= 1 + 1e-9


def test_auto_reads_a_saturated_wide_layer_with_matrix_renyi_below_its_cap():
    # tanh of large weights: +-1 codes, every sample in its own bin; the KDE bound reads log2 n
    # there, the matrix-based information stays more than 1 bit below log2 200 (measured: 5.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 12))
    y = (x[:, 0] > 0).astype(int)
    t = np.tanh(x @ rng.normal(size=(12, 1024)) * 5 / np.sqrt(12))
    with pytest.warns(il.InfoLensWarning, match="near_log_n"):
        kde = il.InformationPlane(x, y, estimator="kde").record_activations({"t": t}, 0)
    assert next(r["value"] for r in kde if r["quantity"] == "I_XT") > math.log2(400) - 0.1
    auto = il.InformationPlane(x, y, estimator="auto").record_activations({"t": t}, 0)
    i_xt = next(r for r in auto if r["quantity"] == "I_XT")
    assert i_xt["estimated_by"] == "matrix_renyi(alpha=1.01, batch_size=200)"
    assert 2.0 < i_xt["value"] < math.log2(200) - 1.0
