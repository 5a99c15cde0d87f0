"""The one standardisation (numpy and torch): the training part's statistics, constant columns only
centred, the same numbers from both backends (to summation-order rounding)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infolens._standardize import standardize


def test_training_statistics_scale_every_part() -> None:
    train = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    test = np.array([[3.0, 6.0]])
    a, b = standardize(train, test)  # ddof=1: std of (1, 3, 5) is 2
    np.testing.assert_array_equal(a, [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(b, [[0.0, 1.0]])  # the constant column is only centred
    a0, _ = standardize(train, test, ddof=0)  # numpy's std of (1, 3, 5) is sqrt(8 / 3)
    np.testing.assert_allclose(a0[:, 0], [-2.0, 0.0, 2.0] / np.sqrt(8.0 / 3.0), rtol=1e-15)


def test_numpy_and_torch_agree() -> None:
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(50, 3)) * 7.0 + 2.0, rng.normal(size=(10, 3))
    for ddof in (0, 1):
        ours = standardize(torch.from_numpy(train), torch.from_numpy(test), ddof=ddof)
        for tensor, array in zip(ours, standardize(train, test, ddof=ddof), strict=True):
            assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float64
            np.testing.assert_allclose(tensor.numpy(), array, rtol=1e-13, atol=1e-14)  # summation order


@pytest.mark.parametrize("as_tensor", [False, True])
def test_numerically_constant_columns_with_a_tolerance(as_tensor) -> None:
    column = np.full(4, 1e6) + np.array([0.0, 1e-10, 0.0, 1e-10])  # std 6e-11 << 1e-12 * 1e6
    train = np.stack([column, np.arange(4.0)], axis=1)
    data = torch.from_numpy(train) if as_tensor else train
    loose = np.asarray(standardize(data, rel_tol=1e-12)[0])
    np.testing.assert_allclose(loose[:, 0], column - column.mean(), atol=1e-9)  # centred, not scaled
    exact = np.asarray(standardize(data)[0])
    assert np.abs(exact[:, 0]).max() > 0.5  # without the tolerance the rounding noise is blown up


def test_a_single_row_is_only_centred() -> None:
    one = torch.tensor([[2.0, -1.0]], dtype=torch.float64)
    (out,) = standardize(one)
    assert out.tolist() == [[0.0, 0.0]]
