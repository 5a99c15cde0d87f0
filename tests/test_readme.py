"""The README's tour runs as written, and its printed values are the ones it claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _tour_block() -> str:
    text = README.read_text()
    section = text[text.index("## A short tour"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_tour_runs_and_its_commented_values_hold():
    namespace: dict = {}
    exec(compile(_tour_block(), "README tour", "exec"), namespace)  # noqa: S102 - our own README
    il = namespace["il"]
    assert il.entropy([0.99, 0.01]) == pytest.approx(0.0808, abs=5e-5)
    assert il.mutual_information(namespace["pxy"]) == pytest.approx(0.278, abs=5e-4)
    assert il.mutual_information(namespace["pxy"], units="nats") == pytest.approx(0.193, abs=5e-4)
    assert il.kl_divergence([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.737, abs=5e-4)
    assert namespace["est"].ci[0] <= namespace["true_mi"] + 0.05
