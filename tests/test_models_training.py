"""Reference networks, the stacked ensemble, and its trainer (equivalence, resume, history)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from infolens import InfoLensError
from infolens.cli.layers import command as layers_command
from infolens.data import Split, load, split
from infolens.layers import capture
from infolens.models import ReferenceMLP, StackedMLP, reference_widths
from infolens.training import (
    TrainHistory,
    checkpoint_state,
    epoch_permutation,
    evaluate,
    train_members,
    train_single,
)

WIDTHS = (12, 10, 7, 5, 4, 3, 2)


@pytest.fixture(scope="module")
def szt() -> Split:
    return load("szt12", seed=0)


def test_reference_mlp_structure_and_capture_names():
    model = ReferenceMLP()
    assert model.layer_names == [f"layers.{i}" for i in range(6)]
    assert isinstance(model.layers[0], nn.Sequential) and isinstance(model.layers[0][1], nn.Tanh)
    assert isinstance(model.layers[5], nn.Linear) and model.layers[5].out_features == 2
    x = torch.randn(8, 12)
    with torch.no_grad(), capture(model, model.layer_names) as acts:
        logits = model(x)
    assert [acts[n].shape[1] for n in model.layer_names] == [10, 7, 5, 4, 3, 2]
    torch.testing.assert_close(acts["layers.0"], torch.tanh(model.layers[0][0](x)))
    torch.testing.assert_close(acts["layers.5"], logits)
    assert isinstance(ReferenceMLP(activation="linear").layers[0][1], nn.Identity)
    assert reference_widths("szt12") == WIDTHS
    with pytest.raises(InfoLensError, match="'activation' parameter of ReferenceMLP"):
        ReferenceMLP(activation="gelu")
    with pytest.raises(InfoLensError, match="'widths' parameter of ReferenceMLP"):
        ReferenceMLP(widths=(12,))


def test_stacked_members_are_initialised_like_seeded_reference_mlps():
    acts, seeds = ["tanh", "relu", "tanh", "sigmoid"], [3, 3, 7, 1]  # non-contiguous activation runs
    state = torch.get_rng_state()
    stacked = StackedMLP(4, WIDTHS, acts, seeds)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's generator is untouched
    x = torch.randn(9, 12)
    logits, layers = stacked.forward_with_activations(x)
    assert logits.shape == (4, 9, 2) and [h.shape[-1] for h in layers] == [10, 7, 5, 4, 3, 2]
    torch.testing.assert_close(layers[-1].sum(dim=-1), torch.ones(4, 9))
    for i, (act, seed) in enumerate(zip(acts, seeds, strict=True)):
        torch.manual_seed(seed)
        ref = ReferenceMLP(WIDTHS, act)
        assert stacked.weights[0].shape == (4, 12, 10)
        torch.testing.assert_close(stacked.weights[0][i], ref.layers[0][0].weight.T, rtol=0, atol=0)
        with torch.no_grad():
            torch.testing.assert_close(logits[i], ref(x), rtol=1e-6, atol=1e-6)
            with capture(ref, ref.layer_names[:-1]) as ref_acts:
                ref(x)
            for name, h in zip(ref.layer_names[:-1], layers[:-1], strict=True):
                torch.testing.assert_close(h[i], ref_acts[name], rtol=1e-6, atol=1e-6)
            member = stacked.member(i)
            assert member.activation == act
            torch.testing.assert_close(member(x), ref(x), rtol=0, atol=0)
    per_member = torch.randn(4, 5, 12)
    torch.testing.assert_close(stacked(per_member)[2], stacked.member(2)(per_member[2]), rtol=1e-6, atol=1e-6)
    with pytest.raises(InfoLensError, match="'x' parameter of StackedMLP.forward"):
        stacked(torch.randn(3, 5, 12))
    with pytest.raises(InfoLensError, match="'seeds' parameter of StackedMLP"):
        StackedMLP(2, WIDTHS, ["tanh", "tanh"], [0])
    with pytest.raises(InfoLensError, match="'activations' parameter of StackedMLP"):
        StackedMLP(2, WIDTHS, "tanh", [0, 1])
    buffer = io.BytesIO()  # the whole module pickles (no lambdas inside)
    torch.save(StackedMLP(2, WIDTHS, ["linear", "relu"], np.array([0, 1])), buffer)
    buffer.seek(0)
    clone = torch.load(buffer, weights_only=False)
    torch.testing.assert_close(clone(x), StackedMLP(2, WIDTHS, ["linear", "relu"], [0, 1])(x))


def test_stacked_training_equals_separate_adam_training(szt):
    acts, seeds = ["tanh", "relu", "tanh"], [0, 1, 5]
    stacked = StackedMLP(3, WIDTHS, acts, seeds)
    history = train_members(stacked, szt, 2, lr=1e-3, batch_size=256)
    for i, (act, seed) in enumerate(zip(acts, seeds, strict=True)):
        torch.manual_seed(seed)
        ref = ReferenceMLP(WIDTHS, act)
        ref_history = train_single(ref, szt, 2, lr=1e-3, batch_size=256, seed=seed)
        pairs = zip(ref.parameters(), stacked.member(i).parameters(), strict=True)
        assert max((a - b).abs().max().item() for a, b in pairs) < 1e-5
        np.testing.assert_allclose(history.train_loss[i], ref_history.train_loss[0], rtol=1e-5)
        one_sample = 1 / len(szt.y_test) + 1e-9  # at most one borderline prediction may flip
        np.testing.assert_allclose(history.test_accuracy[i], ref_history.test_accuracy[0], atol=one_sample)
    # the weights really moved: 2 epochs x 13 Adam steps of ~lr each
    torch.manual_seed(0)
    initial = ReferenceMLP(WIDTHS).layers[0][0].weight
    assert (stacked.member(0).layers[0][0].weight - initial).abs().max() > 5e-3


def test_history_shapes_on_epoch_and_progress(szt):
    stacked = StackedMLP(2, WIDTHS, ["tanh", "relu"], [0, 1])
    seen: list[int] = []
    ticks: list[int] = []
    history = train_members(stacked, szt, 3, on_epoch=lambda e, m: seen.append(e), progress=ticks.append)
    assert seen == [0, 1, 2, 3] and ticks == [1, 2, 3]
    assert history.train_loss.shape == (2, 4) and history.epochs == 3
    assert np.isfinite(history.train_loss).all() and history.optimizer_state is not None
    x = torch.as_tensor(szt.x_train)
    loss, acc = evaluate(stacked, x, torch.as_tensor(szt.y_train))
    np.testing.assert_allclose(history.train_loss[:, -1], loss)
    np.testing.assert_allclose(history.train_accuracy[:, -1], acc)
    sparse = train_members(StackedMLP(2, WIDTHS, ["tanh", "relu"], [0, 1]), szt, 5, eval_every=2)
    assert np.flatnonzero(np.isfinite(sparse.test_accuracy[0])).tolist() == [0, 2, 4, 5]
    np.testing.assert_allclose(sparse.train_loss[:, 2], train_members(
        StackedMLP(2, WIDTHS, ["tanh", "relu"], [0, 1]), szt, 2).train_loss[:, 2])
    restored = TrainHistory.from_dict(history.to_dict())
    np.testing.assert_array_equal(restored.test_accuracy, history.test_accuracy)
    assert restored.activations == ("tanh", "relu")


def test_permutations_are_seeded_per_member_and_epoch():
    a = epoch_permutation(3, 1, 50)
    np.testing.assert_array_equal(a, epoch_permutation(3, 1, 50))
    assert sorted(a) == list(range(50))
    assert not np.array_equal(a, epoch_permutation(3, 2, 50))
    assert not np.array_equal(a, epoch_permutation(4, 1, 50))


def test_resume_from_a_saved_checkpoint_matches_an_uninterrupted_run(szt):
    straight = StackedMLP(2, WIDTHS, ["tanh", "relu"], [0, 1])
    full = train_members(straight, szt, 4, lr=1e-3)

    saved: dict[int, bytes] = {}

    def keep(state: dict) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        saved[state["epoch"]] = buffer.getvalue()

    interrupted = StackedMLP(2, WIDTHS, ["tanh", "relu"], [0, 1])
    train_members(interrupted, szt, 2, lr=1e-3, on_checkpoint=keep)
    assert sorted(saved) == [1, 2]
    state = torch.load(io.BytesIO(saved[2]), weights_only=True)
    resumed = StackedMLP(2, WIDTHS, ["tanh", "relu"], [9, 9])  # other weights: the checkpoint overrides them
    calls: list[int] = []
    rest = train_members(resumed, szt, 4, lr=1e-3, checkpoint=state, on_epoch=lambda e, m: calls.append(e))
    assert calls == [3, 4]
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    np.testing.assert_allclose(rest.train_loss, full.train_loss, rtol=1e-6)

    again = StackedMLP(2, WIDTHS, ["tanh", "relu"], [0, 1])  # the low-level route: weights + optimizer state
    first = train_members(again, szt, 2, lr=1e-3)
    second = train_members(again, szt, 4, lr=1e-3, start_epoch=2, optimizer_state=first.optimizer_state)
    assert np.isnan(second.train_loss[:, :2]).all() and np.isfinite(second.train_loss[:, 2:]).all()
    for a, b in zip(straight.parameters(), again.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


def test_training_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 12)).astype(np.float32)
    data = split(x, (x[:, 0] + x[:, 1] > 0).astype(np.int64), seed=0)
    stacked = StackedMLP(2, WIDTHS, ["tanh", "relu"], [0, 1])
    history = train_members(stacked, data, 30, lr=1e-2, batch_size=64)
    assert (history.train_accuracy[:, 0] < 0.8).all() and (history.test_accuracy[:, -1] > 0.9).all()


def test_train_members_rejects_bad_input(szt):
    stacked = StackedMLP(1, (4, 3, 2), ["tanh"], [0])
    with pytest.raises(InfoLensError, match="'split' parameter of train_members.*12 features"):
        train_members(stacked, szt, 1)
    good = StackedMLP(1, WIDTHS, ["tanh"], [0])
    with pytest.raises(InfoLensError, match="'seeds' parameter of train_members"):
        train_members(good, szt, 1, seeds=[0, 1])
    with pytest.raises(InfoLensError, match="'start_epoch' parameter of train_members"):
        train_members(good, szt, 1, start_epoch=2)
    with pytest.raises(InfoLensError, match="'model' parameter of train_members"):
        train_members(ReferenceMLP(), szt, 1)
    with pytest.raises(InfoLensError, match="'epoch' parameter of checkpoint_state"):
        checkpoint_state(good, torch.optim.Adam(good.parameters()), -1)


def test_cli_layers_prints_the_reference_network():
    result = CliRunner().invoke(layers_command, ["--dataset", "szt12", "--activation", "relu"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("ReferenceMLP(12, 10, 7, 5, 4, 3, 2) activation=relu")
    row = next(line.split() for line in lines if line.startswith("layers.0.1 "))
    assert row == ["layers.0.1", "ReLU", "(N,", "10)", "0"]
    assert any(line.split()[:2] == ["layers.5", "Linear"] and line.split()[-1] == "8" for line in lines)
    assert lines[-1] == "total parameters: 294"
    bad = CliRunner().invoke(layers_command, ["--widths", "12"])
    assert bad.exit_code == 2 and "'widths' parameter of ReferenceMLP" in bad.output
