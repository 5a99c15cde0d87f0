"""Tests of infolens.embedding: PCA against scikit-learn, k-NN accuracy by hand, Procrustes alignment,
t-SNE shapes and alignment, the message for a missing optional extra, and input validation."""

from __future__ import annotations

import json
import sys

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from infolens import InfoLensError  # noqa: E402
from infolens.embedding import Embedding, embed, embed_sequence, knn_accuracy, procrustes_align  # noqa: E402


def _clusters(n_per: int = 60, n_classes: int = 4, dim: int = 10, spread: float = 8.0,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * spread
    labels = np.repeat(np.arange(n_classes), n_per)
    return centres[labels] + rng.normal(size=(labels.size, dim)), labels


def _random_rotation(dim: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_matches_sklearn_up_to_sign(dims: int) -> None:
    from sklearn.decomposition import PCA

    x, labels = _clusters()
    x[:, 0] *= 3.0  # unequal variances: well-separated eigenvalues
    result = embed(x, "pca", dims, labels=labels)
    reference = PCA(n_components=dims).fit(x)
    expected = reference.transform(x)
    assert result.coords.shape == (x.shape[0], dims)
    for j in range(dims):
        sign = np.sign(expected[:, j] @ result.coords[:, j])
        np.testing.assert_allclose(result.coords[:, j], sign * expected[:, j], atol=1e-9)
    np.testing.assert_allclose(result.explained_variance_ratio, reference.explained_variance_ratio_,
                               rtol=1e-9)


def test_pca_with_more_features_than_samples_matches_sklearn() -> None:
    from sklearn.decomposition import PCA

    x = np.random.default_rng(3).normal(size=(12, 40))
    result = embed(x, "pca", 3)
    expected = PCA(n_components=3).fit_transform(x)
    np.testing.assert_allclose(np.abs(result.coords), np.abs(expected), atol=1e-9)
    assert result.knn_accuracy is None


def test_pca_sign_convention_is_deterministic_and_accepts_tensors() -> None:
    x, labels = _clusters(seed=4)
    first = embed(torch.tensor(x, dtype=torch.float64), "pca", 2, labels=torch.tensor(labels))
    second = embed(-x, "pca", 2, labels=labels)
    # negating the data flips the scores; the largest loading of each axis stays positive
    np.testing.assert_allclose(first.coords, -second.coords, atol=1e-9)


def test_knn_accuracy_by_hand() -> None:
    # points on a line: 0,1,2 labelled a; 10,11 labelled b; 12 labelled a
    coords = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    labels = np.array([0, 0, 0, 1, 1, 0])
    # k=1: nearest other point: 0->1 (a ok), 1->0 or 2 (a ok), 2->1 (a ok), 10->11 (b ok),
    # 11->10 or 12 (tie at distance 1: either), 12->11 (b, wrong)
    value = knn_accuracy(coords, labels, k=1)
    assert value in (4 / 6, 5 / 6)
    # k=2: 0->{1,2} a ok; 1->{0,2} ok; 2->{1,0} ok; 10->{11,12}: b,a tie -> smallest label a: wrong;
    # 11->{10,12}: b,a tie -> a: wrong; 12->{11,10} b,b: wrong
    assert knn_accuracy(coords, labels, k=2) == pytest.approx(3 / 6)


def test_knn_accuracy_is_high_for_separated_clusters_and_near_chance_for_random_labels() -> None:
    x, labels = _clusters(n_per=80, n_classes=5, seed=1)
    assert embed(x, "pca", 2, labels=labels).knn_accuracy >= 0.99
    shuffled = np.random.default_rng(2).permutation(labels)
    chance = embed(x, "pca", 2, labels=shuffled).knn_accuracy
    assert chance < 0.35  # chance is 0.2; 400 points


def test_tsne_2d_and_3d_shapes_and_separation() -> None:
    x, labels = _clusters(n_per=40, n_classes=3, seed=5)
    for dims in (2, 3):
        result = embed(x, "tsne", dims, labels=labels, seed=0, n_iter=250, early_exaggeration_iter=100)
        assert result.coords.shape == (x.shape[0], dims)
        assert result.method == "tsne" and result.dims == dims
        assert result.knn_accuracy >= 0.95
        assert np.isfinite(result.coords).all()
    assert result.params["negative_gradient_method"] == "bh"  # the FFT scheme has no 3-D version


@pytest.mark.slow  # numba compiles UMAP on first use: 10-30 s
@pytest.mark.parametrize("dims", [2, 3])
def test_umap_maps_keep_well_separated_clusters(dims: int) -> None:
    import infolens as il

    x, labels = _clusters(n_per=40, n_classes=3, seed=5)  # centres about 8 sd apart in 10-D
    result = il.embed(x, method="umap", dims=dims, labels=labels, seed=0, n_neighbors=15)
    assert result.coords.shape == (x.shape[0], dims)
    assert result.method == "umap" and result.dims == dims and result.params["seed"] == 0
    assert result.knn_accuracy >= 0.95  # the clusters do not overlap: neighbours share a label
    again = il.embed(x, method="umap", dims=dims, labels=labels, seed=0, n_neighbors=15)
    np.testing.assert_allclose(again.coords, result.coords, atol=1e-5)  # seeded: reproducible


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    x, _ = _clusters(n_per=10)
    monkeypatch.setitem(sys.modules, "openTSNE", None)  # makes `import openTSNE` raise ImportError
    with pytest.raises(InfoLensError, match=r'pip install "infolens\[tsne\]"'):
        embed(x, "tsne", 2)
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(InfoLensError, match=r'pip install "infolens\[umap\]"'):
        embed(x, "umap", 2)


def test_procrustes_recovers_a_known_rotation_and_translation() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(50, 3))
    rotation = _random_rotation(3, 1)
    moved = reference @ rotation.T + np.array([5.0, -2.0, 1.0])
    np.testing.assert_allclose(procrustes_align(moved, reference), reference, atol=1e-10)
    # distances within the map are unchanged (no scaling)
    aligned = procrustes_align(moved * 2.0, reference)
    np.testing.assert_allclose(np.linalg.norm(aligned[0] - aligned[1]),
                               2.0 * np.linalg.norm(reference[0] - reference[1]), rtol=1e-10)


def test_embed_sequence_pca_alignment_reduces_distance_between_frames() -> None:
    x, labels = _clusters(n_per=30, seed=7)
    rng = np.random.default_rng(8)
    frames = [x, x @ _random_rotation(x.shape[1], 9) + 0.05 * rng.normal(size=x.shape),
              x @ _random_rotation(x.shape[1], 10) + 0.05 * rng.normal(size=x.shape)]
    aligned = embed_sequence(frames, "pca", 2, labels=labels)
    free = embed_sequence(frames, "pca", 2, labels=labels, align=False)
    for t in (1, 2):
        d_aligned = np.linalg.norm(aligned[t].coords - aligned[t - 1].coords)
        d_free = np.linalg.norm(free[t].coords - free[t - 1].coords)
        assert d_aligned <= d_free + 1e-9
        # a rotated copy of the same data has the same PCA map up to an orthogonal map: aligned, the
        # frames nearly coincide (only the small added noise remains)
        assert d_aligned < 0.05 * np.linalg.norm(aligned[t - 1].coords)
        assert aligned[t].knn_accuracy == pytest.approx(free[t].knn_accuracy)


def test_embed_sequence_tsne_starts_from_previous_map() -> None:
    x, labels = _clusters(n_per=30, n_classes=3, seed=11)
    frames = [x, x + 0.01 * np.random.default_rng(12).normal(size=x.shape)]
    options = {"n_iter": 200, "early_exaggeration_iter": 50}
    aligned = embed_sequence(frames, "tsne", 2, labels=labels, seed=0, **options)
    free = embed_sequence(frames, "tsne", 2, labels=labels, seed=1, align=False, **options)
    assert aligned[1].params["initialization"] == "previous map"
    d_aligned = np.linalg.norm(aligned[1].coords - aligned[0].coords) / np.linalg.norm(aligned[0].coords)
    d_free = np.linalg.norm(free[1].coords - free[0].coords) / np.linalg.norm(free[0].coords)
    assert d_aligned < d_free


def test_plots_return_axes_and_3d_needs_a_3d_axes() -> None:
    x, labels = _clusters(n_per=10)
    flat = embed(x, "pca", 2, labels=labels)
    ax = flat.plot()
    assert ax.get_title().startswith("PCA 2-D")
    assert len(ax.collections) == 4  # one scatter per class
    deep = embed(x, "pca", 3, labels=labels)
    ax3 = deep.plot()
    assert ax3.name == "3d"
    _, plain_ax = plt.subplots()
    with pytest.raises(InfoLensError, match="3-D Axes"):
        deep.plot(ax=plain_ax)
    plt.close("all")


def test_to_dict_is_json_serialisable() -> None:
    x, labels = _clusters(n_per=5)
    data = embed(x, "pca", 2, labels=labels).to_dict()
    restored = json.loads(json.dumps(data))
    assert restored["dims"] == 2 and len(restored["coords"]) == x.shape[0]
    assert isinstance(Embedding, type)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "lle"}, "'method' parameter of embed"),
    ({"dims": 4}, "'dims' parameter of embed"),
    ({"dims": 1}, "'dims' parameter of embed"),
    ({"labels": np.zeros(3)}, "'labels' parameter of embed"),
    ({"k": 0}, "'k' parameter of embed"),
    ({"method": "tsne", "init": np.zeros((5, 2))}, "'init' parameter of embed"),
])
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    x, _ = _clusters(n_per=5)
    with pytest.raises(InfoLensError, match=match):
        embed(x, **kwargs)


def test_bad_activations_and_sequences_raise() -> None:
    with pytest.raises(InfoLensError, match="'activations' parameter of embed"):
        embed(np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(InfoLensError, match="'dims' parameter of embed"):
        embed(np.random.default_rng(0).normal(size=(10, 2)), "pca", 3)  # PCA cannot make 3 axes of 2
    with pytest.raises(InfoLensError, match="'sequence' parameter of embed_sequence"):
        embed_sequence([np.zeros((5, 2)), np.zeros((6, 2))])
    with pytest.raises(InfoLensError, match="'sequence' parameter of embed_sequence"):
        embed_sequence([])
    with pytest.raises(InfoLensError, match="'k' parameter of knn_accuracy"):
        knn_accuracy(np.zeros((3, 2)), [0, 1, 0], k=3)


def test_trailing_dimensions_are_flattened() -> None:
    x = np.random.default_rng(0).normal(size=(20, 2, 3))
    assert embed(x, "pca", 2).coords.shape == (20, 2)
