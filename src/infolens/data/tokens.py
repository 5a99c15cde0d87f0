"""A token-sequence task whose label needs several tokens and is not linear in the input.

``marker_count``: each sequence holds ``length`` token ids from a vocabulary of ``vocab``
symbols; id 0 is the *marker*, which occurs ``c`` times at random positions (``c`` uniform in
``0 .. periods * n_classes - 1``), the other positions hold filler ids ``1 .. vocab - 1``. The
label is ``c mod n_classes``. No single token or position determines it: a model has to count
the marker over the whole sequence and then fold the count. Because the label is periodic in the
count, no linear read-out of the one-hot tokens (or of their counts) predicts it much above
chance, so an untrained network, whose layers are fixed random features of the tokens, carries
little *usable* information about it, while a small transformer (attention averages the marker's
indicator, its MLP folds the frequency) learns it in a few epochs on a CPU.
"""

from __future__ import annotations

import numpy as np

from infolens._validation import check_float, check_int, check_seed, fail
from infolens.data.datasets import Split, split

__all__ = ["marker_count"]


def marker_count(n_samples: int = 4000, *, length: int = 32, vocab: int = 16, n_classes: int = 4,
                 periods: int = 4, seed: int = 0, test_size: float = 0.2) -> Split:
    """Sequences of token ids labelled by how often the marker (id 0) occurs, modulo ``n_classes``.

    Parameters
    ----------
    n_samples : int
        Sequences in all (train + test); the count, and so the label, is balanced up to one.
    length : int
        Tokens per sequence; at least ``periods * n_classes - 1``.
    vocab : int
        Vocabulary size (id 0 the marker, ``1 .. vocab - 1`` filler).
    n_classes : int
        Number of classes: the label is ``count mod n_classes``.
    periods : int
        The count takes ``periods * n_classes`` values, so each label has ``periods`` counts.
    seed : int
        Seed of the generator and of the train/test split.
    test_size : float
        Fraction held out (:func:`~infolens.data.split`).

    Returns
    -------
    Split
        ``x_*`` int64 token ids of shape (n, length); ``y_*`` int64 labels in ``0..n_classes-1``.
    """
    fn = "marker_count"
    n_classes = check_int("n_classes", n_classes, fn, minimum=2)
    periods = check_int("periods", periods, fn, minimum=1)
    n_samples = check_int("n_samples", n_samples, fn, minimum=2 * n_classes)
    vocab = check_int("vocab", vocab, fn, minimum=2)
    length = check_int("length", length, fn, minimum=1)
    test_size = check_float("test_size", test_size, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    n_counts = periods * n_classes
    if length < n_counts - 1:
        raise fail("length", fn, f"at least {n_counts - 1} tokens (room for the marker's largest count, "
                   f"periods * n_classes - 1)", length)
    rng = np.random.default_rng(check_seed("seed", seed, fn))
    counts = rng.permutation(np.arange(n_samples) % n_counts)
    tokens = rng.integers(1, vocab, size=(n_samples, length))
    tokens[np.arange(length) < counts[:, None]] = 0
    tokens = rng.permuted(tokens, axis=1)
    return split(tokens, counts % n_classes, test_size=test_size, seed=seed, name="marker-count")
