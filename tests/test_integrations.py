"""Lightning callback and TensorBoard writer: thin adapters over InformationPlane."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import infolens as il
from infolens import InfoLensError
from infolens._optional import require
from infolens.models import ReferenceMLP


def _szt_plane(**kwargs):
    x, y = il.data.szt12()
    return il.InformationPlane(torch.as_tensor(x), y, estimator="binning", bins=30, **kwargs)


def test_require_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "not_a_real_pkg", None)
    with pytest.raises(InfoLensError, match=r'pip install "infolens\[extra\]"'):
        require("not_a_real_pkg", "extra")


class _Recorder:
    def __init__(self):
        self.scalars: list[tuple[str, float, int]] = []
        self.figures: list[str] = []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def add_figure(self, tag, figure, global_step=None):
        self.figures.append(tag)

    def flush(self):
        pass


def test_tensorboard_adapter_writes_every_measurement():
    from infolens.integrations.tensorboard import log_information_plane

    plane = _szt_plane()
    torch.manual_seed(0)
    model = ReferenceMLP(activation="tanh")
    plane.record(model, 0, activation="tanh")
    plane.record(model, 1, activation="tanh")
    writer = _Recorder()
    n = log_information_plane(writer, plane.result)
    records = plane.result.to_records()
    assert n == len(records) == 2 * 2 * len(model.layer_names)
    tags = {t for t, _, _ in writer.scalars}
    assert "infoplane/tanh/layers.0/I_XT/seed0" in tags
    first = next(r for r in records if r["layer"] == "layers.0" and r["quantity"] == "I_XT")
    assert (f"infoplane/tanh/layers.0/I_XT/seed{first['seed']}", first["value"], first["epoch"]) \
        in writer.scalars
    assert writer.figures == ["infoplane/figure"]


def test_tensorboard_summary_writer_writes_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    from infolens.integrations.tensorboard import summary_writer

    writer = summary_writer(str(tmp_path))
    writer.add_scalar("x", 1.0, 0)
    writer.close()
    assert list(tmp_path.glob("events.out.tfevents.*"))


def test_lightning_callback_records_scheduled_epochs():
    pl = pytest.importorskip("lightning.pytorch")
    from infolens.integrations.lightning import InformationPlaneCallback

    x, y = il.data.szt12()

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = ReferenceMLP(activation="tanh")
            self.layer_names = self.net.layer_names

        def forward(self, inputs):
            return self.net(inputs)

        def training_step(self, batch, _):
            inputs, targets = batch
            return torch.nn.functional.cross_entropy(self(inputs), targets)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    module = Module()
    plane = il.InformationPlane(torch.as_tensor(x), y, layers="net.layers.*",
                                schedule=[0, 2, 3],
                                estimator="binning")
    data = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y))
    loader = torch.utils.data.DataLoader(data, batch_size=512, shuffle=True)
    trainer = pl.Trainer(max_epochs=3, callbacks=[InformationPlaneCallback(plane, seed=7)],
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1)
    trainer.fit(module, loader)
    frame = plane.result.to_frame()
    assert sorted(frame["epoch"].unique()) == [0, 2, 3]
    assert set(frame["seed"]) == {7}
    assert len(frame["layer"].unique()) == 6
    # the captured layers are the live module's: I(T;Y) can never exceed H(Y) of the labels
    h_y = il.entropy(np.bincount(y) / len(y))
    assert (frame.loc[frame.quantity == "I_TY", "value"] <= h_y + 1e-9).all()
