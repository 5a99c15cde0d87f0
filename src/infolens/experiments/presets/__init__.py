"""Experiment presets of ``infolens run --experiment NAME`` (issue 13): the follow-up results the
information-plane literature argues about, each one command with the paper's claim beside our
measurement."""

from infolens.experiments.presets.catalog import PRESETS, get_preset
from infolens.experiments.presets.config import ExperimentConfig
from infolens.experiments.presets.spec import Preset, Variant

__all__ = ["PRESETS", "ExperimentConfig", "Preset", "Variant", "get_preset"]
