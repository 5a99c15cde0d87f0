"""Units of information: one source of truth for nats <-> bits.

Everything inside infolens is computed in nats (natural logarithms); public functions take
``units="bits"`` (the default, as in the information-plane literature) or ``units="nats"`` and
convert once, at the boundary, with the helpers below.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from infolens._validation import check_choice

Units = Literal["bits", "nats"]
UNITS: tuple[str, ...] = ("bits", "nats")
LN2 = math.log(2.0)


def check_units(units: Any, fn: str) -> str:
    """Return ``units`` if it is ``"bits"`` or ``"nats"``, else raise :class:`InfoLensError`."""
    return check_choice("units", units, UNITS, fn)


def nats_per_unit(units: str) -> float:
    """How many nats make one unit of ``units`` (1 for nats, ln 2 for bits)."""
    return LN2 if units == "bits" else 1.0


def from_nats(value: Any, units: str) -> Any:
    """Convert a value (float, array or tensor) in nats to ``units``."""
    return value / LN2 if units == "bits" else value


def to_nats(value: Any, units: str) -> Any:
    """Convert a value (float, array or tensor) in ``units`` to nats."""
    return value * LN2 if units == "bits" else value
