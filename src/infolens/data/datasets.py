"""Train/test splits of the built-in offline data sets: ``szt12``, ``mnist1d`` and ``digits``.

Nothing here touches the network: MNIST-1D is generated with the ``mnist1d`` package's own
``make_dataset`` (never its downloader) and digits ships with scikit-learn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from infolens._validation import (
    as_samples,
    check_choice,
    check_float,
    check_int,
    check_same_length,
    check_seed,
    fail,
    is_discrete,
    to_numpy,
)
from infolens.data.szt12 import szt12

DATASETS = ("szt12", "mnist1d", "digits")
"""The names :func:`load` accepts."""


@dataclass(frozen=True, eq=False)
class Split:
    """A train/test split of one data set.

    Attributes
    ----------
    x_train, y_train, x_test, y_test : ndarray
        Inputs (n, d) float32 (int64 for token ids) and integer labels (n,) int64 in
        ``0..n_classes-1``.
    name : str
        The data set's name ("" when unnamed).
    n_classes : int
        Number of classes (``max label + 1``).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    n_classes: int

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if np.ndim(x) != 2 or np.ndim(y) != 1 or len(x) != len(y):
                raise fail(f"x_{part}", "Split", f"a 2-D array with one row per entry of y_{part}", x,
                           got=f"shapes {np.shape(x)} and {np.shape(y)}")
        if np.shape(self.x_train)[1] != np.shape(self.x_test)[1]:
            raise fail("x_test", "Split", f"{np.shape(self.x_train)[1]} columns like x_train", self.x_test)

    @property
    def x(self) -> np.ndarray:
        """All inputs, train then test."""
        return np.concatenate([self.x_train, self.x_test])

    @property
    def y(self) -> np.ndarray:
        """All labels, train then test."""
        return np.concatenate([self.y_train, self.y_test])

    @property
    def n_features(self) -> int:
        """Input dimension ``d``."""
        return int(self.x_train.shape[1])

    def __repr__(self) -> str:
        return (f"Split(name={self.name!r}, n_train={len(self.y_train)}, n_test={len(self.y_test)}, "
                f"n_features={self.n_features}, n_classes={self.n_classes})")


def split(x: Any, y: Any, test_size: float = 0.2, seed: int = 0, name: str = "") -> Split:
    """Shuffle ``(x, y)`` with a seeded permutation and split it into train and test parts.

    Parameters
    ----------
    x : array-like of shape (n, d)
        Inputs; stored as float32, or as int64 when integer-typed (token ids stay ids).
    y : array-like of shape (n,)
        Integer class labels ``>= 0``; stored as int64.
    test_size : float in (0, 1)
        Fraction of samples in the test part, ``round(test_size * n)``; both parts get at least
        one sample. Not stratified.
    seed : int
        Seed of ``numpy.random.default_rng`` for the permutation.
    name : str
        Name carried by the returned :class:`Split`.
    """
    fn = "split"
    x_arr = as_samples(x, "x", fn).astype(np.int64 if is_discrete(x) else np.float32)
    try:
        labels = to_numpy(y)
    except (TypeError, ValueError, RuntimeError) as err:  # ragged, meta
        raise fail("y", fn, "a 1-D array of integer labels >= 0", y) from err
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or (labels < 0).any():
        raise fail("y", fn, "a 1-D array of integer labels >= 0", y)
    n = check_same_length(fn, x=x_arr, y=labels)
    test_size = check_float("test_size", test_size, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    seed = check_seed("seed", seed, fn)
    n_test = int(round(test_size * n))
    if not 1 <= n_test <= n - 1:
        raise fail("test_size", fn, f"a fraction leaving at least one train and one test sample of {n}",
                   test_size)
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return Split(x_train=x_arr[train], y_train=labels[train].astype(np.int64),
                 x_test=x_arr[test], y_test=labels[test].astype(np.int64),
                 name=str(name), n_classes=int(labels.max()) + 1)


def mnist1d(n_samples: int = 4000, seed: int = 0, test_size: float = 0.2) -> Split:
    """MNIST-1D (Greydanus 2020), generated offline: 10 classes of length-40 signals.

    Parameters
    ----------
    n_samples : int
        Total number of samples; the generator makes ``n_samples // 10`` per class, so a value that
        is not a multiple of 10 is rounded down.
    seed : int
        Seed of the generator (the package's ``args.seed``); it also drives the shuffle.
    test_size : float in (0, 1)
        Fraction held out for testing (the generator's ``train_split = 1 - test_size``).

    Notes
    -----
    The package's ``make_dataset`` reseeds Python's and NumPy's global random generators; their
    states are saved and restored around the call, so calling this has no global side effect.
    Inputs are standardised by the generator (mean 0, std 1 over the whole set). Needs the
    ``mnist1d`` package (``pip install "infolens[data]"``).

    References
    ----------
    S. Greydanus and D. Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024.
    """
    fn = "mnist1d"
    n_samples = check_int("n_samples", n_samples, fn, minimum=20)
    seed = check_seed("seed", seed, fn)
    test_size = check_float("test_size", test_size, fn, minimum=0.0, maximum=0.95, strict_minimum=True)
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError('mnist1d() needs the mnist1d package: pip install "infolens[data]"') from err
    args = get_dataset_args()
    args.num_samples = n_samples
    args.seed = seed
    args.train_split = 1.0 - test_size
    # make_dataset reseeds the legacy global generators: keep the caller's states intact
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    return Split(x_train=np.asarray(data["x"], dtype=np.float32),
                 y_train=np.asarray(data["y"], dtype=np.int64),
                 x_test=np.asarray(data["x_test"], dtype=np.float32),
                 y_test=np.asarray(data["y_test"], dtype=np.int64),
                 name="mnist1d", n_classes=10)


def digits(seed: int = 0, test_size: float = 0.2) -> Split:
    """scikit-learn's 8x8 handwritten digits (1797 samples, 10 classes), pixels scaled to [0, 1].

    Inputs are float32 of shape (n, 64) (the 0..16 intensities divided by 16); the split is
    :func:`split` with ``seed`` and ``test_size``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return split(bunch.data / 16.0, bunch.target, test_size=test_size, seed=seed, name="digits")


def load(name: str, seed: int = 0) -> Split:
    """One of the built-in data sets by name, split 80/20 with ``seed``.

    ``"szt12"`` is ``split(*szt12(), 0.2, seed)``; ``"mnist1d"`` is ``mnist1d(seed=seed)`` (4000
    samples); ``"digits"`` is ``digits(seed)``.
    """
    name = check_choice("name", name, DATASETS, "load")
    seed = check_seed("seed", seed, "load")
    if name == "szt12":
        return split(*szt12(), 0.2, seed, name="szt12")
    if name == "mnist1d":
        return mnist1d(seed=seed)
    return digits(seed=seed)
