"""MkDocs hooks: the pages that must stay true are generated at build time, not kept by hand.

* **API reference** (``api/``): one page for the names of ``infolens.__all__`` and one per public
  submodule named there, each entry a mkdocstrings ``:::`` block of the object where it is defined.
  A name added to an ``__all__`` appears on the next build; a public name without a docstring
  fails the build.
* **Estimators** (``estimators/``): one page per entry of ``infolens.estimators.api.METHODS``: its
  family, inputs, parameters, interval and reference from the spec, the docstrings of its
  implementation and module (assumptions, failure modes, references), and its rows of the
  benchmark results.
* **Benchmarks** (``benchmarks.md``): every table of ``benchmarks/results/*.json``, with the
  first paragraph of the script that wrote it.
* **Navigation**: the static pages, the notebooks of ``examples/`` (through the ``notebooks``
  link in ``docs/``) and the generated pages.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: Tables longer than this are summarised by their size and file instead of printed.
MAX_ROWS = 100
_pages: dict[str, str] = {}
#: Sphinx roles in docstrings (``:func:`name```) that mkdocstrings leaves as text before the code.
_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):(?=<code>)")
#: The same roles, and ````code````, in raw docstring text.
_SPHINX_CODE = re.compile(r"(?::\w+:)?``?([^`]+)``?")


# ----------------------------------------------------------------------------- public names
def _target(module: Any, name: str) -> str:
    """The dotted path where ``module.name`` is defined (what mkdocstrings should render)."""
    obj = getattr(module, name)
    if inspect.ismodule(obj):
        return obj.__name__
    where, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(where, str) and isinstance(qualname, str) and where.startswith("infolens") \
            and "<" not in qualname:
        return f"{where}.{qualname}"
    return f"{getattr(module, '_LAZY', {}).get(name, module.__name__)}.{name}"


def _public_modules() -> list[Any]:
    import infolens

    return [getattr(infolens, n) for n in infolens.__all__ if inspect.ismodule(getattr(infolens, n))]


def _entries(module: Any) -> list[tuple[str, str]]:
    """(name, target) of a module's ``__all__`` (without the submodules, which get pages of their own)."""
    names = getattr(module, "__all__", None) or []
    return [(n, _target(module, n)) for n in names if not inspect.ismodule(getattr(module, n))]


def _check_docstrings(targets: list[str]) -> dict[str, str]:
    """The first line of each target's docstring, as griffe reads it; a target without one fails."""
    import griffe

    package = griffe.load("infolens", search_paths=[str(ROOT / "src")], docstring_parser="numpy")
    first_lines = {}
    for target in targets:
        obj = package[target.removeprefix("infolens.")] if target != "infolens" else package
        if obj.docstring and obj.docstring.value.strip():
            first_lines[target] = obj.docstring.value.strip().split("\n")[0]
    missing = [t for t in targets if t not in first_lines]
    if missing:
        raise PluginError("public names without a docstring (the API reference needs one): "
                          + ", ".join(missing))
    return first_lines


