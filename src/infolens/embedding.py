"""2-D and 3-D maps of layer activations: PCA, t-SNE and UMAP, aligned across epochs.

:func:`embed` maps one layer's activations ``(n, d)`` to ``(n, dims)`` coordinates and scores the
map by the leave-one-out k-nearest-neighbour class accuracy in it (how well classes stay apart in
the picture). :func:`embed_sequence` maps the same points at several epochs so that the sequence
reads as an animation: each t-SNE map starts from the previous one, and every map after the first
is rotated (orthogonal Procrustes) onto its predecessor.

PCA is in the core (an eigendecomposition of the covariance, numpy only). t-SNE uses openTSNE
(``pip install "infolens[tsne]"``) and UMAP uses umap-learn (``pip install "infolens[umap]"``);
both are imported only when asked for.

References
----------
L. van der Maaten and G. Hinton, "Visualizing data using t-SNE", JMLR 9 (2008).
G. C. Linderman et al., "Fast interpolation-based t-SNE for improved visualization of single-cell
RNA-seq data", Nature Methods 16 (2019) (the FFT-accelerated gradient used for ``dims <= 2``).
P. G. Policar, M. Strazar and B. Zupan, "openTSNE: a modular Python library for t-SNE
dimensionality reduction and embedding", JSS 109 (2024).
L. McInnes, J. Healy and J. Melville, "UMAP: uniform manifold approximation and projection for
dimension reduction", arXiv:1802.03426, 2018.
P. H. Schonemann, "A generalized solution of the orthogonal Procrustes problem", Psychometrika 31
(1966).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infolens._json import to_jsonable
from infolens._optional import require
from infolens._validation import (
    as_labels,
    as_samples,
    check_choice,
    check_int,
    check_same_length,
    check_seed,
    fail,
    to_numpy,
)

METHODS = ("pca", "tsne", "umap")
#: The optional extra that installs each method's library.
EXTRAS = {"tsne": ("openTSNE", "tsne"), "umap": ("umap", "umap")}
#: Standard deviation openTSNE recommends for a precomputed initialisation (its own PCA init uses it).
TSNE_INIT_STD = 1e-4


@dataclass(frozen=True, eq=False)
class Embedding:
    """A low-dimensional map of one set of activations.

    Attributes
    ----------
    coords : ndarray of shape (n, dims)
        The map; row ``i`` is sample ``i`` of the input.
    method : {"pca", "tsne", "umap"}
    dims : {2, 3}
    knn_accuracy : float or None
        Leave-one-out ``k``-NN class accuracy in the map (majority vote of the ``k`` nearest other
        points, ties to the smallest label); None without labels.
    labels : ndarray of shape (n,) or None
        Class labels as given (used to colour the plot).
    k : int
        Neighbours used for ``knn_accuracy``.
    params : dict
        The settings that made the map (seed, perplexity, ...).
    explained_variance_ratio : tuple of float or None
        For PCA, the fraction of the total variance along each axis.
    """

    coords: np.ndarray
    method: str
    dims: int
    knn_accuracy: float | None
    labels: np.ndarray | None
    k: int = 10
    params: dict[str, Any] = field(default_factory=dict)
    explained_variance_ratio: tuple[float, ...] | None = None

    @property
    def n_samples(self) -> int:
        """Number of points in the map."""
        return int(self.coords.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Every field, plus ``n_samples``, as plain JSON values (coordinates and labels as nested
        lists; see :func:`infolens._json.to_jsonable`)."""
        return to_jsonable({"method": self.method, "dims": self.dims, "n_samples": self.n_samples,
                            "knn_accuracy": self.knn_accuracy, "k": self.k, "params": self.params,
                            "explained_variance_ratio": self.explained_variance_ratio,
                            "coords": self.coords, "labels": self.labels})

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per point: ``axis_1`` .. ``axis_<dims>`` and ``label``
        (when labels were given)."""
        import pandas as pd

        frame = pd.DataFrame(self.coords, columns=[f"axis_{j + 1}" for j in range(self.dims)])
        if self.labels is not None:
            frame["label"] = self.labels
        return frame

    def plot(self, ax: Any = None, *, title: str | None = None, point_size: float = 6.0,
             legend: bool = True) -> Any:
        """Scatter plot coloured by class; a 3-D map needs (or makes) a 3-D Axes.

        Returns the matplotlib Axes. Never calls ``plt.show()``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig = plt.figure(figsize=(5.2, 4.6))
            ax = fig.add_subplot(projection="3d" if self.dims == 3 else None)
        elif self.dims == 3 and getattr(ax, "name", "") != "3d":
            raise fail("ax", "Embedding.plot", "a 3-D Axes (projection='3d') for a 3-D embedding", ax)
        columns = [self.coords[:, j] for j in range(self.dims)]
        if self.labels is None:
            ax.scatter(*columns, s=point_size, color="0.3", linewidths=0)
        else:
            classes = np.unique(self.labels)
            cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
            for i, cls in enumerate(classes):
                mask = self.labels == cls
                ax.scatter(*(c[mask] for c in columns), s=point_size, color=cmap(i % cmap.N),
                           label=str(cls), linewidths=0)
            if legend and len(classes) <= 20:
                ax.legend(title="class", fontsize="x-small", title_fontsize="small", markerscale=2,
                          loc="best", frameon=False)
        name = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}[self.method]
        score = f"  ({self.k}-NN acc {self.knn_accuracy:.3f})" if self.knn_accuracy is not None else ""
        ax.set_title(title if title is not None else f"{name} {self.dims}-D{score}", fontsize="medium")
        ax.set_xlabel(f"{name} 1")
        ax.set_ylabel(f"{name} 2")
        if self.dims == 3:
            ax.set_zlabel(f"{name} 3")
        return ax


