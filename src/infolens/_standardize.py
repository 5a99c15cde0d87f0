"""Standardisation with a training part's statistics, for numpy arrays and torch tensors alike."""

from __future__ import annotations

from typing import Any

import numpy as np

from infolens._validation import _is_tensor


def standardize(train: Any, *others: Any, ddof: int = 1, rel_tol: float = 0.0) -> list[Any]:
    """``(a - mean) / std`` for ``train`` and each of ``others``, with ``train``'s column statistics.

    Parameters
    ----------
    train : array-like or tensor of shape (n, d)
        The part whose mean and standard deviation are used (no information from ``others``
        leaks into the scaling). A tensor keeps its dtype and device; anything else becomes a
        float64 numpy array, and so do ``others``.
    *others : arrays or tensors of shape (m, d)
        Further parts scaled the same way (validation, test).
    ddof : int
        Delta degrees of freedom of the standard deviation (1: the sample standard deviation,
        torch's default; 0: numpy's). With ``n <= ddof`` rows every column is only centred.
    rel_tol : float
        A column is constant, and only centred (std taken as 1), when its standard deviation is
        not above ``rel_tol * (1 + |mean|)``; 0 treats only exactly constant columns so.

    Returns
    -------
    list
        ``[train, *others]`` standardised.
    """
    if _is_tensor(train):
        import torch

        mean = train.mean(dim=0)
        std = train.std(dim=0, correction=ddof) if train.shape[0] > ddof else torch.ones_like(mean)
        std = torch.where(std > rel_tol * (1.0 + mean.abs()), std, torch.ones_like(std))
    else:
        train = np.asarray(train, dtype=np.float64)
        others = tuple(np.asarray(o, dtype=np.float64) for o in others)
        mean = train.mean(axis=0)
        std = train.std(axis=0, ddof=ddof) if train.shape[0] > ddof else np.ones_like(mean)
        std = np.where(std > rel_tol * (1.0 + np.abs(mean)), std, 1.0)
    return [(part - mean) / std for part in (train, *others)]
