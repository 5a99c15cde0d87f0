"""The frozen result object returned by every estimator.

Result classes live beside the code that makes them (``Estimate`` here, ``ProbeReport`` in
:mod:`infolens.probes`, ``PruningResult`` in :mod:`infolens.pruning`, ``IBCurve`` in
:mod:`infolens.bottleneck`, ``Embedding`` in :mod:`infolens.embedding`, ``PlaneResult`` in
:mod:`infolens.plane`); all share the same manners: ``to_dict()`` (JSON-safe), ``to_frame()``, and
``plot(ax=None)`` where a figure makes sense.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infolens._json import to_jsonable


@dataclass(frozen=True)
class Estimate:
    """An information estimate from samples, with everything needed to read it honestly.

    Attributes
    ----------
    value : float
        The raw estimate in ``units``. Never clipped: a negative MI estimate stays negative and
        carries the ``"negative"`` flag.
    units : {"bits", "nats"}
    quantity : {"entropy", "mi", "cmi"}
    method : str
        The estimator that produced ``value`` (``"auto"`` is resolved to the one chosen).
    params : Mapping
        The estimator's settings, defaults included.
    n_samples : int
        Samples given; ``n_used`` says how many the estimate used (fewer with ``max_samples``).
    ci : tuple of float or None
        ``(low, high)`` confidence interval at level ``ci_level`` in ``units``.
    p_value : float or None
        Permutation-test p-value of independence, when ``n_permutations`` was given.
    cap : float or None
        A known upper bound of the true quantity in ``units`` (H of a discrete variable, or
        ln N for a sample-identity variable); ``value`` above it is flagged, never clipped. A
        plug-in cap of a method that is not a discrete one (k-NN, KDE, Gaussian) allows the
        small-sample excess ``K / N`` nats (K symbols, N samples) before the flag.
    flags : tuple of str
        ``"negative"``, ``"above_cap"``, ``"near_log_n"``, ``"undersampled"`` (a discrete MI or
        CMI with fewer than 2 samples per observed joint symbol), ``"subsampled"``, ``"ties"``,
        ``"high_dimension"``, ``"no_coincidences"`` (NSB on samples with no repeated symbol: the
        value is the prior's), ``"unreliable"`` (``method="auto"``: the chosen estimator has not
        converged; a warning says so).
    details : Mapping
        Method-specific extras (for example both KDE bounds), in ``units``.
    """

    value: float
    units: str
    quantity: str
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    n_samples: int = 0
    n_used: int = 0
    ci: tuple[float, float] | None = None
    ci_level: float | None = None
    p_value: float | None = None
    cap: float | None = None
    flags: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    @property
    def is_finite(self) -> bool:
        """Whether the value is a finite number."""
        return math.isfinite(self.value)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (tuples as lists; see :func:`infolens._json.to_jsonable`)."""
        return to_jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    def to_frame(self) -> Any:
        """A one-row pandas DataFrame: value, units, quantity, method, sample counts, interval
        (``ci_low``, ``ci_high``, NaN without one), p-value, cap and flags (comma-separated).

        Rows of several estimates concatenate into one table (``pd.concat``). An estimate is one
        number, so it has no ``plot``.
        """
        import pandas as pd

        low, high = self.ci if self.ci is not None else (math.nan, math.nan)
        return pd.DataFrame([{
            "value": self.value, "units": self.units, "quantity": self.quantity, "method": self.method,
            "n_samples": self.n_samples, "n_used": self.n_used, "ci_low": low, "ci_high": high,
            "ci_level": self.ci_level, "p_value": self.p_value, "cap": self.cap,
            "flags": ",".join(self.flags)}])

    def _repr_html_(self) -> str:
        """A notebook display: value, interval, units, method, samples, p-value, cap, flags, details."""
        from infolens import _html

        names = {"entropy": "H(X)", "mi": "I(X;Y)", "cmi": "I(X;Y|Z)"}
        ci = (f"{_html.interval(*self.ci)} at {self.ci_level:.0%}"
              if self.ci is not None and self.ci_level is not None else None)
        return _html.box(f"Estimate of {names.get(self.quantity, self.quantity)}", _html.facts([
            ("value", f"{_html.number(self.value)} {self.units}"), ("interval", ci),
            ("method", f"{self.method}({_html.pairs(self.params)})"),
            ("samples", f"{self.n_used} of {self.n_samples}"),
            ("p-value", None if self.p_value is None else _html.number(self.p_value)),
            ("cap", None if self.cap is None else f"{_html.number(self.cap)} {self.units}"),
            ("flags", ", ".join(self.flags) or "none"),
            ("details", _html.pairs(self.details) or None)]))

    def __repr__(self) -> str:
        ci = f", ci=({self.ci[0]:.4f}, {self.ci[1]:.4f})" if self.ci else ""
        flags = f", flags={self.flags}" if self.flags else ""
        return (f"Estimate({self.quantity}={self.value:.4f} {self.units}, method={self.method!r}, "
                f"n={self.n_used}{ci}{flags})")
