"""The tutorial notebooks in examples/ run from a clean kernel and state what they claim.

Each notebook ends with a cell of ``assert``s about its own results that prints "all statements
hold"; a cell error or a failed statement fails the test. The kernel is the interpreter running the
tests (a kernel spec written to a temporary JUPYTER_PATH), so a fresh venv needs no
``ipykernel install``. The notebooks are stored without outputs, which keeps their diffs clean.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest

from conftest import require

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
#: A notebook must run in this many seconds on 2 shared cores (about 10-20 s each when measured).
BUDGET_S = 90
TOOLS = all(importlib.util.find_spec(m) is not None for m in ("nbclient", "nbformat", "ipykernel"))


def _kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec for this interpreter in a fresh JUPYTER_PATH; returns its name."""
    spec = tmp_path / "jupyter" / "kernels" / "infolens-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "infolens tests",
                                                   "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "infolens-test"


def test_there_are_notebooks_stored_without_outputs() -> None:
    import nbformat

    assert [p.name for p in NOTEBOOKS] == ["01_estimating_mi.ipynb", "02_information_plane.ipynb",
                                          "03_information_bottleneck.ipynb"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name
        assert "assert" in code[-1].source and "all statements hold" in code[-1].source


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_and_its_statements_hold(path: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    require(TOOLS, 'the notebook tests need nbclient, nbformat and ipykernel: pip install -e ".[test]"')
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, kernel_name=_kernel(tmp_path, monkeypatch), timeout=BUDGET_S,
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    seconds = time.perf_counter() - start
    print(f"{path.name}: {seconds:.1f} s")
    assert seconds < BUDGET_S
    last = [c for c in book.cells if c.cell_type == "code"][-1]
    printed = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream")
    assert printed.strip() == "all statements hold"
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
