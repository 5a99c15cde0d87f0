"""Import an optional dependency or fail with the command that installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from infolens._validation import InfoLensError


def require(module: str, extra: str, *, alternatives: tuple[str, ...] = ()) -> ModuleType:
    """Import ``module`` (or the first importable of ``alternatives``) or raise InfoLensError.

    The message names the install command, e.g. ``pip install "infolens[lightning]"``.
    """
    for name in (module, *alternatives):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise InfoLensError(f"This feature needs the optional package '{module}', which is not installed. "
                        f'Install it with: pip install "infolens[{extra}]"')