def _block(target: str, **options: Any) -> str:
    lines = [f"::: {target}"]
    if options:
        lines.append("    options:")
        lines += [f"      {key}: {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def _api_pages() -> dict[str, str]:
    import infolens

    modules = _public_modules()
    top = _entries(infolens)
    pages = {"api/infolens.md": "# `infolens`\n\n" + _summary(infolens) + "\n\n"
             + "\n".join(_block(t, heading_level=2, heading=f"infolens.{n}") for n, t in top)}
    targets = [t for _, t in top]
    for module in modules:
        entries = _entries(module)
        head = f"# `{module.__name__}`\n\n"
        if entries:  # the module docstring, then each public name where it is defined
            body = _block(module.__name__, members=False, show_root_heading=False) + "\n" + "\n".join(
                _block(t, heading_level=2, heading=f"{module.__name__}.{n}") for n, t in entries)
        else:  # no __all__: its public members (and submodules) as griffe finds them
            body = _block(module.__name__, show_root_heading=False, show_submodules=True)
        pages[f"api/{module.__name__.removeprefix('infolens.')}.md"] = head + body
        targets += [module.__name__, *(t for _, t in entries)]
    first = _check_docstrings(targets)
    rows = [f"| [`infolens.{name}`](infolens.md) | {_inline(first[target])} |" for name, target in top]
    rows += [f"| [`{m.__name__}`]({m.__name__.removeprefix('infolens.')}.md) | {_inline(first[m.__name__])} |"
             for m in modules]
    pages["api/index.md"] = ("# API reference\n\nGenerated from the docstrings of every name in "
                             "`infolens.__all__` and of the public submodules it names.\n\n"
                             "| name | summary |\n|---|---|\n" + "\n".join(rows) + "\n")
    return pages


def _inline(text: str) -> str:
    """A docstring line as markdown in a table cell: Sphinx roles and double backticks as code."""
    parts = _SPHINX_CODE.split(text)  # text, code, text, code, ...: pipes in code spans stay as they are
    return "".join(f"`{part}`" if i % 2 else part.replace("|", "\\|") for i, part in enumerate(parts))


def _summary(obj: Any) -> str:
    return (inspect.getdoc(obj) or "").split("\n\n")[0]


# ----------------------------------------------------------------------------- benchmark tables
def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) if len(value) <= 4 else f"({len(value)} values)"
    return _escape(str(value))


def _escape(text: str) -> str:
    """Plain text for a markdown table cell: no links, emphasis, HTML or column breaks."""
    for char in "\\`*_[]<>|":
        text = text.replace(char, "&lt;" if char == "<" else "&gt;" if char == ">" else "\\" + char)
    return text.replace("\n", " ")