def embed(activations: Any, method: str = "pca", dims: int = 2, *, labels: Any = None, k: int = 10,
          seed: int = 0, init: Any = None, n_jobs: int = 1, **kwargs: Any) -> Embedding:
    """Map activations to 2-D or 3-D with PCA, t-SNE or UMAP and score the map by k-NN accuracy.

    Parameters
    ----------
    activations : array-like or tensor of shape (n, ...)
        One row per sample; trailing dimensions are flattened. Tensors are copied to the CPU.
    method : {"pca", "tsne", "umap"}
        ``"pca"`` needs nothing beyond the core; ``"tsne"`` needs openTSNE and ``"umap"`` needs
        umap-learn (imported here, with the install command in the error when missing).
    dims : {2, 3}
    labels : array-like of shape (n,), optional
        Class of each sample: colours the plot and gives ``knn_accuracy``.
    k : int
        Neighbours for the k-NN accuracy (default 10).
    seed : int
        Random state of t-SNE and UMAP (PCA is deterministic).
    init : array of shape (n, dims), optional
        Starting map for t-SNE or UMAP (e.g. the previous epoch's map). For t-SNE it is rescaled to
        a standard deviation of 1e-4 along its first axis, as openTSNE recommends; PCA ignores it.
    n_jobs : int
        Threads for openTSNE and UMAP (default 1, as in openTSNE: on a busy 2-core machine two
        threads can be several times slower than one). UMAP with a fixed seed is single-threaded.
    **kwargs
        Passed to ``openTSNE.TSNE`` (e.g. ``perplexity=30``, ``n_iter=500``) or ``umap.UMAP``
        (e.g. ``n_neighbors=15``, ``min_dist=0.1``).

    Returns
    -------
    Embedding

    Notes
    -----
    PCA centres the data and projects it on the leading eigenvectors of its covariance; each
    axis is signed so that its largest-magnitude loading is positive (a deterministic sign).
    t-SNE in 2-D uses openTSNE's rule (``negative_gradient_method="auto"``: Barnes-Hut below
    10,000 points, the FFT-interpolated gradient above; pass ``negative_gradient_method="fft"``
    to force it); 3-D always uses Barnes-Hut, because the FFT scheme exists only up to two
    dimensions, so 3-D maps of many points are several times slower.
    t-SNE and UMAP keep local neighbourhoods, not distances or cluster sizes: read distances
    between far clusters in them with care. The k-NN accuracy of a map is a property of the
    picture; it is bounded by the k-NN accuracy of the activations themselves only loosely.
    """
    fn = "embed"
    method = check_choice("method", method, METHODS, fn)
    dims = check_int("dims", dims, fn, minimum=2, maximum=3)
    k = check_int("k", k, fn, minimum=1)
    seed = check_seed("seed", seed, fn)
    n_jobs = check_int("n_jobs", n_jobs, fn, minimum=1)
    data = _as_matrix(activations, "activations", fn)
    codes = _labels_for(labels, data.shape[0], fn)
    if init is not None:
        init = as_samples(init, "init", fn)
        if init.shape != (data.shape[0], dims):
            raise fail("init", fn, f"an array of shape ({data.shape[0]}, {dims})", init)
    explained = None
    params: dict[str, Any] = {"seed": seed}
    if method == "pca":
        if data.shape[1] < dims:
            raise fail("dims", fn, f"at most the number of features ({data.shape[1]}) for PCA", dims)
        coords, explained = _pca(data, dims)
        params = {}
    elif method == "tsne":
        coords, params = _tsne(data, dims, seed, init, n_jobs, kwargs)
    else:
        coords, params = _umap(data, dims, seed, init, n_jobs, kwargs)
    accuracy = knn_accuracy(coords, codes, k=k) if codes is not None else None
    kept = to_numpy(labels).reshape(-1) if labels is not None else None
    return Embedding(coords=coords, method=method, dims=dims, knn_accuracy=accuracy, labels=kept, k=k,
                     params=params, explained_variance_ratio=explained)


