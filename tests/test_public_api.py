"""The flat public namespace: every advertised name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import infolens as il


def test_every_public_name_resolves():
    for name in il.__all__:
        assert getattr(il, name) is not None, name


def test_import_does_not_pull_heavy_optional_packages():
    code = ("import sys, infolens; heavy = [m for m in ('lightning', 'umap', 'ray', 'openTSNE', "
            "'tensorboard', 'matplotlib.pyplot') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
