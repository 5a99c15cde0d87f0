"""The information plane of real networks: a token transformer and a small ResNet, untrained and
trained, under binning, KDE, usable information and (when installed) matrix-based Renyi entropy.

Workloads (issue 19):

* ``transformer``: :class:`infolens.models.TokenTransformer` (2 pre-norm blocks, d = 64, 4 heads)
  on :func:`infolens.data.marker_count` (32 token ids, 4 classes), token ids fed as ``long``
  through ``nn.Embedding``. Sequence layers are read flattened (32 x 64 = 2,048 units), as the
  issue's user did.
* ``resnet``: a small residual CNN (BatchNorm, two residual blocks of 16 channels on 8 x 8, dict
  output) on scikit-learn's digits (1,797 images), layers flattened (1,024 units).

For each model, state (untrained; trained for ``--epochs``), layer and estimator the table gives
I(X;T) and I(T;Y) in bits, the record's flags and seconds. ``v_information`` estimates I(T;Y)
only (a held-out linear probe against a fitted null model); I(X;T) beside it is binning's.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/real_networks.py [--quick]
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

import infolens as il
from _common import environment, format_table, rss_bytes, set_threads, write_results
from infolens.plane.estimators import TABLE


class _Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class SmallResNet(nn.Module):
    """Stem conv + 2 residual blocks (16 x 8 x 8 = 1,024 units each) + pooled head; dict output."""

    layer_names = ["blocks.0", "blocks.1", "head"]

    def __init__(self, channels: int = 16, n_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU())
        self.blocks = nn.Sequential(_Block(channels), _Block(channels))
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.blocks(self.stem(x))
        return {"logits": self.head(h.mean(dim=(2, 3)))}


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, logits: Any) -> float:
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(y)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(n, generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(logits(model(x[idx])), y[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return float((logits(model(x)).argmax(1) == y).float().mean())


ESTIMATORS: dict[str, Any] = {
    "binning(bins=30)": "binning",
    "kde": "kde",
    "v_information": {"I_XT": "binning", "I_TY": "v_information"},
    "matrix_renyi": "matrix_renyi",
}


def _record(model: nn.Module, x: torch.Tensor, y: np.ndarray, state: str, name: str, rows: list[dict],
            quick: bool, **plane_kwargs: Any) -> None:
    for label, estimator in ESTIMATORS.items():
        if label == "matrix_renyi" and "matrix_renyi" not in TABLE:
            continue
        if quick and label == "kde":
            continue
        plane = il.InformationPlane(x, y, estimator=estimator, **plane_kwargs)
        rss0, t0 = rss_bytes(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", il.InfoLensWarning)
            records = plane.record(model, 0)
        seconds = time.perf_counter() - t0
        by_layer: dict[str, dict[str, Any]] = {}
        for r in records:
            row = by_layer.setdefault(r["layer"], {"model": name, "state": state, "estimator": label,
                                                   "layer": r["layer"]})
            row[r["quantity"]] = r["value"]
            if r["flags"]:
                row["flags"] = ";".join(filter(None, [row.get("flags", ""), f"{r['quantity']}:{r['flags']}"]))
        for row in by_layer.values():
            row.setdefault("flags", "")
            row["seconds"] = seconds / len(by_layer)
            row["rss_mb"] = max(0, rss_bytes() - rss0) / 2**20
            rows.append(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 sequences, no KDE, 5 epochs")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    set_threads(2)
    epochs = 5 if args.quick else args.epochs
    rows: list[dict[str, Any]] = []
    accuracies = {}

    split = il.data.marker_count(1000 if args.quick else 4000)
    x = torch.as_tensor(np.concatenate([split.x_train, split.x_test]))
    y = np.concatenate([split.y_train, split.y_test])
    torch.manual_seed(0)
    model = il.models.TokenTransformer().eval()
    _record(model, x, y, "untrained", "transformer", rows, args.quick)
    n_train = len(split.y_train)
    accuracies["transformer"] = _train(model, x[:n_train], torch.as_tensor(y[:n_train]), epochs, 1e-3,
                                       lambda out: out)
    _record(model, x, y, f"trained {epochs} ep", "transformer", rows, args.quick)

    digits = il.data.digits()
    xd = torch.as_tensor(np.concatenate([digits.x_train, digits.x_test]), dtype=torch.float32)
    xd = xd.reshape(-1, 1, 8, 8)
    yd = np.concatenate([digits.y_train, digits.y_test])
    torch.manual_seed(0)
    net = SmallResNet().eval()
    forward = {"forward": lambda m, batch: m(batch)["logits"]}
    _record(net, xd, yd, "untrained", "resnet", rows, args.quick, **forward)
    accuracies["resnet"] = _train(net, xd, torch.as_tensor(yd), epochs, 3e-3, lambda out: out["logits"])
    _record(net, xd, yd, f"trained {epochs} ep", "resnet", rows, args.quick, **forward)

    for row in rows:
        for q in ("I_XT", "I_TY"):
            row[q] = row.get(q, float("nan"))
    print(format_table(rows, columns=["model", "state", "estimator", "layer", "I_XT", "I_TY", "flags",
                                      "seconds", "rss_mb"],
                       title="real networks: I(X;T), I(T;Y) in bits"))
    print("train accuracy after training:", {k: round(v, 3) for k, v in accuracies.items()})
    write_results("real_networks", {"environment": environment(), "epochs": epochs, "quick": args.quick,
                                    "train_accuracy": accuracies, "rows": rows})


if __name__ == "__main__":
    main()
