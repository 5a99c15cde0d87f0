"""The built-in data sets: the 12-bit task's pinned statistics and symmetry, splits, loaders."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from infolens import InfoLensError, entropy
from infolens.data import DATASETS, Split, digits, load, mnist1d, split, szt12
from infolens.data.szt12 import ICOSAHEDRON


@pytest.fixture(scope="module")
def task() -> tuple[np.ndarray, np.ndarray]:
    return szt12()


def test_szt12_inputs_are_all_12_bit_patterns_msb_first(task):
    x, y = task
    assert x.shape == (4096, 12) and x.dtype == np.float32
    assert y.shape == (4096,) and y.dtype == np.int64
    weights = 2 ** np.arange(11, -1, -1)
    np.testing.assert_array_equal(x.astype(np.int64) @ weights, np.arange(4096))
    np.testing.assert_array_equal(x[1], [0] * 11 + [1])


def test_szt12_label_marginal_and_entropy(task):
    _, y = task
    assert int(y.sum()) == 2118
    h = entropy(np.bincount(y) / y.size)
    assert h == pytest.approx(0.99916, abs=5e-6)


def test_szt12_label_rate_by_number_of_active_bits(task):
    x, y = task
    active = x.sum(axis=1).astype(int)
    assert (y[active < 5] == 0).all()
    assert (y[active > 7] == 1).all()
    rates = [y[active == k].mean() for k in (5, 6, 7)]
    np.testing.assert_allclose(rates, [0.0758, 0.5758, 0.9242], atol=5e-5)
    # exact counts behind the rates: 60/792, 532/924, 732/792
    assert [int(y[active == k].sum()) for k in (5, 6, 7)] == [60, 532, 732]


def test_icosahedron_is_regular_with_unit_edge():
    dist = np.linalg.norm(ICOSAHEDRON[:, None] - ICOSAHEDRON[None], axis=2)
    neighbours = np.isclose(dist, 1.0).sum(axis=1)
    np.testing.assert_array_equal(neighbours, 5)
    radius = np.linalg.norm(ICOSAHEDRON, axis=1)
    np.testing.assert_allclose(radius, radius[0])


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    a = axis / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _vertex_permutation(rot: np.ndarray) -> np.ndarray:
    moved = ICOSAHEDRON @ rot.T
    dist = np.linalg.norm(moved[:, None] - ICOSAHEDRON[None], axis=2)
    perm = dist.argmin(axis=1)
    assert np.allclose(dist[np.arange(12), perm], 0.0, atol=1e-12), "rotation must map vertices to vertices"
    assert sorted(perm) == list(range(12))
    return perm


def _icosahedral_group() -> set[tuple[int, ...]]:
    five = _vertex_permutation(_rotation(ICOSAHEDRON[0], 2 * np.pi / 5))
    dist = np.linalg.norm(ICOSAHEDRON[:, None] - ICOSAHEDRON[None], axis=2)
    face = next(f for f in itertools.combinations(range(12), 3)
                if all(np.isclose(dist[i, j], 1.0) for i, j in itertools.combinations(f, 2)))
    three = _vertex_permutation(_rotation(ICOSAHEDRON[list(face)].mean(axis=0), 2 * np.pi / 3))
    group = {tuple(range(12))}
    frontier = list(group)
    while frontier:  # closure under composition with the two generators
        g = np.array(frontier.pop())
        for gen in (five, three):
            h = tuple(gen[g])
            if h not in group:
                group.add(h)
                frontier.append(h)
    return group


def test_szt12_labels_are_invariant_under_the_icosahedral_rotations(task):
    x, y = task
    group = _icosahedral_group()
    assert len(group) == 60  # the rotation group of the icosahedron
    weights = 2 ** np.arange(11, -1, -1)
    for perm in group:
        moved = np.zeros_like(x)
        moved[:, list(perm)] = x  # bit i moves to the vertex that v_i is rotated onto
        np.testing.assert_array_equal(y[moved.astype(np.int64) @ weights], y)


def test_szt12_labels_are_not_invariant_under_an_arbitrary_permutation(task):
    # guards the invariance test against being vacuous
    x, y = task
    weights = 2 ** np.arange(11, -1, -1)
    perm = [1, 0] + list(range(2, 12))  # a transposition is no rotation
    moved = np.zeros_like(x)
    moved[:, perm] = x
    assert (y[moved.astype(np.int64) @ weights] != y).any()


def test_split_is_seeded_disjoint_and_complete():
    x = np.arange(100, dtype=np.float64).reshape(50, 2)
    y = np.arange(50) % 3
    a, b = split(x, y, test_size=0.2, seed=3, name="toy"), split(x, y, test_size=0.2, seed=3)
    c = split(x, y, test_size=0.2, seed=4)
    assert isinstance(a, Split) and a.name == "toy" and a.n_classes == 3
    assert a.x_test.shape == (10, 2) and a.x_train.shape == (40, 2) and a.x.dtype == np.float32
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)
    np.testing.assert_array_equal(np.sort(a.x[:, 0]), x[:, 0])
    np.testing.assert_array_equal(a.y, a.x[:, 0].astype(int) // 2 % 3)  # rows and labels stay paired


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"test_size": 0.0}, "test_size"), ({"test_size": 1.0}, "test_size"), ({"test_size": 0.001}, "test_size"),
    ({"seed": -1}, "seed"), ({"y": np.zeros(7, dtype=int)}, "y"), ({"y": np.full(8, 0.5)}, "y"),
])
def test_split_rejects_bad_input(kwargs, param):
    args = {"x": np.zeros((8, 2)), "y": np.zeros(8, dtype=int), **kwargs}
    with pytest.raises(InfoLensError, match=f"'{param}' parameter of split"):
        split(**args)


def test_split_dataclass_checks_shapes():
    with pytest.raises(InfoLensError, match="'x_test' parameter of Split"):
        Split(np.zeros((4, 2)), np.zeros(4), np.zeros((3, 2)), np.zeros(2), "bad", 2)
    with pytest.raises(InfoLensError, match="'x_test' parameter of Split must be 2 columns"):
        Split(np.zeros((4, 2)), np.zeros(4), np.zeros((2, 3)), np.zeros(2), "bad", 2)


def test_mnist1d_is_generated_offline_and_leaves_global_rngs_alone():
    # the legacy global generators are exactly what mnist1d's make_dataset reseeds
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    data = mnist1d(n_samples=200, seed=1)
    after = np.random.get_state()  # noqa: NPY002
    assert random.getstate() == py_state
    assert after[1].tolist() == np_state[1].tolist() and after[2:] == np_state[2:]
    assert data.x_train.shape == (160, 40) and data.x_test.shape == (40, 40)
    assert data.x.dtype == np.float32 and data.n_classes == 10 and data.name == "mnist1d"
    np.testing.assert_array_equal(np.bincount(data.y), [20] * 10)
    np.testing.assert_array_equal(mnist1d(n_samples=200, seed=1).x, data.x)
    assert not np.array_equal(mnist1d(n_samples=200, seed=2).x, data.x)


def test_digits_scaled_to_unit_interval():
    data = digits(seed=0)
    assert data.x.shape == (1797, 64) and data.x.dtype == np.float32
    assert data.x.min() == 0.0 and data.x.max() == 1.0 and data.n_classes == 10


def test_load_by_name():
    assert DATASETS == ("szt12", "mnist1d", "digits")
    data = load("szt12", seed=2)
    x, y = szt12()
    expected = split(x, y, 0.2, 2)
    np.testing.assert_array_equal(data.x_test, expected.x_test)
    assert data.name == "szt12" and data.n_classes == 2 and len(data.y_test) == 819
    with pytest.raises(InfoLensError, match="'name' parameter of load"):
        load("mnist")
