"""Pruning verification as a function: ``il.verify_pruning`` takes layer names or a probe report,
and ``ProbeReport.verify_pruning`` only delegates to it (same numbers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import infolens as il
from infolens.probes import probe_activations


class Blocks(nn.Module):
    """Three blocks and a head; block 1 is exactly the identity on block 0's (non-negative) output."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(4, 6), nn.ReLU()),
                                     nn.Sequential(nn.Linear(6, 6), nn.ReLU()),
                                     nn.Sequential(nn.Linear(6, 6), nn.ReLU())])
        self.head = nn.Linear(6, 3)
        with torch.no_grad():
            self.blocks[1][0].weight.copy_(torch.eye(6))
            self.blocks[1][0].bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)


@pytest.fixture(scope="module")
def planted():
    model = Blocks()
    x = np.random.default_rng(1).normal(size=(400, 4)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.tensor(x)).argmax(dim=1).numpy()
    return model, x, y, il.probe_layers(model, x, y, ["blocks.0", "blocks.1", "blocks.2"], n_splits=3, C=1.0)


def test_verify_pruning_takes_a_probe_report(planted) -> None:
    model, x, y, report = planted
    assert "blocks.1" in report.redundant
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
    only = il.verify_pruning(model, x, y, x, y, report, controls=["blocks.0"], epochs=0)
    assert [c.removed for c in only.controls] == [("blocks.0",)]


def test_verify_pruning_with_nothing_flagged_says_so(planted) -> None:
    model, x, y, _ = planted
    noise = np.random.default_rng(2).normal(size=(400, 3))
    layers = {"input": noise, "onehot": np.eye(3)[y] * 5 + noise}
    nothing = probe_activations(layers, y, n_splits=2)
    assert nothing.redundant == ()
    with pytest.raises(il.InfoLensError, match="The 'remove' parameter of verify_pruning must be layer "
                                               "names, or a ProbeReport that flags a layer redundant"):
        il.verify_pruning(model, x, y, x, y, nothing)
