"""capture and list_layers: what is recorded, in which shape, and that hooks always come off."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import infolens as il
from infolens import InfoLensError
from infolens.layers import Activations, LayerInfo, capture, list_layers, select_layers


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 5, kernel_size=3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Linear(5 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.conv(x)).flatten(1))


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True))
        self.out = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x + self.inner(x))


class PairOut(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[str, torch.Tensor, torch.Tensor]:
        return "tag", 2 * x, 3 * x


class TupleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pair = PairOut()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pair(x)[1]


def no_hooks_left(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_hooks_with_kwargs for m in model.modules())


def test_mlp_all_leaves_by_default_match_manual_forward():
    model, x = mlp(), torch.randn(7, 4)
    with torch.no_grad(), capture(model) as acts:
        out = model(x)
    assert list(acts) == ["0", "1", "2", "3", "4"]
    assert isinstance(acts, Activations) and acts.inputs is None
    h0 = model[0](x)
    torch.testing.assert_close(acts["0"], h0)
    torch.testing.assert_close(acts["1"], torch.tanh(h0))
    torch.testing.assert_close(acts["4"], out)
    assert not acts["4"].requires_grad and no_hooks_left(model)


def test_minibatches_are_appended_along_the_batch_dimension():
    model, x = mlp(), torch.randn(10, 4)
    with torch.no_grad(), capture(model, "1") as acts:
        model(x[:4])
        model(x[4:])
    torch.testing.assert_close(acts["1"], torch.tanh(model[0](x)).detach())
    assert acts.calls == {"1": 2}


def test_glob_list_predicate_and_module_objects_select_the_same_layers():
    model = mlp()
    assert [n for n, _ in select_layers(model, "[13]")] == ["1", "3"]
    assert [n for n, _ in select_layers(model, ["3", "1"])] == ["1", "3"]  # model order, not request order
    assert [n for n, _ in select_layers(model, lambda n, m: isinstance(m, (nn.Tanh, nn.ReLU)))] == ["1", "3"]
    assert [n for n, _ in select_layers(model, [model[1], model[3]])] == ["1", "3"]
    assert [n for n, _ in select_layers(model, "")] == [""]  # the root: the model output
    assert [n for n, _ in select_layers(model, (n for n in ("4", "0")))] == ["0", "4"]


def test_cnn_flatten_and_mean_or_max_pool():
    torch.manual_seed(1)
    model, x = SmallCNN(), torch.randn(3, 2, 4, 4)
    with torch.no_grad(), capture(model, "act") as raw:
        model(x)
    with torch.no_grad(), capture(model, "act", flatten=True) as flat:
        model(x)
    with torch.no_grad(), capture(model, ["act", "head"], pool="mean") as pooled:
        model(x)
    with torch.no_grad(), capture(model, "act", pool="max") as maxed:
        model(x)
    assert raw["act"].shape == (3, 5, 4, 4)
    torch.testing.assert_close(flat["act"], raw["act"].reshape(3, 80))
    torch.testing.assert_close(pooled["act"], raw["act"].mean(dim=(2, 3)))
    torch.testing.assert_close(maxed["act"], raw["act"].amax(dim=(2, 3)))
    assert pooled["head"].shape == (3, 3)  # 2-D outputs are left alone by pooling


def test_in_place_relu_does_not_overwrite_what_was_recorded():
    torch.manual_seed(2)
    model, x = Residual(), torch.randn(6, 4)
    with torch.no_grad(), capture(model, ["inner.0", "inner.1"]) as acts:
        model(x)
    pre = model.inner[0](x).detach()
    torch.testing.assert_close(acts["inner.0"], pre)  # would be clamped if it aliased the ReLU's buffer
    assert (acts["inner.0"] < 0).any()
    torch.testing.assert_close(acts["inner.1"], pre.clamp_min(0))


def test_residual_block_inputs_and_outputs():
    torch.manual_seed(3)
    model, x = Residual(), torch.randn(5, 4)
    with torch.no_grad(), capture(model, "out", inputs=True) as acts:
        y = model(x)
    torch.testing.assert_close(acts.inputs["out"], x + model.inner(x))
    torch.testing.assert_close(acts["out"], y)


def test_tuple_outputs_take_the_first_tensor_or_output_index():
    model, x = TupleNet(), torch.randn(4, 2)
    with capture(model, "pair") as first:
        model(x)
    with capture(model, "pair", output_index=1) as second:
        model(x)
    torch.testing.assert_close(first["pair"], 2 * x)
    torch.testing.assert_close(second["pair"], 3 * x)
    third = capture(model, "pair", output_index=2)
    with pytest.raises(InfoLensError, match="no tensor at output_index=2"), third:
        model(x)
    assert no_hooks_left(model)


def test_device_and_dtype_conversion():
    model, x = mlp(), torch.randn(3, 4)
    with capture(model, "0", device="cpu", dtype=torch.float64) as acts:
        model(x)
    assert acts["0"].dtype == torch.float64 and acts["0"].device.type == "cpu"


def test_hooks_are_removed_after_an_exception():
    model = mlp()
    with pytest.raises(RuntimeError, match="boom"), capture(model):
        model(torch.randn(2, 4))
        assert not no_hooks_left(model)
        raise RuntimeError("boom")
    assert no_hooks_left(model)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"), capture(model):
        model(torch.randn(2, 5))  # shape error inside the forward pass
    assert no_hooks_left(model)


def test_unknown_name_suggests_the_closest_layers():
    model = nn.Sequential()
    model.add_module("encoder", nn.Linear(2, 2))
    model.add_module("decoder", nn.Linear(2, 2))
    expected = "'encodr', which is not a layer.*closest layer names: 'encoder'"
    with pytest.raises(InfoLensError, match=expected), capture(model, "encodr"):
        pass
    with pytest.raises(InfoLensError, match="'enc\\*x', which matches no layer"):
        select_layers(model, "enc*x")
    with pytest.raises(InfoLensError, match="not among model.named_modules"):
        select_layers(model, nn.Linear(2, 2))
    with pytest.raises(InfoLensError, match="'layers' parameter of capture"):
        select_layers(model, [3])
    with pytest.raises(InfoLensError, match="'pool' parameter of capture"), capture(model, pool="median"):
        pass
    assert no_hooks_left(model)


def test_a_requested_layer_that_never_ran_raises_at_exit():
    model = Residual()
    model.unused = nn.Linear(4, 4)
    with pytest.raises(InfoLensError, match="'unused'.*never ran"), capture(model, ["out", "unused"]):
        model(torch.randn(2, 4))
    with capture(model) as acts:  # an unused leaf picked up by the default selection is no error
        model(torch.randn(2, 4))
    assert "unused" not in acts and "out" in acts
    with pytest.raises(InfoLensError, match="never ran"), capture(model, "out"):
        pass  # the model was never called
    assert no_hooks_left(model)


def test_list_layers_shapes_types_params_and_restores_training_mode():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Sequential(nn.ReLU(), nn.Linear(6, 2)))
    model.train()
    running = model[1].running_mean.clone()
    info = list_layers(model, torch.randn(3, 4))
    assert [i.name for i in info] == ["0", "1", "2", "2.0", "2.1"]
    assert info[0] == LayerInfo("0", "Linear", (3, 6), 30)
    assert info[2].type == "Sequential" and info[2].n_params == 14 and info[2].output_shape == (3, 2)
    assert model.training and torch.equal(model[1].running_mean, running)
    assert no_hooks_left(model)
    assert list_layers(TupleNet(), torch.randn(2, 3))[0].output_shape == (2, 3)


def test_glob_star_stays_within_one_dotted_component():
    from infolens.layers import select_layers
    from infolens.models import ReferenceMLP

    model = ReferenceMLP(activation="tanh")
    shallow = [name for name, _ in select_layers(model, "layers.*")]
    assert shallow == model.layer_names
    deep = [name for name, _ in select_layers(model, "layers.**")]
    assert "layers.0.1" in deep and "layers.0" in deep
    assert [name for name, _ in select_layers(model, "layers.?.[0]")] == [
        f"layers.{i}.0" for i in range(5)]
    assert [name for name, _ in select_layers(model, "layers.[!0-4]")] == ["layers.5"]


def test_eval_mode_restores_each_submodule_flag_a_frozen_batch_norm_stays_frozen():
    # regression: list_layers restored only the root's flag, un-freezing a batch norm in eval mode
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model.train()
    model[1].eval()
    il.list_layers(model, torch.randn(5, 3))
    with il.capture(model, layers="1"):
        model(torch.randn(5, 3))
    assert model.training and model[0].training and model[2].training
    assert not model[1].training