def embed_sequence(sequence: Sequence[Any], method: str = "pca", dims: int = 2, *, labels: Any = None,
                   align: bool = True, k: int = 10, seed: int = 0, n_jobs: int = 1,
                   **kwargs: Any) -> list[Embedding]:
    """Maps of the same samples at successive epochs, aligned so they read as an animation.

    Parameters
    ----------
    sequence : sequence of arrays of shape (n, ...)
        The activations of one layer for the same ``n`` samples (same order) at each epoch.
    method, dims, labels, k, seed, n_jobs, **kwargs
        As in :func:`embed`.
    align : bool
        With True (default), each t-SNE and UMAP map after the first is initialised from the
        previous map, and every map after the first is then rotated/reflected and translated onto
        its predecessor by orthogonal Procrustes (:func:`procrustes_align`; no scaling, so
        distances within a map are unchanged). With False, every map is computed independently.

    Returns
    -------
    list of Embedding
        One per epoch, in order.
    """
    fn = "embed_sequence"
    if isinstance(sequence, (str, bytes)) or not isinstance(sequence, Sequence) or len(sequence) == 0:
        raise fail("sequence", fn, "a non-empty list of activation arrays", sequence)
    n = _as_matrix(sequence[0], "sequence", fn).shape[0]
    for i, item in enumerate(sequence[1:], start=1):
        size = _as_matrix(item, "sequence", fn).shape[0]
        if size != n:
            raise fail("sequence", fn, f"arrays with the same number of samples ({n})",
                       got=f"{size} samples at position {i}")
    maps: list[Embedding] = []
    for item in sequence:
        previous = maps[-1] if maps else None
        init = previous.coords if (align and previous is not None and method in ("tsne", "umap")) else None
        current = embed(item, method, dims, labels=labels, k=k, seed=seed, init=init, n_jobs=n_jobs,
                        **kwargs)
        if align and previous is not None:
            current = _replace_coords(current, procrustes_align(current.coords, previous.coords))
        maps.append(current)
    return maps


def procrustes_align(coords: Any, reference: Any) -> np.ndarray:
    """Rotate/reflect and translate ``coords`` to best match ``reference`` (orthogonal Procrustes).

    Finds the orthogonal ``R`` minimising ``||(coords - mean) R - (reference - mean_ref)||_F`` and
    returns ``(coords - mean) R + mean_ref``. No scaling is applied, so every distance within the
    map is preserved.
    """
    fn = "procrustes_align"
    moving = as_samples(coords, "coords", fn)
    target = as_samples(reference, "reference", fn)
    if moving.shape != target.shape:
        raise fail("reference", fn, f"an array of the same shape as 'coords' {moving.shape}", target)
    from scipy.linalg import orthogonal_procrustes

    centre, target_centre = moving.mean(axis=0), target.mean(axis=0)
    rotation, _ = orthogonal_procrustes(moving - centre, target - target_centre)
    return (moving - centre) @ rotation + target_centre


