"""The ``infolens`` command line: ``run | estimate | ib | probe | layers | analyze | report | compare |
sweep``.

Subcommands live in their own modules and are imported only when invoked, so ``infolens --help``
does not import torch.

Errors are answered here, in one place, for every command: a bad input (:class:`InfoLensError`,
a click usage error), a file or directory that cannot be read or written (:class:`OSError`) or a
run store SQLite cannot use becomes one line on stderr, ``Error: <what is wrong and what to do>``,
and exit status 1 (2 for usage errors). Anything else is reported as an internal error on one line.
``infolens --debug ...`` lets every exception through with its traceback.
"""

from __future__ import annotations

import errno
import importlib
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from infolens._validation import InfoLensError

_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("infolens.cli.run", "Train networks and record their information plane (main job)."),
    "estimate": ("infolens.cli.estimate", "Entropy, MI or CMI of samples in CSV, .npy or .npz files."),
    "ib": ("infolens.cli.ib", "Information bottleneck: exact IB curve and VIB beta sweeps."),
    "probe": ("infolens.cli.probe", "Per-layer linear probes, redundant layers and embeddings."),
    "layers": ("infolens.cli.layers", "List a reference model's layers and output shapes."),
    "report": ("infolens.cli.report", "Rebuild the HTML report of a run directory."),
    "analyze": ("infolens.cli.analyze", "Measure again what a finished run's report shows."),
    "compare": ("infolens.cli.compare", "Put several runs' compression verdicts side by side."),
    "sweep": ("infolens.cli.sweep", "Run a sweep over seeds and beta, locally or on Ray."),
}


class _LazyGroup(click.Group):
    """Imports a command's module when it is invoked; turns every error into one line on stderr."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.Abort:
            _exit("Aborted.", 1)
        except click.ClickException as err:
            _exit(_usage_message(err), err.exit_code)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(_describe_error(err)) from err

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


def _describe_error(err: BaseException) -> str:
    """One line saying what went wrong and what to do, for an exception a command raised."""
    if isinstance(err, InfoLensError):
        return " ".join(str(err).split())
    if isinstance(err, OSError):
        return _describe_os_error(err)
    if isinstance(err, sqlite3.Error):
        return (f"The run store could not be used (SQLite: {err}). Nothing was deleted; if the file is "
                "corrupt, restore it from a copy or start a new run with another --out.")
    return (f"internal error ({type(err).__name__}: {' '.join(str(err).split())}). Rerun with "
            "'infolens --debug ...' for the traceback and please report it.")


def _describe_os_error(err: OSError) -> str:
    target = f" {err.filename}" if err.filename else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"No space left on the disk to write{target}. Files written before are intact; free "
                "some space, or choose another --out, and run the command again (with --resume for a run).")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"Permission denied:{target} cannot be written. Choose a directory you can write "
                "(--out) or change its permissions.")
    if err.errno == errno.ENOENT:
        return f"No such file or directory:{target}. Check the path."
    if err.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"Not a directory:{target} is a file. Give a directory path (--out)."
    return f"Cannot read or write{target}: {err.strerror or err}."


def _usage_message(err: click.ClickException) -> str:
    message = " ".join(err.format_message().split())
    ctx = getattr(err, "ctx", None)
    if isinstance(err, click.UsageError) and ctx is not None:
        message = f"{message.rstrip('.')}; see '{ctx.command_path} --help'."
    return message


def _exit(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(name="infolens", cls=_LazyGroup, invoke_without_command=True)
@click.version_option(package_name="infolens")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """infolens: information theory for deep learning.

    With no subcommand, runs the main job (``infolens run``). Bad input is answered with one line
    on stderr and a non-zero exit; ``--debug`` shows the traceback instead.
    """
    if ctx.invoked_subcommand is None:
        run = ctx.command.get_command(ctx, "run")  # type: ignore[attr-defined]
        ctx.invoke(run)
