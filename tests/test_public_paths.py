"""Public names that the other tests reach only through their submodules, used as a user does:
``import infolens as il`` and ``il.<name>`` / ``il.<package>.<name>``, each with a value to meet."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

import infolens as il

PXY = np.array([[0.4, 0.1], [0.1, 0.4]])  # I(X;Y) = 1 - H2(0.2) = 0.278 bits


def _square(x: float, seed: int) -> dict:
    return {"value": x * x + seed}


def test_grid_and_run_sweep(tmp_path):
    points = il.grid(x=[1.0, 2.0], seed=[0, 1])
    assert points == [{"x": 1.0, "seed": 0}, {"x": 1.0, "seed": 1}, {"x": 2.0, "seed": 0},
                      {"x": 2.0, "seed": 1}]
    result = il.run_sweep(_square, points, tmp_path)
    values = sorted(r["result"]["value"] for r in result.records)
    assert values == [1.0, 2.0, 4.0, 5.0]


def test_result_types_are_the_public_classes():
    x, y, _ = il.data.correlated_gaussians(300, dim=1, rho=0.5, seed=0)
    assert isinstance(il.estimate_mi(x, y, method="gaussian"), il.Estimate)
    emb = il.embed(np.c_[x, y], method="pca", dims=2)
    assert isinstance(emb, il.Embedding)
    seq = il.embed_sequence([np.c_[x, y], -np.c_[x, y]], method="pca", dims=2)
    assert all(isinstance(e, il.Embedding) for e in seq)
    # aligned by Procrustes: the negated snapshot maps back onto the first
    np.testing.assert_allclose(seq[1].coords, seq[0].coords, atol=1e-8)


def test_bottleneck_names_on_a_discrete_table():
    solution = il.bottleneck.iterative_ib(PXY, beta=50.0)
    assert isinstance(solution, il.bottleneck.IBSolution)
    # at a large beta the encoder keeps X: I(T;Y) = I(X;Y)
    assert solution.i_ty == pytest.approx(il.mutual_information(PXY), abs=1e-3)
    hard = il.bottleneck.deterministic_ib(PXY, beta=50.0)
    assert hard.i_ty == pytest.approx(il.mutual_information(PXY), abs=1e-3)
    x = np.array([0, 0, 1, 1, 1, 0])
    y = np.array([0, 1, 1, 1, 0, 0])
    joint = il.bottleneck.joint_from_samples(x, y)
    np.testing.assert_allclose(joint, [[2 / 6, 1 / 6], [1 / 6, 2 / 6]])


def test_bottleneck_losses_are_their_formulas():
    mean, std = torch.zeros(4, 3), torch.ones(4, 3)
    assert il.bottleneck.gaussian_rate(mean, std).tolist() == [0.0] * 4  # KL(N(0, I) || N(0, I)) = 0
    mean = torch.full((4, 3), 2.0)
    assert il.bottleneck.gaussian_rate(mean, std).tolist() == pytest.approx([6.0] * 4)  # sum mu^2 / 2
    logits = torch.zeros(5, 4)
    assert float(il.bottleneck.cross_entropy_logits(logits, torch.zeros(5, dtype=torch.long))) == \
        pytest.approx(2.0)  # uniform over 4 classes: log2 4 bits
    assert il.bottleneck.predict_proba(logits).sum(dim=-1).tolist() == pytest.approx([1.0] * 5)


def test_data_names():
    assert il.data.DATASETS == ("szt12", "mnist1d", "digits")
    cov = np.diag([1.0, 4.0])
    assert il.data.gaussian_entropy(cov) == pytest.approx(0.5 * math.log((2 * math.pi * math.e) ** 2 * 4.0))
    split = il.data.split(np.arange(20.0)[:, None], np.arange(20) % 2, test_size=0.25, seed=0)
    assert isinstance(split, il.data.Split)
    assert len(split.x_test) == 5 and len(split.x_train) == 15
    assert sorted(np.r_[split.x_train[:, 0], split.x_test[:, 0]].tolist()) == list(np.arange(20.0))
    digits = il.data.digits()
    assert len(digits.y_train) + len(digits.y_test) == 1797  # scikit-learn's 8x8 digits


def test_viz_names_draw_from_a_plane_result():
    import matplotlib.pyplot as plt

    x, y = il.data.szt12()
    plane = il.InformationPlane(torch.as_tensor(x), y, estimator="binning", bins=30)
    torch.manual_seed(0)
    model = il.models.ReferenceMLP(activation="tanh")
    for seed in (0, 1):
        for epoch in (0, 1, 2):
            plane.record(model, epoch, seed=seed, activation="tanh")
    assert isinstance(plane.result, il.PlaneResult)
    ax = il.viz.plot_mi_vs_epoch(plane.result, "I_XT")
    assert "bits" in ax.get_ylabel()
    assert len(ax.get_lines()) >= 6  # one curve per layer
    scores = plane.result.compression_scores()
    assert len(scores) == 6
    assert len(il.viz.plot_compression_scores(scores).patches) >= 6  # one bar per layer
    assert "bits" in il.viz.plot_information_plane(plane.result).get_xlabel()
    plt.close("all")