def _table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k, v in row.items() if not isinstance(v, dict)))
    lines = ["| " + " | ".join(map(_escape, columns)) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _record_lists(data: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(key, rows) of every non-empty list of records (dicts) at the top of a result file."""
    return [(key, value) for key, value in data.items()
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value)]


def _tables(data: dict[str, Any], source: str) -> list[tuple[str, str]]:
    """(title, markdown) of every list of records in a result file, long ones summarised."""
    return [(key, _table(rows) if len(rows) <= MAX_ROWS else f"{len(rows)} rows: see `{source}`.\n")
            for key, rows in _record_lists(data)]


def _results() -> dict[str, dict[str, Any]]:
    """Every result file as a mapping (a file holding a bare list of records becomes ``{"rows": ...}``)."""
    out = {}
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        out[path.stem] = data if isinstance(data, dict) else {"rows": data}
    return out


def _script_summary(stem: str) -> str:
    script = ROOT / "benchmarks" / f"{stem}.py"
    if not script.exists():
        return ""
    return (ast.get_docstring(ast.parse(script.read_text())) or "").split("\n\n")[0]


def _environment(data: dict[str, Any]) -> str:
    env = data.get("environment")
    if not isinstance(env, dict):
        return ""
    keys = ["date", "cpu_count", "torch_threads", "load_average", "torch", "numpy"]
    return "Measured: " + ", ".join(f"{k} {_cell(env[k])}" for k in keys if k in env) + ".\n\n"


def _benchmarks_page(results: dict[str, dict[str, Any]]) -> str:
    parts = ["# Benchmarks\n\nThe tables of `benchmarks/results/*.json`, read when the site is built; "
             "`make bench` writes them again. Times are from 2 CPU cores, often shared: read them "
             "as orders of magnitude.\n"]
    for stem, data in results.items():
        source = f"benchmarks/results/{stem}.json"
        parts.append(f"## {stem}\n\n{_script_summary(stem)}\n\n{_environment(data)}")
        parts += [f"### {title}\n\n{text}" for title, text in _tables(data, source)]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- estimator pages
def _estimator_pages(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    from infolens.estimators.api import METHODS

    pages = {}
    index = ["# Estimators\n\nOne page per `method=` of `il.estimate_entropy`, `il.estimate_mi` and "
             "`il.estimate_cmi`, generated from `infolens.estimators.api.METHODS` and the "
             "estimators' docstrings.\n", "| method | family | estimates | reference |", "|---|---|---|---|"]
    for name, spec in METHODS.items():
        quantities = [q for q in ("entropy", "mi", "cmi") if spec.supports(q)]
        index.append(f"| [`{name}`]({name}.md) | {spec.family} | {', '.join(quantities)} | "
                     f"{spec.reference} |")
        pages[f"estimators/{name}.md"] = _estimator_page(name, spec, quantities, results)
    pages["estimators/index.md"] = "\n".join(index) + "\n"
    return pages


def _estimator_page(name: str, spec: Any, quantities: list[str], results: dict[str, dict[str, Any]]) -> str:
    params = ", ".join(f"`{k}={default!r}`" for k, (default, _) in spec.params.items()) or "none"
    interval = {"bootstrap": "bootstrap (`n_resamples`)", "subsample": "subsampling (`n_resamples`)",
                "internal": "its own (half-samples)", None: "none"}[spec.resampling]
    text = [f"# `{name}`\n", "| property | value |\n|---|---|", f"| family | {spec.family} |",
            f"| estimates | {', '.join(quantities)} |", f"| parameters | {params} |",
            f"| interval (`ci=`) | {interval} |", f"| reference | {spec.reference} |\n",
            f"`il.estimate_{'mi' if 'mi' in quantities else 'entropy'}(..., method=\"{name}\")`\n"]
    implementations = list(dict.fromkeys(p.replace(":", ".") for p in (spec.entropy, spec.mi, spec.cmi) if p))
    modules = list(dict.fromkeys(
        (["infolens.estimators.binning"] if spec.family == "binning" else [])
        + [p.rsplit(".", 1)[0] for p in implementations]))
    text.append("## What it assumes, when it fails, its references\n")
    text += [_block(m, members=False, show_root_heading=True, heading_level=3) for m in modules]
    text.append("## Implementation\n")
    text += [_block(p, heading_level=3) for p in implementations]
    text += _measured(name, results)
    return "\n".join(text)


def _measured(name: str, results: dict[str, dict[str, Any]]) -> list[str]:
    """This method's rows of every benchmark table that has a ``method`` column."""
    out = []
    for stem, data in results.items():
        for key, records in _record_lists(data):
            rows = [r for r in records if r.get("method") == name]
            if rows:
                shown = _table(rows) if len(rows) <= MAX_ROWS else f"{len(rows)} rows, not shown.\n"
                out.append(f"### `benchmarks/results/{stem}.json`: {key}\n\n{shown}")
    return (["## Measured\n", "Rows of [the benchmark tables](../benchmarks.md) for this method.\n", *out]
            if out else ["## Measured\n", "No benchmark row names this method yet.\n"])


# ----------------------------------------------------------------------------- the hooks
def _notebooks() -> list[str]:
    return [f"notebooks/{p.name}" for p in sorted((ROOT / "examples").glob("*.ipynb"))]


def on_config(config: Any) -> Any:
    """Generate the pages and the navigation."""
    results = _results()
    _pages.clear()
    _pages.update(_api_pages())
    _pages.update(_estimator_pages(results))
    _pages["benchmarks.md"] = _benchmarks_page(results)
    first = ["api/index.md", "api/infolens.md"]
    api = [*first, *sorted(p for p in _pages if p.startswith("api/") and p not in first)]
    estimators = ["estimators/index.md", *(p for p in _pages if p.startswith("estimators/") and
                                           p != "estimators/index.md")]
    config["nav"] = [{"Home": "index.md"}, {"Architecture": "architecture.md"},
                     {"Coming from other libraries": "coming-from.md"},
                     {"Large data and wide layers (streaming)": "streaming.md"},
                     {"Several processes (torch.distributed)": "distributed.md"},
                     {"Notebooks": _notebooks()}, {"Estimators": estimators},
                     {"API reference": api}, {"Benchmarks": "benchmarks.md"}]
    return config


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages."""
    for uri, content in _pages.items():
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_content(html: str, **kwargs: Any) -> str:
    """Drop the Sphinx role prefixes of docstrings (``:func:``), keeping the code they mark."""
    return _ROLE.sub("", html)
