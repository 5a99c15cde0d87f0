"""Input coercion and parameter checks: one error type, one message shape."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import infolens as il
from infolens import InfoLensError
from infolens._units import check_units, from_nats, nats_per_unit, to_nats
from infolens._validation import (
    FINITE_CHUNK,
    as_labels,
    as_samples,
    check_choice,
    check_float,
    check_int,
    check_probability_level,
    check_same_length,
    count_nonfinite,
    fail,
    unique_row_codes,
)


def test_message_shape() -> None:
    err = fail("k", "estimate_mi", "an int >= 1", 0)
    assert isinstance(err, InfoLensError) and isinstance(err, ValueError)
    assert str(err) == "The 'k' parameter of estimate_mi must be an int >= 1. Got 0 instead."
    assert str(fail("x", "f", "finite", got="3 NaN")) == (
        "The 'x' parameter of f must be finite. Got 3 NaN instead.")
    # arrays are described by shape and dtype, small ones with their values
    assert "shape (2,) and dtype int64 with values [1, 2]" in str(fail("x", "f", "e", np.array([1, 2])))
    assert "with values" not in str(fail("x", "f", "e", np.zeros(100)))
    assert "dtype torch.float32" in str(fail("x", "f", "e", torch.zeros(3)))
    long = str(fail("x", "f", "e", "a" * 200))
    assert long.endswith("... instead.") and len(long) < 160


def test_as_samples_shapes_and_dtypes() -> None:
    out = as_samples([1, 2, 3], "x", "f")
    assert out.shape == (3, 1) and out.dtype == np.float64 and out.flags.c_contiguous
    assert as_samples(np.array([[True], [False]]), "x", "f").tolist() == [[1.0], [0.0]]
    fortran = np.asfortranarray(np.arange(6.0).reshape(3, 2))
    assert as_samples(fortran, "x", "f").flags.c_contiguous
    tensor = torch.arange(6.0, requires_grad=True).reshape(3, 2)
    np.testing.assert_array_equal(as_samples(tensor, "x", "f"), np.arange(6.0).reshape(3, 2))
    assert as_samples(np.float32([[1.5], [2.5]]), "x", "f").dtype == np.float64


@pytest.mark.parametrize(("value", "kwargs", "match"), [
    (np.zeros((2, 2, 2)), {}, r"'x' parameter of f must be an array of shape \(n,\) or \(n, d\). "
                              r"Got an array of shape \(2, 2, 2\)"),
    (np.zeros((3, 0)), {}, r"at least one column"),
    ([1.0], {}, r"at least 2 samples. Got 1 samples instead"),
    (np.zeros((3, 1)), {"min_samples": 4}, r"at least 4 samples. Got 3 samples"),
    ([1.0, np.nan, np.inf], {}, r"finite \(no NaN or inf\). Got 2 non-finite values instead"),
    (np.array([1 + 2j, 3j]), {}, r"real numeric array \(not complex, object or string\).*complex128"),
    (np.array([None, 1.0], dtype=object), {}, r"real numeric.*dtype object"),
    (np.array(["a", None], dtype=object), {}, r"real numeric.*dtype object"),  # strings are labels
    (np.c_[np.arange(5.0), np.ones(5), np.zeros(5)], {"allow_constant": False},
     r"free of constant \(zero-variance\) columns. Got constant columns \[1, 2\] instead"),
    (torch.tensor([1.0, float("nan")]), {}, r"finite.*Got 1 non-finite"),
    (torch.tensor([1 + 1j, 2j]), {}, r"real numeric"),
])
def test_as_samples_refuses(value, kwargs: dict, match: str) -> None:
    with pytest.raises(InfoLensError, match=match):
        as_samples(value, "x", "f", **kwargs)


def test_as_samples_allows_constant_columns_by_default() -> None:
    assert as_samples(np.ones((4, 2)), "x", "f").shape == (4, 2)


def test_unique_row_codes() -> None:
    np.testing.assert_array_equal(unique_row_codes(np.array([[3.0], [1.0], [3.0], [2.0]])), [2, 0, 2, 1])
    rows = np.array([[1, 0], [0, 1], [1, 0], [1, 1], [0, 1]])
    codes = unique_row_codes(rows)
    _, expected = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(codes, expected.reshape(-1))
    assert codes.dtype == np.int64


@pytest.mark.parametrize("rows", [
    np.random.default_rng(0).integers(-5, 5, (200, 4)).astype(np.float64),  # mixed-radix path
    np.random.default_rng(1).integers(0, 2**20, (200, 4)),  # radix too large: np.unique(axis=0)
    np.random.default_rng(2).random((200, 3)).round(1),  # non-integral floats
])
def test_unique_row_codes_agrees_with_numpy(rows: np.ndarray) -> None:
    _, expected = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(unique_row_codes(rows), expected.reshape(-1))


def test_count_nonfinite_in_chunks() -> None:
    """NaN/inf are found in every chunk, the last included, for arrays and tensors, contiguous
    or not; ``first`` stops at the first chunk holding one; integer and bool inputs count 0."""
    rows = FINITE_CHUNK // 1000 * 3 + 7  # three full chunks of 1000-value rows and a partial one
    arr = np.zeros((rows, 1000), dtype=np.float32)
    assert count_nonfinite(arr) == 0 and count_nonfinite(torch.from_numpy(arr)) == 0
    arr[-1, -1], arr[-1, 3], arr[0, 0] = np.nan, np.inf, -np.inf
    for value in (arr, torch.from_numpy(arr), arr.T, torch.from_numpy(arr).T, arr[:, ::-1]):
        assert count_nonfinite(value) == 3
    assert count_nonfinite(arr, first=True) == 1  # the first chunk holds only arr[0, 0]
    arr[0, 0] = 0.0
    assert count_nonfinite(arr, first=True) == 2  # found in the last chunk
    assert count_nonfinite(np.float64("nan")) == 1 and count_nonfinite(torch.tensor(1.0)) == 0
    assert count_nonfinite(np.arange(5)) == 0 and count_nonfinite(torch.ones(3, dtype=torch.bool)) == 0
    assert count_nonfinite(np.zeros((0, 3))) == 0 and count_nonfinite(torch.zeros(0, 3)) == 0  # no rows
    with pytest.raises(InfoLensError) as err:
        as_samples(arr, "x", "f", keep_float32=True)
    assert str(err.value) == ("The 'x' parameter of f must be finite (no NaN or inf). Got 2 non-finite "
                              "values instead.")
    message = r"^The 'x' parameter of InformationPlane must be finite \(no NaN or inf\)\. Got an array"
    with pytest.raises(InfoLensError, match=message):
        il.InformationPlane(torch.from_numpy(arr), np.arange(rows) % 2)


def test_as_samples_keep_float32() -> None:
    arr = np.arange(12, dtype=np.float32).reshape(6, 2)
    kept = as_samples(arr, "x", "f", keep_float32=True)
    assert kept.dtype == np.float32 and np.shares_memory(kept, arr)
    assert as_samples(arr, "x", "f").dtype == np.float64
    assert as_samples(arr.astype(np.float16), "x", "f", keep_float32=True).dtype == np.float64


def test_as_labels() -> None:
    np.testing.assert_array_equal(as_labels([5, 7, 5], "y", "f"),
                                  [0, 1, 0])
    np.testing.assert_array_equal(as_labels(np.array([[0, 1], [0, 1], [1, 0]]), "y", "f"), [0, 0, 1])
    with pytest.raises(InfoLensError, match=r"'y' parameter of f must be finite"):
        as_labels([1.0, np.nan], "y", "f")


@pytest.mark.parametrize(("value", "kwargs", "match"), [
    (0, {"minimum": 1}, r"'k' parameter of f must be an int >= 1. Got 0 instead."),
    (True, {"minimum": 1}, r"an int >= 1. Got True instead"),
    (2.0, {}, r"must be an int. Got 2.0 instead"),
    ("3", {}, r"Got '3' instead"),
    (11, {"minimum": 1, "maximum": 10}, r"an int >= 1 and <= 10. Got 11"),
])
def test_check_int_refuses(value, kwargs: dict, match: str) -> None:
    with pytest.raises(InfoLensError, match=match):
        check_int("k", value, "f", **kwargs)


def test_check_int_accepts_numpy_integers() -> None:
    assert check_int("k", np.int64(3), "f", minimum=1) == 3
    assert type(check_int("k", np.int32(3), "f")) is int


@pytest.mark.parametrize(("value", "kwargs", "match"), [
    (0.0, {"minimum": 0.0, "strict_minimum": True}, r"a finite float > 0.0. Got 0.0 instead"),
    (-1, {"minimum": 0.0}, r"a finite float >= 0.0. Got -1 instead"),
    (float("nan"), {}, r"a finite float. Got nan"),
    (float("inf"), {}, r"Got inf"),
    (False, {}, r"Got False"),
    ("0.1", {}, r"Got '0.1'"),
    (2.0, {"maximum": 1.0}, r"<= 1.0. Got 2.0"),
])
def test_check_float_refuses(value, kwargs: dict, match: str) -> None:
    with pytest.raises(InfoLensError, match=match):
        check_float("noise_var", value, "f", **kwargs)


def test_check_float_accepts_ints_and_numpy() -> None:
    assert check_float("s", 1, "f") == 1.0 and type(check_float("s", np.float32(0.5), "f")) is float


def test_choice_level_and_length_checks() -> None:
    assert check_choice("bound", "upper", ("upper", "lower"), "f") == "upper"
    with pytest.raises(InfoLensError, match=r"'bound' parameter of f must be one of 'upper', "
                                            r"'lower'. Got 'UPPER' instead"):
        check_choice("bound", "UPPER", ("upper", "lower"), "f")
    with pytest.raises(InfoLensError, match=r"Got 3 instead"):
        check_choice("bound", 3, ("upper",), "f")
    assert check_probability_level("ci", 0.95, "f") == 0.95
    for bad in (0.0, 1.0, -0.5, True, "0.9"):
        with pytest.raises(InfoLensError, match=r"'ci' .*strictly between 0 and 1"):
            check_probability_level("ci", bad, "f")
    assert check_same_length("f", x=np.zeros(3), y=np.zeros((3, 2))) == 3
    with pytest.raises(InfoLensError, match=r"'z' parameter of f must be as long as 'x' "
                                            r"\(3 samples\). Got 2 samples instead"):
        check_same_length("f", x=np.zeros(3), y=np.zeros(3), z=np.zeros(2))


def test_units() -> None:
    assert check_units("bits", "f") == "bits" and check_units("nats", "f") == "nats"
    with pytest.raises(InfoLensError, match=r"'units' parameter of f must be one of 'bits', 'nats'. "
                                            r"Got 'Bits' instead"):
        check_units("Bits", "f")
    assert from_nats(np.log(2), "bits") == pytest.approx(1.0)
    assert to_nats(1.0, "bits") == pytest.approx(np.log(2))
    assert from_nats(1.5, "nats") == 1.5 and nats_per_unit("bits") == pytest.approx(np.log(2))
    tensor = from_nats(torch.tensor([np.log(2)]), "bits")
    assert isinstance(tensor, torch.Tensor) and float(tensor) == pytest.approx(1.0)
