"""Streaming records (``InformationPlane(batch_size=...)``): the numbers of the whole layer, from
one batch at a time; the seeded subsample of sample estimators; kept activations on disk."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import infolens as il
from infolens import InfoLensError
from infolens.models import StackedMLP
from infolens.plane.estimators import TABLE, PlaneEstimator

N = 300
BATCH = 37  # does not divide N: the last batch is short


def _data(n: int = N, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.normal(size=(n, 6)).astype(np.float32))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).numpy().astype(np.int64) + 2 * (x[:, 2] > 0.5).numpy()
    return x, y


def _mlp(quantize: bool = False) -> nn.Module:
    torch.manual_seed(0)
    parts: list[nn.Module] = [nn.Linear(6, 5), nn.Tanh()]
    if quantize:
        parts.append(il.Quantize(bits=1))
    parts += [nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 4)]
    return nn.Sequential(*parts).eval()


def _values(records: list[dict]) -> list[tuple]:
    return [(r["layer"], r["quantity"], r["estimator"], r["flags"], r.get("subsample")) for r in records]


def _whole_and_streamed(model: nn.Module, x, y, layers, **settings) -> tuple[list[dict], list[dict]]:
    """Records of the whole layers (estimated at once) and streamed, on the same activations:
    the reference runs the model in the same batches, then estimates from the joined layers."""
    acts = il.plane.run_layers(model, x, layers, batch_size=BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", il.InfoLensWarning)
        whole = il.InformationPlane(x, y, layers=layers, **settings).record_activations(acts, 0)
        streamed = il.InformationPlane(x, y, layers=layers, batch_size=BATCH, **settings).record(model, 0)
    return whole, streamed


@pytest.mark.parametrize("settings", [
    {"estimator": "binning", "bins": 30},                    # the layer's own range: a range pass first
    {"estimator": "binning", "bins": 8},
    {"estimator": "binning", "bin_width": 0.25},             # bins start at the layer's own minimum
    {"estimator": "binning", "bins": 10, "range": (-1.0, 1.0)},
    {"estimator": "binning", "bins": 30, "correction": "miller_madow"},
    {"estimator": "plugin"},
    {"estimator": "adaptive_binning", "bins": 4},            # quantile edges: given the whole layer
])
def test_streaming_equals_whole_layer_counts_exactly(settings):
    x, y = _data()
    layers = ["1", "3", "4"]
    whole, streamed = _whole_and_streamed(_mlp(), x, y, layers, **settings)
    assert _values(streamed) == _values(whole)
    assert [r["value"] for r in streamed] == pytest.approx([r["value"] for r in whole], abs=1e-12, rel=0)
    assert {r["reduce"] for r in streamed} == {"flatten"}
    # not a saturated case, where any partition would read log2 n and H(Y)
    if settings["estimator"] == "binning" and settings.get("bins") == 8:
        assert min(r["value"] for r in whole if r["quantity"] == "I_XT") < np.log2(N) - 2


def test_streaming_quantized_layers_equal_the_whole_layer():
    x, y = _data()
    whole, streamed = _whole_and_streamed(_mlp(quantize=True), x, y, ["2"], estimator="quantized", bits=1)
    assert [r["value"] for r in streamed] == pytest.approx([r["value"] for r in whole], abs=1e-12, rel=0)
    assert 0 < whole[0]["value"] < np.log2(N) - 1


def test_row_keys_separate_rows_and_survive_batches():
    levels = np.array([[0, 1, 2], [0, 1, 2], [0, 1, 300], [70000, 0, 0], [0, 1, 2]], dtype=np.int64)
    keys = il.plane.stream.row_keys(levels)
    assert keys.shape == (5, il.plane.stream.KEY_BYTES) and keys.dtype == np.uint8
    assert (keys[0] == keys[1]).all() and (keys[0] == keys[4]).all() and len({k.tobytes() for k in keys}) == 3
    # the same row in a batch of narrow rows and in a batch with wide rows: the same key
    assert (il.plane.stream.row_keys(levels[:1])[0] == il.plane.stream.row_keys(levels[[3, 0]])[1]).all()
    # symbols numbered in order of first occurrence, equal keys equal symbols
    assert il.plane.stream.codes_of_keys(keys).tolist() == [0, 0, 1, 2, 0]
    assert il.plane.stream.codes_of_keys(keys[:0]).tolist() == []


def test_subsample_is_stated_seeded_and_the_same_streamed_or_whole():
    x, y = _data()
    model = _mlp()
    plane = il.InformationPlane(x, y, layers=["3"], estimator="kde", noise_var=0.05, subsample=120,
                                subsample_seed=3, batch_size=BATCH)
    records = plane.record(model, 0)
    rows = plane.subsample_rows
    assert len(rows) == 120 and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, np.sort(np.random.default_rng(3).choice(N, 120, replace=False)))
    assert {r["subsample"] for r in records} == {120}
    # the KDE of exactly those rows, computed on its own
    t = il.plane.run_layers(model, x, ["3"], batch_size=BATCH)["3"].numpy()
    alone = il.InformationPlane(x[rows], y[rows], estimator="kde", noise_var=0.05).record_activations(
        {"3": t[rows]}, 0)
    assert [r["value"] for r in records] == pytest.approx([r["value"] for r in alone], abs=1e-12, rel=0)
    whole = il.InformationPlane(x, y, layers=["3"], estimator="kde", noise_var=0.05, subsample=120,
                                subsample_seed=3).record_activations({"3": t}, 0)
    assert [r["value"] for r in whole] == pytest.approx([r["value"] for r in records], abs=1e-12, rel=0)
    other = il.InformationPlane(x, y, estimator="kde", subsample=120, subsample_seed=4)
    assert not np.array_equal(other.subsample_rows, rows)
    # count-based quantities of a mixed plane read every row and carry no subsample
    mixed = il.InformationPlane(x, y, layers=["3"], estimator={"I_XT": "binning", "I_TY": "kde"},
                                subsample=120, batch_size=BATCH).record(model, 0)
    assert [r.get("subsample") for r in mixed] == [None, 120]


def test_bad_batch_size_and_subsample_name_the_parameter():
    x, y = _data(40)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InfoLensError, match="'batch_size' parameter of InformationPlane"):
            il.InformationPlane(x, y, batch_size=bad)
    for bad in (41, 1, 10.0):
        with pytest.raises(InfoLensError, match=r"'subsample' parameter of InformationPlane.*\(40\)"):
            il.InformationPlane(x, y, estimator="kde", subsample=bad)
    with pytest.raises(InfoLensError, match="'subsample_seed' parameter"):
        il.InformationPlane(x, y, subsample=10, subsample_seed=-1)
    with pytest.raises(InfoLensError, match=r"'k' parameter of InformationPlane.*number of samples \(3\)"):
        il.InformationPlane(x, y, estimator="ksg", k=3, subsample=3)


class _TokenNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.embed = nn.Embedding(12, 4)
        self.mix = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.mix(self.embed(ids))).mean(dim=1))


def test_token_id_model_records_in_batches():
    ids = torch.from_numpy(np.random.default_rng(2).integers(0, 12, size=(150, 5)))
    y = (ids[:, 0] % 2).numpy()
    model = _TokenNet().eval()
    acts = il.plane.run_layers(model, ids, ["embed", "mix"], reduce="mean", batch_size=BATCH)
    whole = il.InformationPlane(ids, y, layers=["embed", "mix"], bins=6).record_activations(acts, 0)
    plane = il.InformationPlane(ids, y, layers=["embed", "mix"], bins=6, reduce="mean", batch_size=BATCH)
    streamed = plane.record(model, 0)
    assert ids.dtype == torch.int64
    assert [r["value"] for r in streamed] == pytest.approx([r["value"] for r in whole], abs=1e-12, rel=0)
    assert {r["reduce"] for r in streamed} == {"mean"}


def test_members_of_a_stacked_model_stream_like_the_whole_layers():
    x, y = _data(120)
    stacked = StackedMLP(2, (6, 5, 3, 4), ["tanh", "relu"], seeds=[0, 1]).eval()
    acts = il.plane.run_layers(stacked, x, stacked.layer_names, members=stacked.members, batch_size=BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", il.InfoLensWarning)
        whole = il.InformationPlane(x, y, bins=8).record_activations(acts, 0, members=stacked.members)
        streamed = il.InformationPlane(x, y, bins=8, batch_size=BATCH).record(stacked, 0,
                                                                             members=stacked.members)
    key = [(r["activation"], r["seed"], r["layer"], r["quantity"]) for r in whole]
    assert [(r["activation"], r["seed"], r["layer"], r["quantity"]) for r in streamed] == key
    assert [r["value"] for r in streamed] == pytest.approx([r["value"] for r in whole], abs=1e-12, rel=0)


def test_kept_activations_go_to_disk_when_asked(tmp_path):
    x, y = _data()
    model = _mlp()
    in_memory = il.InformationPlane(x, y, layers=["1", "4"], keep_activations=True)
    in_memory.record(model, 2, activation="tanh")
    on_disk = il.InformationPlane(x, y, layers=["1", "4"], keep_activations=[2], batch_size=BATCH,
                                  activations_dir=tmp_path)
    on_disk.record(model, 2, activation="tanh")
    on_disk.record(model, 3, activation="tanh")  # not a kept epoch
    kept = on_disk.activations[("tanh", 0)]
    assert list(kept) == [2]
    for layer in ("1", "4"):
        assert isinstance(kept[2][layer], np.memmap) and kept[2][layer].dtype == np.float32
        np.testing.assert_allclose(kept[2][layer], in_memory.activations[("tanh", 0)][2][layer], atol=1e-6)
    assert sorted(p.name for p in (tmp_path / "tanh-seed0" / "epoch2").iterdir()) == ["1.npy", "4.npy"]
    whole_dir = tmp_path / "whole"
    il.InformationPlane(x, y, layers=["1"], keep_activations=True, activations_dir=whole_dir).record(model, 0)
    assert np.load(whole_dir / "-seed0" / "epoch0" / "1.npy").shape == (N, 5)
    with pytest.raises(InfoLensError, match="'activations_dir' parameter"):
        il.InformationPlane(x, y, activations_dir=3)


def _mean_rows(t, y, n_classes, x, params, quantities):
    """A stand-in minibatch estimator: each quantity the mean of one column over the minibatch."""
    t = np.asarray(t, dtype=np.float64)  # rows arrive in the layer's dtype
    return {"I_XT": float(t[:, 0].mean()), "I_TY": float(t[:, 1].mean())}


def _shuffled_cut(n, params):
    """Minibatches of a seeded permutation, as matrix Renyi cuts them."""
    return np.array_split(np.random.default_rng(params["seed"]).permutation(n), -(-n // params["minibatch"]))


def test_minibatch_estimators_average_the_same_minibatches_streamed_or_whole(monkeypatch):
    def check(name, value, fn):
        return il._validation.check_int(name, value, fn, minimum=1)

    monkeypatch.setitem(TABLE, "minibatch_mean", PlaneEstimator(
        "minibatch_mean", {"minibatch": (50, check), "seed": (3, il._validation.check_seed)}, _mean_rows,
        consumes="minibatch", minibatches=_shuffled_cut))
    x, y = _data()
    model = _mlp()
    t = il.plane.run_layers(model, x, ["1"], batch_size=BATCH)["1"].numpy().astype(np.float64)
    parts = _shuffled_cut(N, {"seed": 3, "minibatch": 50})  # 6 minibatches of 50
    expected = [np.mean([t[p, c].mean() for p in parts]) / np.log(2) for c in (0, 1)]
    whole = il.InformationPlane(x, y, estimator="minibatch_mean").record_activations({"1": t}, 0)
    streamed = il.InformationPlane(x, y, layers=["1"], estimator="minibatch_mean",
                                   batch_size=BATCH).record(model, 0)
    assert [r["value"] for r in whole] == pytest.approx(expected, abs=1e-12)
    assert [r["value"] for r in streamed] == pytest.approx(expected, abs=1e-12)
    uneven = il.InformationPlane(x, y, estimator="minibatch_mean", minibatch=70)
    uneven = uneven.record_activations({"1": t}, 0)
    parts = _shuffled_cut(N, {"seed": 3, "minibatch": 70})  # 5 of 60: near-equal, none short
    assert [len(p) for p in parts] == [60] * 5
    assert uneven[0]["value"] == pytest.approx(np.mean([t[p, 0].mean() for p in parts]) / np.log(2))


def test_streamed_matrix_renyi_reads_its_batches_one_after_another():
    """The model sees the samples in the order of matrix Renyi's seeded batches, so one batch of
    rows waits at a time, and the numbers are those of the whole layer and of matrix_renyi_mi."""
    x, y = _data()
    model = _mlp()
    seen = []

    def forward(net, batch):
        seen.append(batch)
        return net(batch)

    plane = il.InformationPlane(x, y, layers=["1", "3"], estimator="matrix_renyi", batch_size=BATCH,
                                forward=forward)
    streamed = plane.record(model, 0)
    order = np.concatenate(il.estimators.matrix_renyi.seeded_batches(N, 200, 0))
    rows = torch.cat(seen)
    # the whole layers from the same batches of the model (float32 matmuls round by batch)
    acts = il.plane.run_layers(model, x[torch.as_tensor(order)], ["1", "3"], batch_size=BATCH)
    acts = {name: value[torch.as_tensor(np.argsort(order))] for name, value in acts.items()}
    whole = il.InformationPlane(x, y, estimator="matrix_renyi").record_activations(acts, 0)
    assert [len(b) for b in seen] == [BATCH] * (N // BATCH) + [N % BATCH]
    assert torch.equal(rows, x[torch.as_tensor(order)])
    assert [r["value"] for r in streamed] == pytest.approx([r["value"] for r in whole], abs=1e-12, rel=0)
    t = il.plane.run_layers(model, x, ["1"])["1"]
    direct = il.matrix_renyi_mi(t, y, kernel_width="knn", batch_size=200, seed=0, alpha=1.01)
    assert streamed[1]["value"] == pytest.approx(direct.value, abs=1e-12)
    assert streamed[1]["shuffled_I_TY"] < streamed[1]["value"]


def test_matrix_renyi_takes_its_own_batch_size_beside_the_planes():
    x, y = _data()
    plane = il.InformationPlane(x, y, layers=["1"], estimator={"estimator": "matrix_renyi", "batch_size": 50},
                                batch_size=BATCH)
    records = plane.record(_mlp(), 0)
    assert plane.batch_size == BATCH and {r["estimator"] for r in records} == {
        "matrix_renyi(alpha=1.01, batch_size=50)"}
    t = il.plane.run_layers(_mlp(), x, ["1"])["1"]
    direct = il.matrix_renyi_mi(t, y, kernel_width="knn", batch_size=50, seed=0, alpha=1.01)
    assert records[1]["value"] == pytest.approx(direct.value, abs=1e-9)  # the model in other batches
    with pytest.raises(InfoLensError, match="'alpha' parameter of InformationPlane must be given once"):
        il.InformationPlane(x, y, estimator={"estimator": "matrix_renyi", "alpha": 2.0}, alpha=1.5)


def test_the_streaming_docs_snippet_runs(capsys):
    page = (Path(__file__).parents[1] / "docs" / "streaming.md").read_text()
    code = page.split("```python\n", 1)[1].split("```", 1)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", il.InfoLensWarning)
        exec(compile(code, "docs/streaming.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and sum(line.startswith("matrix_renyi") for line in lines) == 4


class _Log(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(x)  # NaN for negative inputs


def test_non_finite_activations_of_a_batch_are_named():
    x, y = _data(80)
    model = nn.Sequential(nn.Linear(6, 3), _Log()).eval()
    for settings in ({"bins": 5}, {"bins": 5, "range": (-1.0, 1.0)}, {"estimator": "kde"}):
        with pytest.raises(InfoLensError, match=r"activations\['1'\].*finite.*non-finite values"):
            il.InformationPlane(x, y, layers=["1"], batch_size=16, softmax_output=False,
                                **settings).record(model, 0)
