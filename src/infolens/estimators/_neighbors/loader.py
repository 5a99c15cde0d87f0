"""The loader of the compiled k-NN kernels (``_knn_kernels.c``, built at install where a C
compiler exists).

The kernels walk scikit-learn's KD-tree through its arrays (``KDTree.get_arrays``) and assume its
heap layout: node i's children are 2i + 1 and 2i + 2 and split node i's rows. That layout is not a
public promise of scikit-learn, so it is checked on a small tree when the kernels are loaded
(:func:`heap_ordered`); where it no longer holds, or the library is missing or out of date,
:func:`kernels` returns None and every strategy takes its pure-Python fallback (same results,
slower).

Callers use ``loader.kernels()`` through this module, so that a test can switch the kernels off in
one place.
"""

from __future__ import annotations

import ctypes
import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from infolens._validation import InfoLensWarning

#: Leaf size of the kernels' KD-tree (:class:`~infolens.estimators._neighbors.tree.KernelTree`).
#: KSG at N = 1e5 with leaves of 16 / 30 / 50: 0.100 / 0.093 / 0.092 s at 1+1 dims,
#: 2.57 / 2.71 / 3.17 s at 5+5.
TREE_LEAF = 30


@lru_cache(maxsize=1)
def kernels() -> Any:
    """The compiled kernels of ``_knn_kernels.c`` (a ctypes library), or None where it was not built
    (or where scikit-learn's tree arrays no longer have the layout the kernels read)."""
    try:
        from infolens.estimators import _knn_kernels
    except ImportError:
        return None
    lib = ctypes.CDLL(_knn_kernels.__file__)
    names = ("infolens_count_within", "infolens_nearest", "infolens_distance_rows",
             "infolens_sorted_count", "infolens_max_dim")
    if not all(hasattr(lib, name) for name in names):  # built from an older _knn_kernels.c
        warnings.warn(f"The compiled k-NN kernels in {_knn_kernels.__file__} are out of date; the "
                      "slower fallback is used. Reinstall infolens (pip install -e .) to rebuild them.",
                      InfoLensWarning, stacklevel=2)
        return None
    pointer, size, flag = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
    # points, dim, group_end, n_groups, euclidean, start, end, leaf, lo, hi, n_nodes
    tree = [pointer, size, pointer, size, flag, pointer, pointer, pointer, pointer, pointer, size]
    lib.infolens_count_within.argtypes = [*tree, pointer, pointer, size, flag, pointer]
    lib.infolens_nearest.argtypes = [*tree, pointer, size, pointer, pointer, size, pointer, pointer]
    lib.infolens_distance_rows.argtypes = [pointer, size, pointer, size, size, pointer]
    lib.infolens_sorted_count.argtypes = [pointer, pointer, size, flag, pointer]
    lib.infolens_max_dim.argtypes = []
    lib.infolens_max_dim.restype = size
    for name in names[:-1]:
        getattr(lib, name).restype = None
    from sklearn.neighbors import KDTree

    probe = KDTree(np.random.default_rng(0).standard_normal((500, 3)), leaf_size=TREE_LEAF)
    return lib if heap_ordered(probe.get_arrays()[2]) else None


def serves(dim: int) -> bool:
    """Whether the compiled tree kernels exist and take points of dimension ``dim``."""
    lib = kernels()
    return lib is not None and dim <= lib.infolens_max_dim()


def heap_ordered(nodes: np.ndarray) -> bool:
    """Whether node i's children are 2i + 1 and 2i + 2, splitting its rows: what the kernel reads."""
    start, end = nodes["idx_start"], nodes["idx_end"]
    inner = np.flatnonzero(nodes["is_leaf"] == 0)
    if inner.size == 0:
        return True
    if 2 * inner.max() + 2 >= len(nodes):
        return False
    left, right = 2 * inner + 1, 2 * inner + 2
    return bool(np.all(start[left] == start[inner]) and np.all(end[left] == start[right])
                and np.all(end[right] == end[inner]))

