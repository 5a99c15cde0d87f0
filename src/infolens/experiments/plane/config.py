"""The main job's settings, its run directory, and what a resumed run must agree with.

A run directory holds ``config.json``: ``{"format": FORMAT, "config": PlaneRunConfig.to_dict()}``.
It is written only once the settings and the device have been validated, so a command that fails
on bad input leaves the directory as it was and the corrected command runs there. A run is
resumed with the same settings; :func:`resume_config` names every setting that differs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infolens._json import read_json, write_json
from infolens._validation import InfoLensError, check_choice, check_float, check_int, fail

__all__ = ["DEFAULT_BIN_WIDTH", "FIGURES", "FORMAT", "RUN_ID", "PlaneRunConfig", "RunPaths",
           "default_out_dir", "read_config", "resume_config", "write_config"]

#: Bin width of the default binning estimator: 30 equal bins over tanh's range [-1, 1]
#: (Shwartz-Ziv & Tishby 2017), kept the same for unbounded activations.
DEFAULT_BIN_WIDTH = 2.0 / 30.0
#: The run's default estimator; without ``bins`` or ``bin_width`` it bins at DEFAULT_BIN_WIDTH.
DEFAULT_ESTIMATOR = "binning"
#: Layout version of a run directory (config.json, snapshots, analysis files).
FORMAT = 2
RUN_ID = "plane"
#: The figures a run directory holds (drawn by the report).
FIGURES = ("information_plane.png", "mi_vs_epoch.png", "accuracy.png", "compression.png")
_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
_DATASETS = ("szt12", "mnist1d", "digits")
#: Command-line option of each setting whose name differs from ``--<field>``.
_OPTIONS = {"n_seeds": "--seeds", "activations": "--activation"}


@dataclass(frozen=True)
class PlaneRunConfig:
    """Settings of the main job (what is trained and measured).

    Parameters
    ----------
    dataset : {"szt12", "mnist1d", "digits"}
        Data set; the network is ``infolens.models.reference_stack(dataset, members)``.
    activations : tuple of str
        Hidden activations to compare; each is trained with every seed.
    n_seeds : int
        Seeds ``0 .. n_seeds - 1`` (initial weights and minibatch order).
    epochs : int
        Training epochs (Adam, learning rate ``lr``, minibatches of ``batch_size``).
    estimator : str
        Information-plane estimator (:data:`infolens.plane.ESTIMATORS`).
    estimator_params : mapping
        Its settings, checked on construction. For ``"binning"`` with neither ``bins`` nor
        ``bin_width`` given, the bin width is :data:`DEFAULT_BIN_WIDTH`.
    schedule : "log", "every" or int
        Recorded epochs: ``"log"`` records about ``points_per_decade`` epochs per decade.
    data_seed : int
        Seed of the train/test split.
    checkpoint_every : int
        Epochs between checkpoints (the last epoch is always checkpointed).
    sensitivity : bool
        Re-estimate the recorded activations under other estimators (the sensitivity table).
    costly_epochs : int
        Recorded epochs (spread evenly) that the O(n^2) estimators of the sensitivity table
        (KDE) re-estimate, for the first seed of each activation only; 0 leaves them out.

    Notes
    -----
    The defaults were chosen by experiment on szt12 (3 seeds, bin width 2/30): with Adam at
    lr=4e-4 and batches of 256 (the trainer's defaults), 3000 epochs leave tanh's 3-unit layer at
    0.83 of its peak I(X;T) and ReLU at 0.93 test accuracy; lr=4e-3 compresses tanh faster but
    ReLU's hidden layers then drift to 0.90 of their peaks; lr=2e-3 with batches of 128 gives,
    after 3000 epochs, tanh 0.33 of peak, every ReLU hidden layer >= 0.98 of its peak, I(T;Y) of
    0.97-0.98 bits in the 3-unit layer and test accuracy 0.963 (tanh) and 0.956 (ReLU).
    """

    dataset: str = "szt12"
    activations: tuple[str, ...] = ("tanh", "relu")
    n_seeds: int = 3
    epochs: int = 3000
    lr: float = 2e-3
    batch_size: int = 128
    estimator: str = DEFAULT_ESTIMATOR
    estimator_params: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | int = "log"
    points_per_decade: int = 10
    data_seed: int = 0
    checkpoint_every: int = 100
    sensitivity: bool = True
    costly_epochs: int = 8

    def __post_init__(self) -> None:
        from infolens.plane.estimate import make_layer_estimator
        from infolens.plane.estimators import entry

        fn = "PlaneRunConfig"
        check_choice("dataset", self.dataset, _DATASETS, fn)
        acts = (self.activations,) if isinstance(self.activations, str) else tuple(self.activations)
        if not acts or len(set(acts)) != len(acts):
            raise fail("activations", fn, "a non-empty sequence of distinct activation names",
                       self.activations)
        for act in acts:
            check_choice("activations", act, _ACTIVATIONS, fn)
        object.__setattr__(self, "activations", acts)
        check_int("n_seeds", self.n_seeds, fn, minimum=1)
        check_int("epochs", self.epochs, fn, minimum=1)
        check_float("lr", self.lr, fn, minimum=0.0, strict_minimum=True)
        check_int("batch_size", self.batch_size, fn, minimum=1)
        if not isinstance(self.estimator_params, Mapping):
            raise fail("estimator_params", fn, "a mapping of estimator settings", self.estimator_params)
        params = {str(k): v for k, v in self.estimator_params.items() if v is not None}
        if entry(self.estimator, fn).fixed_width and "bins" not in params and "bin_width" not in params:
            params["bin_width"] = DEFAULT_BIN_WIDTH
        # validated once, before any file is written; kept for the run, its analysis and report
        object.__setattr__(self, "_layer_estimator", make_layer_estimator(self.estimator, params, fn))
        object.__setattr__(self, "estimator_params", params)
        if not (self.schedule in ("log", "every") or (isinstance(self.schedule, int)
                                                      and not isinstance(self.schedule, bool)
                                                      and self.schedule >= 1)):
            raise fail("schedule", fn, "'log', 'every' or an int >= 1", self.schedule)
        check_int("points_per_decade", self.points_per_decade, fn, minimum=1)
        check_int("data_seed", self.data_seed, fn, minimum=0)
        check_int("checkpoint_every", self.checkpoint_every, fn, minimum=1)
        if not isinstance(self.sensitivity, bool):
            raise fail("sensitivity", fn, "a bool", self.sensitivity)
        check_int("costly_epochs", self.costly_epochs, fn, minimum=0)

    #: The settings of :meth:`quick` that differ from the defaults.
    QUICK = {"epochs": 150, "n_seeds": 2, "points_per_decade": 6, "checkpoint_every": 25, "costly_epochs": 0}

    @classmethod
    def quick(cls, **overrides: Any) -> PlaneRunConfig:
        """A smoke-test configuration (about 20 s): 150 epochs, 2 seeds, coarse schedule, no KDE."""
        return cls(**{**cls.QUICK, **overrides})

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.n_seeds))

    @property
    def layer_estimator(self) -> Any:
        """The validated :class:`~infolens.plane.estimate.LayerEstimator` of ``estimator`` with
        ``estimator_params`` (the plane, the analysis and the report all use this one)."""
        return self._layer_estimator

    @property
    def members(self) -> list[tuple[str, int]]:
        """(activation, seed) of each member of the stacked model, in order."""
        return [(act, seed) for act in self.activations for seed in self.seeds]

    def model(self) -> Any:
        """The untrained stacked reference network of this run (the one place it is built)."""
        from infolens.models import reference_stack

        return reference_stack(self.dataset, self.members)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (the identity of the run in the store)."""
        out = dataclasses.asdict(self)
        out["activations"] = list(self.activations)
        out["estimator_params"] = dict(self.estimator_params)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlaneRunConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise fail("config", "PlaneRunConfig.from_dict", f"keys among {sorted(names)}",
                       got=f"unknown keys {unknown}")
        values = dict(data)
        if "activations" in values:
            values["activations"] = tuple(values["activations"])
        return cls(**values)


@dataclass(frozen=True)
class RunPaths:
    """The files of a run directory."""

    root: Path

    def __truediv__(self, name: str) -> Path:
        return self.root / name

    @property
    def store(self) -> Path:
        return self.root / "store.sqlite"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.pt"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    def snapshot(self, epoch: int) -> Path:
        return self.snapshots / f"epoch_{epoch:06d}.pt"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"


def default_out_dir(dataset: str) -> Path:
    """``runs/<dataset>-<YYYYmmdd-HHMMSS>`` under the working directory."""
    return Path("runs") / f"{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_config(paths: RunPaths, config: PlaneRunConfig) -> None:
    """Write ``config.json`` (atomically) with the layout version."""
    paths.root.mkdir(parents=True, exist_ok=True)
    write_json(paths.config, {"format": FORMAT, "config": config.to_dict()})


def read_config(paths: RunPaths, fn: str, kind: Any = None) -> Any:
    """The settings stored in ``config.json`` as a ``kind`` (default :class:`PlaneRunConfig`; any
    class with ``from_dict``); a missing, unreadable or foreign file raises
    :class:`InfoLensError` saying which (nothing is changed)."""
    where = str(paths.config)
    if not paths.config.is_file():
        raise fail("out", fn, "a run directory with config.json", str(paths.root))
    data = read_json(paths.config, fn)
    if not isinstance(data, dict) or "format" not in data:
        raise fail("out", fn, f"a run directory of this infolens version (format {FORMAT}); it was written "
                   "by an earlier version, whose runs cannot be resumed or reported by this one "
                   "(start a new --out)", got=where)
    if data["format"] != FORMAT:
        raise fail("out", fn, f"a run directory of format {FORMAT} (this infolens version); start a new "
                   "--out or use the version that wrote it", got=f"format {data['format']!r} in {where}")
    try:
        return (kind or PlaneRunConfig).from_dict(data["config"])
    except InfoLensError as err:
        raise fail("out", fn, "a run directory whose config.json holds valid settings", got=f"{where}: "
                   f"{err}") from err
    except (KeyError, TypeError) as err:
        raise fail("out", fn, "a run directory whose config.json holds valid settings",
                   got=f"{where}: {err!r}") from err


def resume_config(stored: Any, given: Any, fn: str) -> Any:
    """``stored``, after checking that every setting in ``given`` agrees with it.

    ``stored`` is a settings dataclass with ``to_dict`` (:class:`PlaneRunConfig`, or an
    experiment preset's config); ``given`` is one of the same class (every field is compared) or
    a mapping of the settings the user passed (only those are compared), as when a command is
    re-run with ``--resume``. A difference raises :class:`InfoLensError` naming each setting, its command-line
    option, the stored and the given value.
    """
    if given is None:
        return stored
    if isinstance(given, type(stored)):
        wanted = given.to_dict()
    else:
        try:
            wanted = dataclasses.replace(stored, **dict(given)).to_dict()
        except TypeError as err:
            raise fail("config", fn, f"settings named as {type(stored).__name__} fields",
                       dict(given)) from err
        wanted = {key: value for key, value in wanted.items() if key in given}
    have = stored.to_dict()
    changes = []
    for key, value in wanted.items():
        if key == "estimator_params" and isinstance(value, Mapping):
            for name in sorted(set(value) | set(have[key])):
                if value.get(name) != have[key].get(name):
                    changes.append(f"--{name.replace('_', '-')}: stored {have[key].get(name)!r}, "
                                   f"given {value.get(name)!r}")
        elif value != have[key]:
            option = _OPTIONS.get(key, "--" + key.replace("_", "-"))
            changes.append(f"{option} ({key}): stored {have[key]!r}, given {value!r}")
    if changes:
        raise fail("config", fn, "the settings the run was started with (--resume continues the same run; "
                   "start a new --out to change them)", got="; ".join(changes))
    return stored
