"""Units of information: one source of truth for nats <-> bits.

Everything inside infolens is computed in nats (natural logarithms); public functions take
``units="bits"`` (the default, as in the information-plane literature) or ``units="nats"`` and
convert once, at the boundary, with the helpers below. The measures and ``estimate_*`` functions
also take ``base=``, the base of the logarithm (a number > 0 and != 1, or one of the names
:data:`BASES`), which sets the units instead: ``base=2`` is ``"bits"``, ``base=math.e``
``"nats"``, ``base=10`` ``"dits"``, any other base ``b`` the units ``"base b"``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal

from infolens._validation import check_choice, fail

Units = Literal["bits", "nats"]
UNITS: tuple[str, ...] = ("bits", "nats")
LN2 = math.log(2.0)
#: The named logarithm bases ``base=`` accepts (a dit, ban or hartley is a base-10 unit).
BASES: dict[str, float] = {"bits": 2.0, "nats": math.e, "dits": 10.0, "hartleys": 10.0}
_BASE_PREFIX = "base "


def check_units(units: Any, fn: str, base: Any = None) -> str:
    """Return the units of a call: ``units`` (``"bits"`` or ``"nats"``), or those of ``base``.

    ``base`` (None, a number > 0 and != 1, or a name in :data:`BASES`) overrides ``units``,
    which must then be left at ``"bits"``; bad values raise :class:`InfoLensError`.
    """
    if base is None:
        return check_choice("units", units, UNITS, fn)
    expected = "a logarithm base: a finite number > 0 and != 1, or one of " + \
        ", ".join(repr(name) for name in BASES)
    if isinstance(base, str):
        if base not in BASES:
            raise fail("base", fn, expected, base)
        named = base
    elif isinstance(base, bool) or not isinstance(base, numbers.Real) or not math.isfinite(base) \
            or base <= 0 or base == 1:
        raise fail("base", fn, expected, base)
    else:
        number = float(base)
        named = next((n for n, b in BASES.items() if b == number), f"{_BASE_PREFIX}{number!r}")
    if units != "bits" and units != named:
        raise fail("units", fn, f"left at 'bits' when base={base!r} is given (base sets the units)",
                   units)
    return named


def nats_per_unit(units: str) -> float:
    """How many nats make one unit of ``units`` (1 for nats, ln 2 for bits, ln b for base b)."""
    if units in BASES:
        return LN2 if units == "bits" else math.log(BASES[units])
    return math.log(float(units.removeprefix(_BASE_PREFIX)))


def from_nats(value: Any, units: str) -> Any:
    """Convert a value (float, array or tensor) in nats to ``units``."""
    if units == "nats":
        return value
    return value / nats_per_unit(units)


def to_nats(value: Any, units: str) -> Any:
    """Convert a value (float, array or tensor) in ``units`` to nats."""
    if units == "nats":
        return value
    return value * nats_per_unit(units)
