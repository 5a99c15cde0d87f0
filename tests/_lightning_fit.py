"""A small Lightning fit with the information-plane callback, shared by tests/test_integrations.py:
imported for the one-process test, and run as a script for the two-process data-parallel test
(``python _lightning_fit.py OUT_DIR``: two CPU processes, strategy "ddp", gloo, on 127.0.0.1),
where each rank writes its records to ``OUT_DIR/records-rank<r>.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

import infolens as il
from infolens.integrations.lightning import InformationPlaneCallback
from infolens.models import ReferenceMLP


class Module(pl.LightningModule):
    """The reference MLP on the 12-bit task, trained with Adam on cross-entropy."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = ReferenceMLP(activation="tanh")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs)

    def training_step(self, batch: Any, _: int) -> torch.Tensor:
        inputs, targets = batch
        return torch.nn.functional.cross_entropy(self(inputs), targets)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-3)


def fit(schedule: Any, max_epochs: int, sharded: bool = False,
        **trainer_options: Any) -> tuple[pl.Trainer, Any]:
    """Fit :class:`Module` on the whole 12-bit task with the callback; return (trainer, plane).

    ``sharded``: every rank records its contiguous share of the samples with a distributed plane
    (built in the callback's ``setup``). No logger, checkpoints or progress bar unless
    ``trainer_options`` ask for them."""
    x, y = il.data.szt12()

    def sharded_plane() -> Any:
        import numpy as np
        import torch.distributed as dist

        rows = np.array_split(np.arange(len(y)), dist.get_world_size())[dist.get_rank()]
        return il.InformationPlane(torch.as_tensor(x[rows]), y[rows], layers="net.layers.*",
                                   schedule=schedule, estimator="binning", distributed=True)

    plane = sharded_plane if sharded else il.InformationPlane(
        torch.as_tensor(x), y, layers="net.layers.*", schedule=schedule, estimator="binning")
    data = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y))
    loader = torch.utils.data.DataLoader(data, batch_size=512, shuffle=True)
    options = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
               "enable_model_summary": False, "accelerator": "cpu", "log_every_n_steps": 1,
               **trainer_options}
    callback = InformationPlaneCallback(plane, seed=7)
    trainer = pl.Trainer(max_epochs=max_epochs, callbacks=[callback], **options)
    trainer.fit(Module(), loader)
    return trainer, callback.plane


if __name__ == "__main__":
    torch.set_num_threads(1)
    trainer, plane = fit("every", max_epochs=2, sharded=len(sys.argv) > 2 and sys.argv[2] == "sharded",
                         devices=2, strategy="ddp")
    payload = {"world_size": trainer.world_size, "n_train_batches": trainer.num_training_batches,
               "records": plane.records}
    out = Path(sys.argv[1]) / f"records-rank{trainer.global_rank}.json"
    out.write_text(json.dumps(payload, default=float))
