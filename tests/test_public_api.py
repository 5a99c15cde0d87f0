"""The flat public namespace: every advertised name is the documented object, whatever was imported
before it, and importing stays light."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import infolens as il


def _import_every_submodule() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(il.__path__, prefix="infolens."):
        if info.name.startswith("infolens.integrations.") or info.name.endswith("__main__"):
            continue  # optional heavy extras (tested in test_integrations.py); __main__ runs the CLI
        importlib.import_module(info.name)
        names.append(info.name)
    return names


def test_no_public_name_is_shadowed_by_a_submodule_after_every_submodule_is_imported():
    # regression: after il.InformationPlane was used, il.capture was the module infolens.capture
    imported = _import_every_submodule()
    assert "infolens.layers" in imported and "infolens.plane.tracker" in imported
    submodules = {"bottleneck", "data", "viz", "models", "estimators", "measures", "report",
                  "integrations", "sweeps", "store"}
    for name in il.__all__:
        obj = getattr(il, name)
        if name in submodules:
            assert isinstance(obj, types.ModuleType) and obj.__name__ == f"infolens.{name}", name
        else:
            assert not isinstance(obj, types.ModuleType), f"il.{name} is a module"
            assert callable(obj) or isinstance(obj, dict), name
            if callable(obj):
                assert obj.__doc__ and obj.__doc__.strip(), f"il.{name} has no docstring"
    assert callable(il.capture) and il.capture.__name__ == "capture"
    assert callable(il.embed) and il.embed.__name__ == "embed"


def test_import_does_not_pull_heavy_optional_packages():
    code = ("import sys, infolens; heavy = [m for m in ('lightning', 'umap', 'ray', 'openTSNE', "
            "'tensorboard', 'matplotlib.pyplot') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
