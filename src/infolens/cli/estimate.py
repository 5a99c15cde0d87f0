"""``infolens estimate``: entropy, MI or CMI of samples stored in CSV, text, .npy or .npz files."""

from __future__ import annotations

import json
from typing import Any

import click
import numpy as np

from infolens._validation import fail


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise fail("param", "infolens estimate", "of the form NAME=VALUE", text)
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


def _number_or_name(text: str) -> float | str:
    """A --base as a number when it reads as one, else the name (checked by the estimator)."""
    try:
        return float(text)
    except ValueError:
        return text


def _discrete_features(text: str) -> Any:
    """A --discrete-features as estimate_mi takes it: "auto", "all"/"none", or names and positions."""
    lowered = text.strip().lower()
    if lowered in ("auto", "all", "none", "true", "false"):
        return {"auto": "auto", "all": True, "true": True, "none": False, "false": False}[lowered]
    return [int(item) if item.strip().isdigit() else item.strip() for item in text.split(",")]


def _variables(files: tuple[str, ...], x: str | None, y: str | None, z: str | None) -> list[np.ndarray]:
    """X (and Y, Z): columns of one file picked by --x/--y/--z, or one whole file each."""
    from infolens.data.tables import read_table

    fn = "infolens estimate"
    if x is None and y is None and z is None:
        if len(files) > 3:
            raise fail("FILES", fn, "one (entropy), two (MI) or three (CMI) files", got=f"{len(files)} files")
        return [read_table(path).values() for path in files]
    if len(files) != 1:
        raise fail("--x", fn, "used with one file (its columns hold X, Y and Z)", got=f"{len(files)} files")
    if x is None or (z is not None and y is None):
        raise fail("--x", fn, "given whenever --y or --z is (and --y whenever --z is)", got="no --x")
    table = read_table(files[0])
    return [table.select(spec, option) for spec, option in ((x, "--x"), (y, "--y"), (z, "--z"))
            if spec is not None]


@click.command(name="estimate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--x", "x", default=None, metavar="COLS",
              help="Columns of X in FILE: header names or 0-based indices, comma-separated (e.g. a,b).")
@click.option("--y", "y", default=None, metavar="COLS", help="Columns of Y (MI of X and Y).")
@click.option("--z", "z", default=None, metavar="COLS", help="Columns of Z (CMI of X and Y given Z).")
@click.option("--method", default="auto", show_default=True, help="Estimator (see infolens.METHODS).")
@click.option("--units", type=click.Choice(["bits", "nats"]), default="bits", show_default=True)
@click.option("--base", default=None, metavar="BASE",
              help="Logarithm base instead of --units: a number > 0 and != 1, or bits, nats, dits, hartleys.")
@click.option("--ci", type=float, default=None, help="Confidence level of an interval, e.g. 0.95.")
@click.option("--permutations", type=int, default=None, help="Permutation test of independence.")
@click.option("--max-samples", type=int, default=None, help="Subsample above this many samples.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--discrete-features", "discrete_features", default="auto", show_default=True,
              metavar="WHICH",
              help="Which of X, Y, Z are discrete (MI, CMI): auto (integer data), all, none, or names "
                   "and positions, e.g. y or x,z or 1.")
@click.option("--param", "params", multiple=True, help="Estimator parameter NAME=VALUE, e.g. k=5.")
def command(files: tuple[str, ...], x: str | None, y: str | None, z: str | None, method: str, units: str,
            base: str | None, ci: float | None, permutations: int | None, max_samples: int | None,
            seed: int, discrete_features: str, params: tuple[str, ...]) -> None:
    """Estimate H(X), I(X;Y) or I(X;Y|Z) from sample files; prints the estimate as JSON.

    \b
    One table, columns by name or index:  infolens estimate data.csv --x a,b --y c [--z d]
    One file per variable:                infolens estimate x.npy [y.npy [z.npy]]

    CSV (comma), TSV (tab) and .txt (whitespace) tables may start with a header line; .npz files
    name their arrays with --x/--y/--z. Integer-valued data are treated as discrete unless
    --discrete-features says otherwise (--discrete-features y: only Y; none: all continuous).
    NSB takes a known alphabet size as --param K=N.
    """
    from infolens._json import dumps
    from infolens.estimators.api import estimate_cmi, estimate_entropy, estimate_mi

    arrays = _variables(files, x, y, z)
    if permutations is not None and len(arrays) != 2:
        raise fail("--permutations", "infolens estimate", "used with two variables (a test of I(X;Y) = 0)",
                   got=f"{len(arrays)} variable(s)")
    common = {"method": method, "units": units, "ci": ci, "random_state": seed,
              "max_samples": max_samples, "base": None if base is None else _number_or_name(base),
              **dict(_parse_param(p) for p in params)}
    discrete = _discrete_features(discrete_features)
    if len(arrays) == 1:
        if discrete != "auto":
            raise fail("--discrete-features", "infolens estimate", "auto for one variable (the "
                       "entropy's method says whether it is discrete)", discrete_features)
        result = estimate_entropy(arrays[0], **common)
    elif len(arrays) == 2:
        result = estimate_mi(arrays[0], arrays[1], n_permutations=permutations,
                             discrete_features=discrete, **common)
    else:
        result = estimate_cmi(*arrays, discrete_features=discrete, **common)
    click.echo(dumps(result.to_dict()))
