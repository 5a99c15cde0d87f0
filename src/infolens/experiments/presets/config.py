"""The settings of one experiment run (the preset's name and what the command line changed)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infolens._validation import check_int, fail
from infolens.experiments.presets.catalog import get_preset
from infolens.experiments.presets.spec import Preset

__all__ = ["ExperimentConfig"]


@dataclass(frozen=True)
class ExperimentConfig:
    """Which preset runs, and the settings given on the command line.

    Parameters
    ----------
    experiment : str
        A name of :data:`infolens.experiments.presets.PRESETS`.
    quick : bool
        Use the preset's smoke-test settings (under a minute).
    n_seeds, epochs : int, optional
        Override the preset's (or its quick settings') number of seeds and epochs.
    """

    experiment: str
    quick: bool = False
    n_seeds: int | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        fn = "ExperimentConfig"
        get_preset(self.experiment, fn)
        if not isinstance(self.quick, bool):
            raise fail("quick", fn, "a bool", self.quick)
        if self.n_seeds is not None:
            check_int("n_seeds", self.n_seeds, fn, minimum=1)
        if self.epochs is not None:
            check_int("epochs", self.epochs, fn, minimum=1)

    @property
    def preset(self) -> Preset:
        """The preset with the quick settings and the overrides applied."""
        base = get_preset(self.experiment)
        changes: dict[str, Any] = dict(base.quick) if self.quick else {}
        if self.n_seeds is not None:
            changes["n_seeds"] = self.n_seeds
        if self.epochs is not None:
            changes["epochs"] = self.epochs
        return dataclasses.replace(base, **changes)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.preset.n_seeds))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, Mapping) or set(data) - names or "experiment" not in data:
            raise fail("config", "ExperimentConfig.from_dict", f"a mapping with keys among {sorted(names)}",
                       data)
        return cls(**data)
