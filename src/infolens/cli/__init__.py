"""The ``infolens`` command line: ``run | estimate | ib | probe | layers | report | sweep``.

Subcommands live in their own modules and are imported only when invoked, so ``infolens --help``
does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("infolens.cli.run", "Train networks and record their information plane (main job)."),
    "estimate": ("infolens.cli.estimate", "Estimate entropy or MI from .npy/.csv sample files."),
    "ib": ("infolens.cli.ib", "Information bottleneck: exact IB curve and VIB beta sweeps."),
    "probe": ("infolens.cli.probe", "Per-layer linear probes, redundant layers and embeddings."),
    "layers": ("infolens.cli.layers", "List a reference model's layers and output shapes."),
    "report": ("infolens.cli.report", "Rebuild the HTML report of a run directory."),
    "sweep": ("infolens.cli.sweep", "Run a sweep over seeds and beta, locally or on Ray."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        return importlib.import_module(_COMMANDS[cmd_name][0]).command

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, invoke_without_command=True)
@click.version_option(package_name="infolens")
@click.pass_context
def main(ctx: click.Context) -> None:
    """infolens: information theory for deep learning.

    With no subcommand, runs the main job (``infolens run``).
    """
    if ctx.invoked_subcommand is None:
        run = ctx.command.get_command(ctx, "run")  # type: ignore[attr-defined]
        ctx.invoke(run)
