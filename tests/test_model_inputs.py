"""Any model's inputs (issue 19 item 1): token ids stay integer, tuple and dict inputs, forward=,
and the reduce rule for tuple and sequence outputs, alike in capture, the plane and the probes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import infolens as il
from infolens import InfoLensError

VOCAB, TOKENS, WIDTH = 11, 6, 8


class TinyTransformer(nn.Module):
    """nn.Embedding -> one TransformerEncoderLayer (batch first) -> a linear head on the mean token."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.encoder = nn.TransformerEncoderLayer(WIDTH, nhead=2, dim_feedforward=16, dropout=0.0,
                                                  batch_first=True)
        self.head = nn.Linear(WIDTH, 3)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        pad = None if attention_mask is None else attention_mask == 0
        hidden = self.encoder(self.embed(input_ids), src_key_padding_mask=pad)
        return self.head(hidden.mean(dim=1))


def _tokens(n: int = 120, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (n, TOKENS), generator=gen)
    mask = torch.ones(n, TOKENS, dtype=torch.long)
    mask[: n // 2, -2:] = 0  # half the sequences are padded at the end
    y = (ids[:, 0] % 3).numpy()
    return ids, mask, y


def _manual(model: TinyTransformer, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The encoder output computed by hand, (n, tokens, width)."""
    pad = None if mask is None else mask == 0
    with torch.no_grad():
        return model.encoder(model.embed(ids), src_key_padding_mask=pad)


def test_plane_records_token_ids_kept_long_and_names_the_rule():
    ids, _, y = _tokens()
    model = TinyTransformer().eval()
    seen = []
    model.embed.register_forward_pre_hook(lambda module, args: seen.append(args[0].dtype))
    plane = il.InformationPlane(ids, y, layers=["encoder", "head"], bins=10)
    records = plane.record(model, 0)
    assert seen == [torch.int64]  # the ids reached nn.Embedding as integers
    assert {r["reduce"] for r in records} == {"flatten"}
    assert {r["layer"] for r in records} == {"encoder", "head"}
    assert all(np.isfinite(r["value"]) and r["value"] >= 0 for r in records)
    assert "reduce" in plane.result.to_frame().columns


@pytest.mark.parametrize(("rule", "expected"), [
    ("flatten", lambda h: h.reshape(len(h), -1)), ("mean", lambda h: h.mean(dim=1)),
    ("last", lambda h: h[:, -1]), ("first", lambda h: h[:, 0])])
def test_reduce_rules_equal_the_manual_reduction_of_the_sequence(rule, expected):
    ids, mask, y = _tokens(60)
    model = TinyTransformer().eval()
    want = expected(_manual(model, ids, mask))
    inputs = {"input_ids": ids, "attention_mask": mask}
    acts = il.plane.run_layers(model, inputs, ["encoder"], reduce=rule)
    torch.testing.assert_close(acts["encoder"], want)
    with torch.no_grad(), il.capture(model, "encoder", reduce=rule) as captured:
        il.run_model(model, inputs, batch_size=25)  # three batches, appended along the batch dimension
    assert captured.reduce == rule
    torch.testing.assert_close(captured["encoder"], want, rtol=1e-5, atol=1e-6)


def test_dict_tuple_and_forward_inputs_give_the_same_records():
    ids, mask, y = _tokens()
    model = TinyTransformer().eval()

    def forward(m: nn.Module, batch: dict) -> torch.Tensor:
        return m(batch["ids"], attention_mask=batch["mask"])

    runs = {
        "dict": il.InformationPlane({"input_ids": ids, "attention_mask": mask}, y, layers="encoder",
                                    reduce="mean", bins=8),
        "tuple": il.InformationPlane((ids, mask), y, layers="encoder", reduce="mean", bins=8, batch_size=32),
        "forward": il.InformationPlane({"ids": ids, "mask": mask}, y, layers="encoder", reduce="mean", bins=8,
                                       forward=forward),
    }
    values = {kind: [r["value"] for r in plane.record(model, 0)] for kind, plane in runs.items()}
    assert values["dict"] == pytest.approx(values["forward"], abs=1e-12)
    assert values["dict"] == pytest.approx(values["tuple"], abs=1e-9)  # batched: same activations to rounding
    assert runs["dict"].result.to_frame()["reduce"].unique().tolist() == ["mean"]


def test_probes_take_dict_inputs_and_an_attention_module_tuple_output():
    ids, mask, y = _tokens(200)
    model = TinyTransformer().eval()
    report = il.probe_layers(model, {"input_ids": ids, "attention_mask": mask}, y,
                             layers=["encoder", "encoder.self_attn"], reduce="last", n_splits=2)
    assert report.params["reduce"] == "last"
    assert report.layers == ("input", "encoder", "encoder.self_attn")  # named_modules order
    assert report.dims == (2 * TOKENS, WIDTH, WIDTH)  # ids and mask as raw input; one token per layer
    # the label is ids[:, 0] % 3: the raw ids carry it, so the probe beats chance on the input
    assert report.accuracy[0] > report.chance_accuracy


def test_float_inputs_are_cast_to_the_models_dtype_and_integer_ids_are_not():
    model = nn.Sequential(nn.Linear(4, 3)).double()
    x = np.random.default_rng(0).normal(size=(50, 4))  # float64 -> float32 -> the model's float64
    acts = il.plane.run_layers(model, x, ["0"], softmax_output=False)
    assert acts["0"].dtype == torch.float64
    ids, _, y = _tokens(50)
    with pytest.raises(InfoLensError, match="'x' parameter of InformationPlane.record.*integer inputs"):
        il.InformationPlane(ids, y, bins=5).record(model, 0)  # a float model fed ids: told to cast


def test_bad_reduce_and_inputs_name_the_parameter():
    ids, mask, y = _tokens(40)
    with pytest.raises(InfoLensError, match="'reduce' parameter of InformationPlane.*'flatten', 'mean'"):
        il.InformationPlane(ids, y, reduce="max")
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
    images = torch.rand(40, 1, 6, 6)
    with pytest.raises(InfoLensError, match="'reduce' parameter of capture.*'mean' for layer '0' with"):
        il.InformationPlane(images, y, layers=["0"], reduce="mean").record(cnn, 0)  # (n, C, H, W)
    with pytest.raises(InfoLensError, match="'reduce' parameter of capture"), \
            il.capture(cnn, "0", reduce="token"):
        pass
    with pytest.raises(InfoLensError, match="'x' parameter of InformationPlane.*same number of rows"):
        il.InformationPlane({"input_ids": ids, "attention_mask": mask[:30]}, y)
    with pytest.raises(InfoLensError, match="'forward' parameter of InformationPlane"):
        il.InformationPlane(ids, y, forward="model")
    with pytest.raises(InfoLensError, match="'batch_size' parameter of InformationPlane"):
        il.InformationPlane(ids, y, batch_size=0)
    with pytest.raises(InfoLensError, match="'x' parameter of probe_layers"):
        il.probe_layers(TinyTransformer(), ids.to(torch.complex64), y)


def test_out_of_memory_in_the_forward_pass_says_so_not_invalid_input():
    class Greedy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't "
                               "allocate memory: you tried to allocate 52428800000 bytes. Error code 12")

    y = np.arange(20) % 2
    with pytest.raises(InfoLensError, match="ran out of memory.*52428800000 bytes.*batch_size") as err:
        il.InformationPlane(torch.rand(20, 3), y).record(Greedy(), 0)
    assert "must be an input" not in str(err.value)


def test_train_single_keeps_integer_token_ids_long():
    from infolens.data import Split
    from infolens.training import train_single

    ids, _, y = _tokens(160)
    split = Split(ids[:120].numpy(), y[:120], ids[120:].numpy(), y[120:], "tokens", 3)
    history = train_single(TinyTransformer(), split, epochs=2, batch_size=40)  # nn.Embedding needs long ids
    assert np.isfinite(history.train_loss).all() and np.isfinite(history.test_accuracy).all()
