"""Options that several commands share, each declared once: the choices come from the module that
implements them (data sets from :mod:`infolens.data`, activations from :mod:`infolens.models`,
information-plane estimators from :mod:`infolens.plane.estimate`, embeddings from
:mod:`infolens.embedding`), and ``--device`` is checked once against the devices torch sees here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from infolens.data.datasets import DATASETS
from infolens.embedding import METHODS as EMBEDDINGS
from infolens.experiments.presets.catalog import PRESETS
from infolens.models import ACTIVATIONS
from infolens.plane.estimate import ESTIMATORS

__all__ = ["ACTIVATIONS", "DATASETS", "EMBEDDINGS", "ESTIMATORS", "EXPERIMENTS",
           "Device", "device_option", "floats",
           "ints", "threads_option"]

#: Experiment presets of ``infolens run --experiment``.
EXPERIMENTS = tuple(PRESETS)
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class Device(click.ParamType):
    """A torch device that exists on this machine (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""

    name = "device"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        import torch

        from infolens._validation import available_devices

        text = str(value).strip()
        available = available_devices()
        try:
            device = torch.device(text)
        except (RuntimeError, ValueError):
            self.fail(f"{text!r} is not a torch device; use one of: {', '.join(available)}", param, ctx)
        if str(device) not in available:
            self.fail(f"{text!r} is not available on this machine; use one of: {', '.join(available)}",
                      param, ctx)
        return str(device)


def device_option() -> Decorator:
    return click.option("--device", type=Device(), default="cpu", show_default=True,
                        help="torch device (cpu, cuda, cuda:N, mps), checked against this machine.")


def threads_option(default: int | None = 1) -> Decorator:
    return click.option("--threads", type=click.IntRange(min=1), default=default, show_default=True,
                        help="torch threads (1 is fastest for these small networks on shared cores).")


def _numbers(kind: type, what: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def parse(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            numbers = [kind(v) for v in str(value).split(",") if v.strip()]
        except ValueError:
            numbers = []
        if not numbers:
            raise click.BadParameter(f"expected comma-separated {what}, e.g. 0,1,2; got {value!r}")
        return numbers

    return parse


#: Option callbacks: a comma-separated list of floats / ints, refused when empty or malformed.
floats = _numbers(float, "numbers")
ints = _numbers(int, "integers")
