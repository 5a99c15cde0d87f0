"""How tightly a layer's representations cluster by class: the between-class variance fraction.

Goldfeld et al. (2019) show that in noisy networks the compression of ``I(X; T)`` goes with the
clustering of the representations ``T`` of same-class inputs. :func:`class_clustering` measures
that clustering per epoch as the fraction of the layer's total variance explained by the class
labels (the squared correlation ratio ``eta^2`` of Fisher; the ratio of between-class to total
sum of squares, whose normalized quotient is the Calinski-Harabasz index)::

    eta^2 = sum_c n_c ||mu_c - mu||^2 / sum_i ||t_i - mu||^2   in [0, 1]

with ``mu_c`` the mean of class c and ``mu`` the overall mean. It is 1 when every class has
collapsed onto its own point (perfect clustering), 0 when all class means coincide (the classes
are indistinguishable on average), and about ``(C - 1) / (n - 1)`` for C classes of samples drawn
from one distribution. It is invariant to rotations, translations and a common rescaling of
``T`` (so layers of different widths and scales compare), and is computed from per-class sums in
one pass: O(n d) time and O(C d) memory beyond the data, 5,000 x 1,024 activations in
milliseconds. Unlike a silhouette score it needs no pairwise distances; it reads cluster
tightness in squared Euclidean terms, so a few far outliers weigh strongly.

References
----------
Z. Goldfeld et al., "Estimating information flow in deep neural networks", ICML 2019.
R. A. Fisher, "Statistical methods for research workers", 1925 (the correlation ratio).
T. Calinski and J. Harabasz, "A dendrite method for cluster analysis", Communications in
Statistics 3 (1974) 1-27.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infolens._validation import as_labels, as_samples, check_same_length, fail, to_numpy


def class_clustering(t: Any, y: Any) -> float:
    """The fraction of the variance of ``t`` explained by the classes ``y`` (``eta^2``, in [0, 1]).

    Parameters
    ----------
    t : array-like or tensor of shape (n,) or (n, ...)
        Representations, one row per sample (trailing dimensions are flattened).
    y : array-like of shape (n,)
        Class labels; each distinct value is one class.

    Returns
    -------
    float
        ``sum_c n_c ||mu_c - mu||^2 / sum_i ||t_i - mu||^2``: 1 for classes collapsed onto
        distinct points, 0 when the class means coincide. When all rows of ``t`` are equal
        (no variance at all) it is 0: the representation carries no class structure.

    Examples
    --------
    >>> import infolens as il
    >>> il.class_clustering([[0.0], [0.0], [5.0], [5.0]], [0, 0, 1, 1])
    1.0
    """
    fn = "class_clustering"
    arr = to_numpy(t)
    if arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], -1)
    samples = as_samples(arr, "t", fn, min_samples=2)
    labels = as_labels(y, "y", fn, min_samples=2)
    if to_numpy(y).ndim != 1:
        raise fail("y", fn, "an array of labels of shape (n,)", y)
    check_same_length(fn, t=samples, y=labels)
    centred = samples - samples.mean(axis=0)
    total = float(np.einsum("ij,ij->", centred, centred))
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sums = np.add.reduceat(centred[order], starts, axis=0)  # per-class sums of centred rows
    between = float(np.sum(np.einsum("cj,cj->c", sums, sums) / counts))
    if total <= 0.0:
        return 0.0
    return min(max(between / total, 0.0), 1.0)


__all__ = ["class_clustering"]
