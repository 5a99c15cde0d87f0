"""The one JSON conversion: numpy types, non-finite floats as null, atomic files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infolens._json import dumps, to_jsonable, write_json


def test_numpy_and_non_finite_values_become_plain_json():
    value = {"a": np.float32(0.5), "b": np.arange(3), "c": (1, float("nan")), 2: float("-inf"),
             "p": Path("x/y"), "n": np.int64(7), "t": True}
    assert to_jsonable(value) == {"a": 0.5, "b": [0, 1, 2], "c": [1, None], "2": None, "p": "x/y",
                                  "n": 7, "t": True}
    assert json.loads(dumps(value)) == to_jsonable(value)


def test_unknown_objects_are_refused_not_stringified():
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        to_jsonable({"x": object()})


def test_write_json_round_trips(tmp_path):
    path = write_json(tmp_path / "s.json", {"v": np.float64(1.25)})
    assert json.loads(path.read_text()) == {"v": 1.25}
    assert path.read_text().endswith("\n")
