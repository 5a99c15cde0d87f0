"""Lightning callback and TensorBoard writer: thin adapters over InformationPlane."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import conftest
import infolens as il
from conftest import localhost_env
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


def _needs_lightning() -> None:
    conftest.require(importlib.util.find_spec("lightning") is not None,
                     'Lightning is not installed: pip install "infolens[lightning]"')


def test_lightning_callback_records_scheduled_epochs_and_logs_them_to_tensorboard(tmp_path):
    _needs_lightning()
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from _lightning_fit import fit

    logger = TensorBoardLogger(str(tmp_path), name="fit", version=0)
    _, plane = fit([0, 2, 3], max_epochs=3, devices=1, logger=logger)
    frame = plane.result.to_frame()
    events = EventAccumulator(logger.log_dir, size_guidance={"scalars": 0})
    events.Reload()
    for r in plane.records:  # each layer's I(X;T) and I(T;Y) at each recorded epoch, as recorded
        series = events.Scalars(f"infoplane/{r['layer']}/{r['quantity']}")
        assert [e.step for e in series] == [0, 2, 3]
        assert next(e.value for e in series if e.step == r["epoch"]) == pytest.approx(r["value"], rel=1e-6)
    assert sorted(frame["epoch"].unique()) == [0, 2, 3]
    assert set(frame["seed"]) == {7}
    assert len(frame["layer"].unique()) == 6
    # the captured layers are the live module's: I(T;Y) can never exceed H(Y) of the labels
    _, y = il.data.szt12()
    h_y = il.entropy(np.bincount(y) / len(y))
    assert (frame.loc[frame.quantity == "I_TY", "value"] <= h_y + 1e-9).all()


def _fit_two_processes(out: Path, *args: str) -> list[dict]:
    """Run tests/_lightning_fit.py under DDP (2 CPU processes, gloo); each rank's JSON."""
    _needs_lightning()
    script = Path(__file__).with_name("_lightning_fit.py")
    env = localhost_env(str(script.parent))
    run = subprocess.run([sys.executable, str(script), str(out), *args], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads((out / f"records-rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.slow
def test_lightning_callback_with_a_sharded_plane_records_the_whole_set_on_every_rank(tmp_path):
    """Each rank records its half of the samples with a distributed plane built in setup; both
    hold the one-process records of all 4,096 samples."""
    ranks = _fit_two_processes(tmp_path, "sharded")
    from _lightning_fit import Module

    x, y = il.data.szt12()
    whole = il.InformationPlane(torch.as_tensor(x), y, layers="net.layers.*", estimator="binning")
    expected = {(r["layer"], r["quantity"]): r["value"] for r in whole.record(Module(), 0)}
    for rank in ranks:
        seen = Counter((r["epoch"], r["layer"], r["quantity"]) for r in rank["records"])
        assert set(seen.values()) == {1} and len(seen) == 3 * 6 * 2
        got = {(r["layer"], r["quantity"]): r["value"] for r in rank["records"] if r["epoch"] == 0}
        assert got == pytest.approx(expected, rel=1e-9)
    assert ranks[0]["records"] == ranks[1]["records"]


@pytest.mark.slow
def test_lightning_callback_records_once_under_two_process_data_parallel(tmp_path):
    """Two CPU processes (DDP, gloo): rank zero records every epoch once on the whole data set,
    rank one records nothing; each rank trained on its own half of the batches."""
    ranks = _fit_two_processes(tmp_path)
    assert [rank["world_size"] for rank in ranks] == [2, 2]
    # 4096 samples in batches of 512 is 8 batches; DistributedSampler gives each rank half
    assert [rank["n_train_batches"] for rank in ranks] == [4, 4]
    assert ranks[1]["records"] == []
    seen = Counter((r["epoch"], r["layer"], r["quantity"]) for r in ranks[0]["records"])
    assert set(seen.values()) == {1}  # nothing recorded twice
    assert sorted({epoch for epoch, _, _ in seen}) == [0, 1, 2]
    assert len(seen) == 3 * 6 * 2  # epochs x layers x (I_XT, I_TY)
    # epoch 0 is the seeded initial network: the values of a one-process plane on the whole set
    # (on one rank's half, I(X;T) of the first layer could not exceed log2(2048) = 11 bits)
    from _lightning_fit import Module

    x, y = il.data.szt12()
    whole = il.InformationPlane(torch.as_tensor(x), y, layers="net.layers.*", estimator="binning")
    expected = {(r["layer"], r["quantity"]): r["value"] for r in whole.record(Module(), 0)}
    got = {(r["layer"], r["quantity"]): r["value"] for r in ranks[0]["records"] if r["epoch"] == 0}
    assert got == pytest.approx(expected, rel=1e-9)
    assert got[("net.layers.0", "I_XT")] > 11.5
