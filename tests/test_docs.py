"""The documentation site builds with ``mkdocs build --strict`` (any warning fails: a broken link, a
docstring griffe cannot parse, a public name without a docstring) and documents every public name,
every estimator, every notebook and the benchmark tables.

The build here does not execute the notebooks (``INFOLENS_DOCS_EXECUTE=false``): the notebook
tests run them already; ``make docs`` executes them to show their outputs.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import infolens as il
from conftest import require

ROOT = Path(__file__).resolve().parents[1]
TOOLS = all(importlib.util.find_spec(m) is not None for m in ("mkdocs", "mkdocstrings", "mkdocs_jupyter"))
REASON = 'the docs build needs mkdocs, mkdocstrings and mkdocs-jupyter: pip install -e ".[docs]"'
#: Seconds the build may take on 2 shared cores (about 12-20 s when measured).
BUDGET_S = 150
_HEADING = re.compile(r'<h[2-4] id="([^"]+)" class="doc doc-heading">\s*([^\s<]*)')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(TOOLS, REASON)
    work = tmp_path_factory.mktemp("docs")
    env = {**os.environ, "INFOLENS_DOCS_EXECUTE": "false", "NO_MKDOCS_2_WARNING": "1"}
    start = time.perf_counter()
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
               "-d", str(work / "site")]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-4000:]
    assert seconds < BUDGET_S, f"docs build took {seconds:.0f} s"
    return work / "site"


def _headings(page: Path) -> set[str]:
    """The text of every mkdocstrings heading of a page."""
    return {text for _, text in _HEADING.findall(page.read_text())}


def _anchors(page: Path) -> set[str]:
    """The anchor (full dotted path) of every mkdocstrings heading of a page."""
    return {anchor for anchor, _ in _HEADING.findall(page.read_text())}


def test_every_public_name_is_in_the_api_reference(site: Path) -> None:
    shown = _headings(site / "api" / "infolens" / "index.html")
    modules = [n for n in il.__all__ if inspect.ismodule(getattr(il, n))]
    assert {f"infolens.{n}" for n in il.__all__ if n not in modules} <= shown
    for name in modules:
        module = getattr(il, name)
        page = site / "api" / name / "index.html"
        assert page.exists(), name
        names = getattr(module, "__all__", None)
        if names is None:  # documented from the module itself: its own public classes and functions
            names = [n for n, obj in vars(module).items() if not n.startswith("_") and
                     (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__]
            assert {f"{module.__name__}.{n}" for n in names} <= _anchors(page), name
        else:
            public = [n for n in names if not inspect.ismodule(getattr(module, n))]
            assert {f"{module.__name__}.{n}" for n in public} <= _headings(page), name


def test_one_page_per_estimator_with_its_reference_and_module_docstring(site: Path) -> None:
    for name, spec in il.METHODS.items():
        page = (site / "estimators" / name / "index.html").read_text()
        assert spec.reference.replace("&", "&amp;") in page, name
        assert "What it assumes, when it fails, its references" in page
    ksg = (site / "estimators" / "ksg" / "index.html").read_text()
    assert "Kozachenko" in ksg and "bias grows quickly with the dimension" in ksg  # knn.py's docstring


def test_benchmark_tables_come_from_the_results(site: Path) -> None:
    data = json.loads((ROOT / "benchmarks" / "results" / "mi_accuracy.json").read_text())
    auto = next(r for r in data["summary"] if r["method"] == "auto")
    page = (site / "benchmarks" / "index.html").read_text()
    assert f"<td>{auto['median_rel_err']:.4g}</td>" in page
    ksg_page = (site / "estimators" / "ksg" / "index.html").read_text()
    ksg = next(r for r in data["summary"] if r["method"] == "ksg")
    assert f"<td>{ksg['median_rel_err']:.4g}</td>" in ksg_page


def test_readme_and_notebooks_are_rendered(site: Path) -> None:
    index = (site / "index.html").read_text()
    assert "A short tour" in index and "il.estimate_mi" in index
    for path in sorted((ROOT / "examples").glob("*.ipynb")):
        assert (site / "notebooks" / path.stem / "index.html").exists(), path.name


def test_the_coming_from_page_is_rendered(site: Path) -> None:
    # its snippets run, and their numbers are checked, in tests/test_peer_parity.py
    page = (site / "coming-from" / "index.html").read_text()
    assert "Coming from scipy, scikit-learn, dit, NPEET or pyitlib" in page
    assert "jensen_shannon_divergence([d1, d2], [0.25, 0.75])" in page and "il.estimate_kl_divergence" in page


def test_the_distributed_page_is_rendered(site: Path) -> None:
    # its table's rows are checked against one process in tests/test_plane_distributed.py
    page = (site / "distributed" / "index.html").read_text()
    assert "torchrun --nproc_per_node 2 train.py" in page and "distributed=True" in page
    assert "plane.writes" in page and "A rank that stops" in page


def test_the_streaming_page_is_rendered(site: Path) -> None:
    # its snippet runs in tests/test_plane_streaming.py
    page = (site / "streaming" / "index.html").read_text()
    assert "Kept activations" in page and "activations_dir" in page and "MEASURED_TABLE" not in page
    assert "seeded batches of 200" in page and "50,000" in page  # the measured table


def test_a_public_name_without_a_docstring_fails_the_build() -> None:
    require(TOOLS, REASON)
    from mkdocs.exceptions import PluginError

    spec = importlib.util.spec_from_file_location("infolens_docs_hooks", ROOT / "docs" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(hooks)  # type: ignore[union-attr]
    hooks._check_docstrings(["infolens.estimators.api.estimate_mi", "infolens.estimators.api.METHODS"])
    with pytest.raises(PluginError, match=r"without a docstring .*: infolens\.estimators\.api\._resolve$"):
        hooks._check_docstrings(["infolens.estimators.api.estimate_mi", "infolens.estimators.api._resolve"])
