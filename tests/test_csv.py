"""``infolens estimate`` on the files users have: CSV with a header line, columns by name or index,
TSV and text tables, .npz archives; every fault in a file named with its line and what to do.

The data are built so that the plug-in estimates are exact: X uniform on 4 symbols repeated
exactly 100 times each gives H(X) = 2 bits, and Y = X gives I(X;Y) = 2 bits.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from infolens.cli import main

N = 400
A = np.arange(N) % 4                 # uniform on 4 symbols: H = 2 bits
C = np.arange(N) // 4 % 2            # independent of A, uniform on 2: H = 1 bit; H(A, C) = 3 bits


def estimate(*args: str) -> dict:
    result = CliRunner().invoke(main, ["estimate", *map(str, args), "--method", "plugin"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(*args: str) -> str:
    result = CliRunner().invoke(main, ["estimate", *map(str, args)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,c\n" + "".join(f"{a},{a},{c}\n" for a, c in zip(A, C, strict=True)))
    return path


def test_columns_by_name_and_by_index_give_the_same_exact_values(table):
    by_name = estimate(table, "--x", "a", "--y", "b")
    assert by_name["quantity"] == "mi" and by_name["value"] == pytest.approx(2.0, abs=1e-12)
    assert estimate(table, "--x", "0", "--y", "1")["value"] == by_name["value"]
    assert estimate(table, "--x", "a")["value"] == pytest.approx(2.0, abs=1e-12)
    joint = estimate(table, "--x", "a,c")  # two columns form one variable: H(A, C) = 3 bits
    assert joint["quantity"] == "entropy" and joint["value"] == pytest.approx(3.0, abs=1e-12)


def test_conditional_mi_from_three_column_sets(table):
    cmi = estimate(table, "--x", "a", "--y", "b", "--z", "c")  # I(A;A|C) = H(A|C) = H(A) = 2 bits
    assert cmi["quantity"] == "cmi" and cmi["value"] == pytest.approx(2.0, abs=1e-12)


def test_a_file_without_header_tsv_and_whitespace_text(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("".join(f"{a},{a}\n" for a in A))
    assert estimate(plain, "--x", "0", "--y", "1")["value"] == pytest.approx(2.0, abs=1e-12)
    tsv = tmp_path / "data.tsv"
    tsv.write_text("x\ty\n" + "".join(f"{a}\t{c}\n" for a, c in zip(A, C, strict=True)))
    assert estimate(tsv, "--x", "x", "--y", "y")["value"] == pytest.approx(0.0, abs=1e-12)
    text = tmp_path / "data.txt"
    text.write_text("# comment line\n\n" + "".join(f"  {a}   {c}\n" for a, c in zip(A, C, strict=True)))
    assert estimate(text)["value"] == pytest.approx(3.0, abs=1e-12)  # the whole table: H(A, C)


def test_quoted_header_names_may_hold_commas(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"x, first","y"\n' + "".join(f"{a},{a}\n" for a in A))
    assert estimate(path, "--x", "x, first", "--y", "y")["value"] == pytest.approx(2.0, abs=1e-12)


def test_npz_arrays_are_named_like_columns(tmp_path):
    path = tmp_path / "pair.npz"
    np.savez(path, x=A, y=np.column_stack([A, C]))
    assert estimate(path, "--x", "x", "--y", "y")["value"] == pytest.approx(2.0, abs=1e-12)
    assert refused(path) == (f"Error: The '--x' parameter of infolens estimate must be the names of the "
                             f"arrays of {path} to use (it holds x, y). Got no selection instead.")


def test_a_ragged_file_names_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n")
    assert refused(path, "--x", "a") == (
        "Error: The 'FILES' parameter of infolens estimate must be a table with the same number of "
        f"cells on every line. Got 2 cells on line 3 of {path}, where the header (line 1) has 3 instead.")


def test_a_non_numeric_cell_names_line_and_column(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("a,b\n1,2\n\n3,\n")
    assert refused(path) == (
        "Error: The 'FILES' parameter of infolens estimate must be a table whose cells are numbers "
        f"(below an optional header line). Got '' on line 4 of {path}, column 'b' instead.")


def test_a_missing_column_lists_the_columns(table):
    assert refused(table, "--x", "a", "--y", "d") == (
        "Error: The '--y' parameter of infolens estimate must be comma-separated columns of "
        f"{table} (names a, b, c, or 0-based indices 0..2). Got 'd' instead.")
    assert "Got '3' instead" in refused(table, "--x", "3")


def test_column_options_need_one_file_and_x(table):
    assert "must be used with one file" in refused(table, table, "--x", "a")
    assert "given whenever --y or --z is" in refused(table, "--y", "a")


def test_header_only_empty_and_unknown_files(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    assert f"Got only a header in {header} instead" in refused(header)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n# nothing\n")
    assert f"Got an empty file {empty} instead" in refused(empty)
    other = tmp_path / "data.parquet"
    other.write_text("x")
    assert "must be paths ending in .csv, .tsv, .txt, .npy, .npz" in refused(other)


def test_integers_beyond_float_precision_are_read_exactly(tmp_path):
    path = tmp_path / "ids.csv"
    big = 2**53
    path.write_text("id\n" + "".join(f"{big + i % 2}\n" for i in range(40)))
    result = CliRunner().invoke(main, ["--debug", "estimate", str(path), "--method", "plugin"])
    assert result.exit_code == 0, result.output
    # the two labels differ only below float64's resolution: read as floats they would merge
    from infolens.data.tables import read_table

    column = read_table(path).values()
    assert column.dtype == np.int64 and set(column.tolist()) == {big, big + 1}


def test_corrupt_and_object_npy_files(tmp_path):
    corrupt = tmp_path / "corrupt.npy"
    corrupt.write_bytes(b"\x93NUMPY\x01\x00garbage")
    assert f"{corrupt} could not be read" in refused(corrupt)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    assert "it holds Python objects (loading them needs pickle)" in refused(objects)