def knn_accuracy(coords: Any, labels: Any, k: int = 10) -> float:
    """Leave-one-out k-nearest-neighbour class accuracy of points ``coords`` with ``labels``.

    Each point is classified by the majority label of its ``k`` nearest other points (Euclidean;
    ties go to the smallest label code) and the fraction classified correctly is returned.
    """
    fn = "knn_accuracy"
    k = check_int("k", k, fn, minimum=1)
    points = as_samples(coords, "coords", fn)
    codes = as_labels(labels, "labels", fn)
    n = check_same_length(fn, coords=points, labels=codes)
    if n <= k:
        raise fail("k", fn, f"smaller than the number of points ({n})", k)
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=k + 1).fit(points)
    _, neighbours = index.kneighbors(points)
    rows = np.arange(n)
    # drop the point itself (or, if it is tied with duplicates and not listed first, the farthest)
    is_self = neighbours == rows[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(neighbours, dtype=bool)
    keep[rows, drop] = False
    votes = codes[neighbours[keep].reshape(n, k)]
    n_classes = int(codes.max()) + 1
    counts = np.zeros((n, n_classes), dtype=np.int64)
    np.add.at(counts, (np.repeat(rows, k), votes.reshape(-1)), 1)
    return float(np.mean(counts.argmax(axis=1) == codes))


def _as_matrix(value: Any, name: str, fn: str) -> np.ndarray:
    """Flatten trailing dimensions and validate as (n, d) float64 samples."""
    try:
        arr = to_numpy(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise fail(name, fn, "a numeric array of shape (n, ...)", value) from err
    if arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    return as_samples(arr, name, fn, min_samples=3)


def _labels_for(labels: Any, n: int, fn: str) -> np.ndarray | None:
    if labels is None:
        return None
    codes = as_labels(labels, "labels", fn)
    if codes.shape[0] != n:
        raise fail("labels", fn, f"one label per sample ({n})", got=f"{codes.shape[0]} labels")
    return codes


def _pca(data: np.ndarray, dims: int) -> tuple[np.ndarray, tuple[float, ...]]:
    """Project centred data on the top ``dims`` covariance eigenvectors (deterministic signs).

    The data are divided by their largest absolute centred value first (and the coordinates
    multiplied back), so that squares neither underflow nor overflow at extreme scales.
    """
    centred = data - data.mean(axis=0)
    scale = float(np.abs(centred).max())
    if scale > 0 and np.isfinite(scale):
        centred = centred / scale
    else:
        scale = 1.0
    n, d = centred.shape
    if d <= n:
        eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(eigvals)[::-1][:dims]
        components = eigvecs[:, order]
        variances = np.clip(eigvals[order], 0.0, None)
        total = float(np.clip(eigvals, 0.0, None).sum())
    else:  # fewer samples than features: SVD of the data is cheaper than a d x d covariance
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        components = vt[:dims].T
        variances = singular[:dims] ** 2
        total = float(np.sum(singular**2))
    signs = np.sign(components[np.argmax(np.abs(components), axis=0), np.arange(dims)])
    components = components * np.where(signs == 0, 1.0, signs)
    ratio = tuple(float(v / total) if total > 0 else 0.0 for v in variances)
    return (centred @ components) * scale, ratio


def _tsne(data: np.ndarray, dims: int, seed: int, init: np.ndarray | None, n_jobs: int,
          options: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    open_tsne = require(*EXTRAS["tsne"])
    settings: dict[str, Any] = {"perplexity": 30.0,
                                "negative_gradient_method": "auto" if dims <= 2 else "bh"}
    settings.update(options)
    n = data.shape[0]
    # openTSNE needs 3 * perplexity < n - 1; shrink it for small inputs instead of failing
    settings["perplexity"] = float(min(settings["perplexity"], max((n - 2) / 3.0, 1.0)))
    initialization: Any = "pca"
    if init is not None:
        spread = float(np.std(init[:, 0]))
        initialization = init * (TSNE_INIT_STD / spread) if spread > 0 else init
    model = open_tsne.TSNE(n_components=dims, random_state=seed, n_jobs=n_jobs,
                           initialization=initialization, **settings)
    coords = np.asarray(model.fit(data), dtype=np.float64)
    settings.update(seed=seed, initialization="previous map" if init is not None else "pca")
    return coords, settings


def _umap(data: np.ndarray, dims: int, seed: int, init: np.ndarray | None, n_jobs: int,
          options: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    umap = require(*EXTRAS["umap"])
    settings: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1}
    settings.update(options)
    settings["n_neighbors"] = int(min(settings["n_neighbors"], data.shape[0] - 1))
    model = umap.UMAP(n_components=dims, random_state=seed, n_jobs=n_jobs,
                      init=init if init is not None else "spectral", **settings)
    with warnings.catch_warnings():  # a fixed random_state makes UMAP single-threaded, and says so
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        coords = np.asarray(model.fit_transform(data), dtype=np.float64)
    settings.update(seed=seed, initialization="previous map" if init is not None else "spectral")
    return coords, settings


def _replace_coords(embedding: Embedding, coords: np.ndarray) -> Embedding:
    """The same embedding with rotated coordinates (k-NN accuracy is rotation invariant)."""
    return dataclasses.replace(embedding, coords=coords)
