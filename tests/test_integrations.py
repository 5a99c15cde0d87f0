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


def test_tensorboard_event_files_hold_every_measurement_and_the_figure(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from infolens.integrations.tensorboard import log_information_plane, summary_writer

    plane = _szt_plane()
    torch.manual_seed(0)
    model = ReferenceMLP(activation="tanh")
    for epoch in (0, 1, 5):
        plane.record(model, epoch, activation="tanh")
    writer = summary_writer(str(tmp_path))
    n = log_information_plane(writer, plane.result)
    writer.close()
    records = plane.result.to_records()
    assert n == len(records) == 3 * 2 * len(model.layer_names)

    events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    tags = events.Tags()
    expected = {f"infoplane/tanh/{layer}/{quantity}/seed0" for layer in model.layer_names
                for quantity in ("I_XT", "I_TY")}
    assert set(tags["scalars"]) == expected
    for r in records:  # every layer, every quantity, every recorded epoch, the value as recorded
        series = events.Scalars(f"infoplane/tanh/{r['layer']}/{r['quantity']}/seed{r['seed']}")
        assert [e.step for e in series] == [0, 1, 5]
        value = next(e.value for e in series if e.step == r["epoch"])
        assert value == pytest.approx(r["value"], rel=1e-6)  # stored as float32
    assert tags["images"] == ["infoplane/figure"]
    (image,) = events.Images("infoplane/figure")
    assert image.step == 5 and image.encoded_image_string.startswith(b"\x89PNG")
    assert image.width > 100 and image.height > 100


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
