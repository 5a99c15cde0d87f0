"""The shuffled-label baseline of the sample and minibatch plane estimators, and token inputs.

``shuffled_baseline`` (infolens.plane.flags) on kde, adaptive_kde, sample_propagation and
matrix_renyi: raised on a
layer independent of the labels that reads I(T;Y) near H(Y) anyway, not raised on a layer that
encodes the labels; the baseline is on the I(T;Y) record as ``shuffled_I_TY``. Integer inputs
(token ids) reach the estimators that read inputs one-hot per position.
"""

import warnings

import numpy as np
import pytest
import torch

import infolens as il
from infolens.model_inputs import ModelInputs


def _records(estimator, layers, y, x=None, **params):
    """The records by (layer, quantity); a layer named "wide" must warn, any other must not."""
    plane = il.InformationPlane(np.zeros((len(y), 1)) if x is None else x, y, estimator=estimator, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", il.InfoLensWarning)
        if "wide" in layers:
            with pytest.warns(il.InfoLensWarning, match="shuffled_baseline"):
                records = plane.record_activations(layers, 0)
        else:
            records = plane.record_activations(layers, 0)
    return {(r["layer"], r["quantity"]): r for r in records}


@pytest.mark.parametrize("estimator", ["kde", "adaptive_kde", "sample_propagation"])
@pytest.mark.parametrize("seed", [0, 1])
def test_kde_flags_a_saturated_wide_layer_and_not_an_informative_one(estimator, seed):
    rng = np.random.default_rng(seed)
    n = 200
    y = rng.integers(0, 2, n)
    h_y = -sum(p * np.log2(p) for p in np.bincount(y) / n)
    # 256 random units: neighbours are ~22 apart against a noise sd of 0.3 (kde) / 0.3 max|T|
    wide = _records(estimator, {"wide": rng.standard_normal((n, 256))}, y)
    ty = wide[("wide", "I_TY")]
    assert ty["value"] == pytest.approx(h_y, abs=0.01)  # I(T;Y) = H(Y) by construction
    assert ty["shuffled_I_TY"] == pytest.approx(h_y, abs=0.01)  # so do shuffled labels
    assert ty["flags"] == "shuffled_baseline"
    # one unit carrying the label, two clusters 3 noise-free units apart
    low = _records(estimator, {"low": y[:, None] * 3.0 + 0.3 * rng.standard_normal((n, 1))}, y)
    ty = low[("low", "I_TY")]
    assert ty["value"] > 0.8 * h_y
    assert ty["shuffled_I_TY"] < 0.05 and ty["flags"] == ""


@pytest.mark.parametrize("seed", [0, 1])
def test_matrix_renyi_flags_a_layer_independent_of_the_labels(seed):
    rng = np.random.default_rng(seed)
    n = 400
    y = rng.integers(0, 4, n)
    x = rng.standard_normal((n, 8))
    # a random 64-unit layer independent of y: the finite-batch bias reads a large part of 2 bits
    wide = _records("matrix_renyi", {"wide": rng.standard_normal((n, 64))}, y, x)
    ty = wide[("wide", "I_TY")]
    assert ty["value"] > 0.4  # bits, of H(Y) = 2: the bias the flag is for
    assert ty["shuffled_I_TY"] >= 0.5 * ty["value"] and ty["flags"] == "shuffled_baseline"
    # one-hot labels plus small noise: nearly all of H(Y), and shuffled labels read little of it
    onehot = _records("matrix_renyi", {"onehot": np.eye(4)[y] + 0.05 * rng.standard_normal((n, 4))}, y, x)
    ty = onehot[("onehot", "I_TY")]
    assert ty["value"] > 1.5
    assert ty["shuffled_I_TY"] < 0.25 * ty["value"] and ty["flags"] == ""


def test_the_matrix_renyi_baseline_is_its_value_for_labels_permuted_in_each_batch():
    rng = np.random.default_rng(3)
    n = 300
    y = rng.integers(0, 3, n)
    t = rng.standard_normal((n, 5)) + y[:, None]
    one_batch = {"estimator": "matrix_renyi", "batch_size": n}  # (the plane's batch_size is its forward's)
    records = _records({"I_XT": one_batch, "I_TY": one_batch}, {"t": t}, y, rng.standard_normal((n, 2)))
    ty = records[("t", "I_TY")]
    shuffled = np.random.default_rng(0).permutation(y)  # one batch: the permutation of all rows
    expected = il.matrix_renyi_mi(t, shuffled, alpha=1.01, kernel_width="knn", batch_size=None).value
    assert ty["shuffled_I_TY"] == pytest.approx(expected, abs=1e-9)


def test_integer_inputs_are_one_hot_per_position_over_the_ids_that_occur():
    ids = torch.tensor([[5, 900], [5, 7], [900, 7]])
    mask = torch.tensor([[True, False], [True, True], [True, True]])
    vectors = ModelInputs({"input_ids": ids, "attention_mask": mask}, "x", "f").vectors()
    assert vectors.dtype == torch.float32 and vectors.shape == (3, 2 * 3 + 2)  # 3 distinct ids
    onehot = vectors[:, :6]
    assert torch.equal(onehot.sum(dim=1), torch.full((3,), 2.0))
    # distances count the positions whose tokens differ, whatever the id numbers
    sq = torch.cdist(onehot, onehot) ** 2
    assert torch.allclose(sq, torch.tensor([[0.0, 2.0, 4.0], [2.0, 0.0, 2.0], [4.0, 2.0, 0.0]]), atol=1e-5)
    assert torch.equal(vectors[:, 6:], mask.float())
    floats = torch.randn(3, 2, 2)
    assert torch.equal(ModelInputs(floats, "x", "f").vectors(), floats.reshape(3, 4))


def test_too_many_one_hot_values_are_refused(monkeypatch):
    monkeypatch.setattr("infolens.model_inputs.MAX_ONE_HOT_VALUES", 100)
    with pytest.raises(il.InfoLensError, match=r"'x' parameter of f .*one-hot.*10 rows x 4 positions x 5"):
        ModelInputs(torch.arange(40).reshape(10, 4) % 5, "x", "f").vectors("x", "f")


def test_matrix_renyi_reads_token_ids_one_hot():
    split = il.data.marker_count(250, seed=0, test_size=0.2)
    x, y = split.x_train, split.y_train  # 200 sequences of 32 ids from 16 symbols
    torch.manual_seed(0)
    model = il.models.TokenTransformer(vocab=16, length=32, n_classes=4, d_model=16, heads=2, ff=16,
                                       n_blocks=1)
    with torch.no_grad():  # an identity-like embedding: each token its own orthogonal direction
        model.tokens.weight.copy_(3.0 * torch.eye(16))
    plane = il.InformationPlane(x, y, layers=["embed"], estimator={"I_XT": "matrix_renyi", "I_TY": "binning"})
    records = plane.record(model, 0) + plane.record_activations({"constant": np.ones((len(y), 4))}, 0)
    i_xt = {r["layer"]: r["value"] for r in records if r["quantity"] == "I_XT"}
    onehot = np.eye(16)[x].reshape(len(x), -1)
    most = il.matrix_renyi_mi(onehot, onehot, alpha=1.01, kernel_width="knn", batch_size=200).value
    assert i_xt["embed"] == pytest.approx(most, abs=1e-6)  # T carries X: I(X;T) = I(X;X)
    assert most > 4.0  # bits, of log2 200 = 7.6
    assert i_xt["constant"] == pytest.approx(0.0, abs=1e-9)
