"""``infolens estimate``: entropy, MI or CMI of samples stored in .npy or .csv files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from infolens._validation import InfoLensError, fail


def _load(path: str) -> np.ndarray:
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix in (".csv", ".txt"):
        return np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=1)
    raise fail("FILES", "infolens estimate", "paths ending in .npy, .csv or .txt", path)


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise fail("param", "infolens estimate", "of the form NAME=VALUE", text)
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


@click.command(name="estimate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--method", default="auto", show_default=True, help="Estimator (see infolens.METHODS).")
@click.option("--units", type=click.Choice(["bits", "nats"]), default="bits", show_default=True)
@click.option("--ci", type=float, default=None, help="Confidence level of an interval, e.g. 0.95.")
@click.option("--permutations", type=int, default=None, help="Permutation test of independence.")
@click.option("--max-samples", type=int, default=None, help="Subsample above this many samples.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--param", "params", multiple=True, help="Estimator parameter NAME=VALUE, e.g. k=5.")
def command(files: tuple[str, ...], method: str, units: str, ci: float | None,
            permutations: int | None, max_samples: int | None, seed: int,
            params: tuple[str, ...]) -> None:
    """Estimate H(X) from one file, I(X;Y) from two, or I(X;Y|Z) from three.

    Integer-valued files are treated as discrete. Prints the estimate as JSON.
    """
    from infolens.estimators.api import estimate_cmi, estimate_entropy, estimate_mi

    if len(files) > 3:
        raise click.UsageError("give one (entropy), two (MI) or three (CMI) files")
    arrays = [_load(f) for f in files]
    common = {"method": method, "units": units, "ci": ci, "random_state": seed,
              "max_samples": max_samples, **dict(_parse_param(p) for p in params)}
    try:
        if len(arrays) == 1:
            result = estimate_entropy(arrays[0], **common)
        elif len(arrays) == 2:
            result = estimate_mi(arrays[0], arrays[1], n_permutations=permutations, **common)
        else:
            result = estimate_cmi(*arrays, **common)
    except InfoLensError as err:
        raise click.ClickException(str(err)) from err
    click.echo(json.dumps(result.to_dict(), indent=2))
