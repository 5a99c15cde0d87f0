"""Pruning verification as a function: ``il.verify_pruning`` takes layer names or a probe report,
and ``ProbeReport.verify_pruning`` only delegates to it (same numbers)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

import infolens as il
from infolens.probes import probe_activations


def planted_model() -> nn.Sequential:
    """Blocks ``a``, ``copy``, ``b`` and a head; ``copy`` is exactly the identity on ``a``'s
    non-negative output, so a probe finds nothing new there."""
    torch.manual_seed(0)
    widths = {"a": (4, 6), "copy": (6, 6), "b": (6, 6)}
    model = nn.Sequential(OrderedDict([*((name, nn.Sequential(nn.Linear(*shape), nn.ReLU()))
                                         for name, shape in widths.items()), ("head", nn.Linear(6, 3))]))
    with torch.no_grad():
        model.copy[0].weight.copy_(torch.eye(6))
        model.copy[0].bias.zero_()
    return model


@pytest.fixture(scope="module")
def planted():
    model = planted_model()
    x = np.random.default_rng(1).normal(size=(400, 4)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.tensor(x)).argmax(dim=1).numpy()
    return model, x, y, il.probe_layers(model, x, y, ["a", "copy", "b"], n_splits=3, C=1.0)


def test_verify_pruning_takes_a_probe_report(planted) -> None:
    model, x, y, report = planted
    assert "copy" in report.redundant
    result = il.verify_pruning(model, x, y, x, y, report, epochs=1, batch_size=64)
    flagged = tuple(name for name in report.redundant if name != "input")
    assert result.pruned.removed == flagged
    unflagged = [name for name, flag in zip(report.layers, report.is_redundant, strict=True)
                 if not flag and name != "input"]
    assert [c.removed for c in result.controls] == [(name,) for name in unflagged]
    assert result.full.accuracy_before == 1.0  # the labels are the full network's own predictions
    # the method on the report is the same call
    again = report.verify_pruning(model, x, y, x, y, epochs=1, batch_size=64)
    assert again.to_dict() == result.to_dict()
    # explicit controls win over the report's unflagged layers
    only = il.verify_pruning(model, x, y, x, y, report, controls=["a"], epochs=0)
    assert [c.removed for c in only.controls] == [("a",)]


def test_verify_pruning_with_nothing_flagged_says_so(planted) -> None:
    model, x, y, _ = planted
    noise = np.random.default_rng(2).normal(size=(400, 3))
    layers = {"input": noise, "onehot": np.eye(3)[y] * 5 + noise}
    nothing = probe_activations(layers, y, n_splits=2)
    assert nothing.redundant == ()
    with pytest.raises(il.InfoLensError, match="The 'remove' parameter of verify_pruning must be layer "
                                               "names, or a ProbeReport that flags a layer redundant"):
        il.verify_pruning(model, x, y, x, y, nothing)
