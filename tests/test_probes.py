"""Tests of infolens.probes: the probe against scikit-learn, known answers on synthetic layers
(a copy of the input, pure noise, a perfectly informative layer), the I(T;Y) bound, redundant-layer
detection on a planted case, the confidence interval formula, and the pruning machinery."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

matplotlib.use("Agg")

from infolens import InfoLensError  # noqa: E402
from infolens.probes import (  # noqa: E402
    _corrected_interval,
    fit_softmax_regression,
    probe_activations,
    probe_layers,
)
from infolens.pruning import JumpToHead, prune_layers, verify_pruning  # noqa: E402


def _mixture(n: int = 800, n_classes: int = 4, dim: int = 6, separation: float = 1.2,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Balanced Gaussian classes with unit noise; ``separation`` scales the class means."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n_classes, dim)) * separation
    labels = np.arange(n) % n_classes
    return means[labels] + rng.normal(size=(n, dim)), labels


@pytest.mark.parametrize("C", [0.05, 1.0])
def test_softmax_regression_matches_sklearn(C: float) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _mixture(n=400, n_classes=3, dim=5, seed=1)
    weight, bias = fit_softmax_regression(torch.tensor(x), torch.tensor(y), 3, C, gtol=1e-9)
    ours = torch.softmax(torch.tensor(x) @ weight + bias, dim=1).numpy()
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=5000).fit(x, y).predict_proba(x)
    np.testing.assert_allclose(ours, reference, atol=2e-5)


def test_entropy_of_labels_and_bound_below_it() -> None:
    x, y = _mixture()
    report = probe_activations({"input": x}, y, n_splits=3, seed=0)
    assert report.entropy_y == pytest.approx(2.0)  # 4 balanced classes: exactly 2 bits
    imbalanced = np.where(y == 3, 0, y)  # frequencies 1/2, 1/4, 1/4 -> 1.5 bits
    assert probe_activations({"input": x}, imbalanced, n_splits=3).entropy_y == pytest.approx(1.5)
    assert probe_activations({"input": x}, y, n_splits=3, units="nats").entropy_y == pytest.approx(
        2.0 * math.log(2.0))
    for value, (low, high) in zip(report.mi_lower_bound, report.mi_lower_bound_ci, strict=True):
        assert value <= report.entropy_y
        assert low <= value <= high


def test_copy_of_input_has_input_accuracy_and_is_redundant() -> None:
    x, y = _mixture(seed=2)
    report = probe_activations({"input": x, "copy": x.copy()}, y, n_splits=4, seed=3)
    assert report.accuracy[1] == pytest.approx(report.accuracy[0], abs=1e-12)
    assert report.split_accuracy[1] == pytest.approx(report.split_accuracy[0], abs=1e-12)
    assert report.cross_entropy[1] == pytest.approx(report.cross_entropy[0], rel=1e-6)
    assert report.gain[1] == pytest.approx(0.0, abs=1e-12)
    assert report.redundant == ("copy",)
    assert report.reference == (None, "input")


def test_noise_layer_has_chance_accuracy() -> None:
    x, y = _mixture(n=1200, seed=4)
    noise = np.random.default_rng(5).normal(size=(1200, 8))
    report = probe_activations({"input": x, "noise": noise}, y, n_splits=5, seed=0)
    chance = report.chance_accuracy
    assert chance == pytest.approx(0.25)
    # 5 splits x 300 test samples: the sd of the mean accuracy at chance is about 0.011
    assert abs(report.accuracy[1] - chance) < 0.05
    assert report.accuracy[0] > 0.6
    # the bound is a lower bound on I(noise; Y) = 0: it must not be clearly positive
    assert report.mi_lower_bound[1] < 0.02
    assert "noise" in report.redundant


def test_perfect_layer_reaches_full_accuracy_and_most_of_h_y() -> None:
    x, y = _mixture(seed=6)
    onehot = np.eye(4)[y] + 0.01 * np.random.default_rng(7).normal(size=(y.size, 4))
    report = probe_activations({"input": x, "onehot": onehot}, y, n_splits=3)
    assert report.accuracy[1] == 1.0
    assert report.mi_lower_bound[1] > 0.9 * report.entropy_y
    assert report.redundant == ()


def test_planted_redundant_layers_are_flagged() -> None:
    """input (weak) -> mid (much better) -> mid copy -> mid + tiny noise -> top (better again)."""
    rng = np.random.default_rng(8)
    n, n_classes = 2000, 4
    y = np.arange(n) % n_classes
    means = rng.normal(size=(n_classes, 4))
    signal = means[y]

    def layer(scale: float) -> np.ndarray:
        return signal * scale + rng.normal(size=(n, 4))

    mid = layer(0.9)
    layers = {"input": layer(0.3), "mid": mid, "mid_copy": mid.copy(),
              "mid_jitter": mid + 1e-3 * rng.normal(size=mid.shape), "top": layer(3.0)}
    report = probe_activations(layers, y, n_splits=5, seed=0)
    acc = dict(zip(report.layers, report.accuracy, strict=True))
    assert acc["input"] < acc["mid"] - 0.1 < acc["top"] - 0.2
    assert set(report.redundant) == {"mid_copy", "mid_jitter"}
    assert report.reference[-1] == "mid"  # the best kept earlier layer
    # the tolerance flags a significant but small gain
    loose = probe_activations(layers, y, n_splits=5, seed=0, tolerance=0.9)
    assert set(loose.redundant) == {"mid", "mid_copy", "mid_jitter", "top"}


def test_small_gains_accumulate_against_the_best_kept_layer() -> None:
    """Each step gains little, but the layers are compared with the last kept one, so not all are flagged."""
    rng = np.random.default_rng(9)
    n = 2000
    y = np.arange(n) % 2
    signs = np.where(y == 1, 1.0, -1.0)[:, None]
    layers = {f"l{i}": signs * s + rng.normal(size=(n, 1)) for i, s in enumerate(np.linspace(0.2, 1.6, 8))}
    report = probe_activations(layers, y, n_splits=5, seed=0)
    assert report.accuracy[-1] - report.accuracy[0] > 0.2
    assert 0 < len(report.redundant) < len(layers) - 1


def test_corrected_interval_formula() -> None:
    values = np.array([0.70, 0.72, 0.69, 0.74, 0.71])
    low, high = _corrected_interval(values, n_train=300, n_test=100, level=0.9)
    half = stats.t.ppf(0.95, df=4) * math.sqrt(values.var(ddof=1) * (1 / 5 + 100 / 300))
    assert (low, high) == pytest.approx((values.mean() - half, values.mean() + half))


def test_report_frame_dict_and_plot() -> None:
    x, y = _mixture(n=400, seed=10)
    report = probe_activations({"input": x, "square": x**2}, y, n_splits=3)
    frame = report.to_frame()
    assert list(frame["layer"]) == ["input", "square"]
    assert {"layer", "accuracy", "accuracy_low", "accuracy_high", "mi_lower_bound", "redundant"} <= set(frame)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["layers"] == ["input", "square"] and data["units"] == "bits"
    for quantity in ("accuracy", "information"):
        ax = report.plot(quantity=quantity)
        assert len(ax.get_xticklabels()) == 2
    with pytest.raises(InfoLensError, match="'quantity' parameter"):
        report.plot(quantity="loss")


def test_probe_layers_on_a_model_uses_layer_names_and_restores_training_mode() -> None:
    from infolens.models import ReferenceMLP

    x, y = _mixture(n=400, n_classes=2, dim=12, seed=11)
    torch.manual_seed(0)
    model = ReferenceMLP()
    model.train()
    model.layers[1].eval()  # a frozen submodule must stay frozen
    report = probe_layers(model, x, y, n_splits=2, C=1.0)
    assert report.layers == ("input", *model.layer_names)
    assert report.dims == (12, 10, 7, 5, 4, 3, 2)
    assert model.training and model.layers[0].training and not model.layers[1].training
    # the "input" probe is the probe of x itself
    direct = probe_activations({"input": x}, y, n_splits=2, C=1.0)
    assert report.accuracy[0] == pytest.approx(direct.accuracy[0], abs=1e-6)


def test_probe_layers_with_a_selection_on_sequential_and_without_input() -> None:
    x, y = _mixture(n=300, n_classes=3, dim=5, seed=12)
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    report = probe_layers(model, torch.tensor(x, dtype=torch.float32), y, layers=["1", "2"],
                          include_input=False, n_splits=2, C=0.5)
    assert report.layers == ("1", "2")
    assert report.gain[0] is None and not report.is_redundant[0]
    assert report.regularization == (0.5, 0.5)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_splits": 1}, "'n_splits' parameter"),
    ({"C": -1.0}, "'C' parameter"),
    ({"C": "best"}, "'C' parameter"),
    ({"units": "dits"}, "'units' parameter"),
    ({"ci": 1.5}, "'ci' parameter"),
    ({"test_size": 0.0}, "'test_size' parameter"),
])
def test_bad_parameters_raise(kwargs: dict, match: str) -> None:
    x, y = _mixture(n=40)
    with pytest.raises(InfoLensError, match=match):
        probe_activations({"input": x}, y, **kwargs)


def test_bad_data_raise() -> None:
    x, y = _mixture(n=40)
    with pytest.raises(InfoLensError, match="as long as 'y'"):
        probe_activations({"input": x[:30]}, y)
    with pytest.raises(InfoLensError, match="at least 2 samples per class"):
        probe_activations({"input": x}, np.r_[y[:-1], 9])
    with pytest.raises(InfoLensError, match="'activations' parameter"):
        probe_activations({}, y)
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(InfoLensError, match="finite"):
        probe_activations({"input": bad}, y)
    with pytest.raises(InfoLensError, match="'model' parameter of probe_layers"):
        probe_layers("not a model", x, y)


class _Blocks(nn.Module):
    """A ModuleList of blocks with a head; block 1 computes exactly the identity on its inputs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(4, 6), nn.ReLU()),
                                     nn.Sequential(nn.Linear(6, 6), nn.ReLU()),
                                     nn.Sequential(nn.Linear(6, 6), nn.ReLU())])
        self.head = nn.Linear(6, 3)
        with torch.no_grad():  # ReLU(I h + 0) = h for the non-negative outputs of block 0
            self.blocks[1][0].weight.copy_(torch.eye(6))
            self.blocks[1][0].bias.zero_()

    @property
    def layer_names(self) -> list[str]:
        return ["blocks.0", "blocks.1", "blocks.2"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def test_prune_layers_identity_and_jump_to_head() -> None:
    model = _Blocks()
    x = torch.randn(16, 4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruned, actions = prune_layers(model, ["blocks.1"], x)
    assert actions == {"blocks.1": "identity"}
    assert isinstance(pruned.blocks[1], nn.Identity)
    torch.testing.assert_close(pruned(x), model(x))  # block 1 was an identity map
    cut, actions = prune_layers(model, ["blocks.2", "blocks.0"], x)
    assert actions == {"blocks.0": "jump to head", "blocks.2": "dropped (after the cut)"}
    assert isinstance(cut, JumpToHead)
    torch.testing.assert_close(cut(x), cut.head(x))  # the head reads the input of blocks.0
    assert cut(x).shape == (16, 3)
    for key, value in model.state_dict().items():  # the original is untouched
        torch.testing.assert_close(value, before[key])
    assert not isinstance(model.blocks[1], nn.Identity)
    with pytest.raises(InfoLensError, match="'remove' parameter of prune_layers"):
        prune_layers(model, ["blocks.9"], x)


def test_verify_pruning_separates_an_identity_block_from_an_essential_one() -> None:
    model = _Blocks()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.tensor(x)).argmax(dim=1).numpy()  # labels the full model gets right
    result = verify_pruning(model, x, y, x, y, ["blocks.1"], controls=["blocks.2"], epochs=0)
    assert result.full.accuracy == 1.0
    assert result.pruned.accuracy == 1.0 and result.cost == 0.0
    assert result.controls[0].accuracy < 0.9
    assert result.control_costs()["blocks.2"] > 0.1
    assert result.pruned.n_parameters == result.full.n_parameters - 42
    frame = result.to_frame()
    assert list(frame["variant"]) == ["full", "pruned", "control"]
    json.dumps(result.to_dict())
    # fine-tuning runs and keeps the global random state untouched
    state = torch.random.get_rng_state()
    tuned = verify_pruning(model, x, y, x, y, ["blocks.1"], epochs=1, n_seeds=2, batch_size=64)
    assert torch.equal(state, torch.random.get_rng_state())
    assert len(tuned.pruned.accuracy_per_seed) == 2


def test_report_verify_pruning_uses_flags() -> None:
    model = _Blocks()
    x = np.random.default_rng(1).normal(size=(400, 4)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.tensor(x)).argmax(dim=1).numpy()
    report = probe_layers(model, x, y, n_splits=3, C=1.0)
    assert "blocks.1" in report.redundant  # an exact copy of blocks.0 for the probe
    result = report.verify_pruning(model, x, y, x, y, epochs=0)
    assert "blocks.1" in result.pruned.removed
    assert {c.removed[0] for c in result.controls} == set(report.layers[1:]) - set(report.redundant)
    noise = np.random.default_rng(2).normal(size=(400, 3))
    nothing = probe_activations({"input": noise, "onehot": np.eye(3)[y] * 5 + noise}, y, n_splits=2)
    assert nothing.redundant == ()
    with pytest.raises(InfoLensError, match="nothing to prune"):
        nothing.verify_pruning(model, x, y, x, y)


def test_infolens_probe_cli_quick_run_writes_every_output(tmp_path) -> None:
    from click.testing import CliRunner

    from infolens.cli import main

    out = tmp_path / "probe"
    result = CliRunner().invoke(main, ["probe", "--quick", "--dataset", "digits", "--epochs", "3",
                                       "--method", "pca", "--embed-points", "150", "--snapshots", "2",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("probes.csv", "embeddings.csv", "probes.png", "embeddings_pca.png", "sequence_pca.png",
                 "report.html", "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    layers = [row["layer"] for row in summary["probes"]]
    assert layers == ["input"] + [f"blocks.{i}" for i in range(7)]
    assert summary["redundant"] == [row["layer"] for row in summary["probes"] if row["redundant"]]
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert summary["sequence_epochs"] == [0, 3]
    assert {row["method"] for row in summary["embeddings"]} == {"pca"}
    # after 3 epochs on digits no block beats the input's probe: all 7 blocks were flagged with
    # seeds 0, 1 and 2 alike, so the run always reaches a pruning verdict (its cost varied:
    # -0.6, -0.6 and +2.2 points, so only its consistency is asserted)
    assert summary["redundant"] == [f"blocks.{i}" for i in range(7)]
    assert summary["pruning"] is not None and (out / "pruning.csv").is_file()
    assert summary["checks"]["pruning_run"] is True
    assert summary["checks"]["flagged_cost_points"] == pytest.approx(summary["pruning"]["cost_points"])
    assert summary["checks"]["flagged_cost_below_1_point"] == (summary["pruning"]["cost_points"] < 1.0)
    html = (out / "report.html").read_text()
    assert "Probes: what each layer keeps about the label" in html
    # 3-D PCA maps of the last block, the input and the skip block, and the animated map sequence
    # (one scatter3d trace per class: 10 digits in each of the 3 maps)
    assert html.count('"type":"scatter3d"') == 30 and html.count('class="plotly-data"') == 4
    assert "evaluation accuracy" in result.output and "report.html" in result.output


def test_redundant_mlp_blocks_can_be_replaced_by_identity() -> None:
    from infolens.experiments.probe_run import RedundantMLP

    torch.manual_seed(0)
    model = RedundantMLP(n_in=5, n_classes=3, width=8, depth=4, skip_to=2)
    x = torch.randn(10, 5)
    assert model(x).shape == (10, 3)
    assert model.layer_names == ["blocks.0", "blocks.1", "blocks.2", "blocks.3"]
    pruned, actions = prune_layers(model, ["blocks.1", "blocks.2", "blocks.3"], x)
    assert set(actions.values()) == {"identity"}
    # with blocks 1-3 gone the network is head(blocks.0(x) + skip(x))
    expected = model.head(model.blocks[0](x) + model.skip(x))
    torch.testing.assert_close(pruned(x), expected)
    with pytest.raises(InfoLensError, match="'skip_to' parameter of RedundantMLP"):
        RedundantMLP(depth=3, skip_to=3)


@pytest.mark.slow
def test_mnist1d_flagged_layers_prune_cheaply_and_unflagged_do_not() -> None:
    """The issue's demonstration: on MNIST-1D, the flagged layers go at < 1 point, any other costs more."""
    from infolens.experiments.probe_run import ProbeRunConfig, run_probe

    result = run_probe(ProbeRunConfig(methods=("pca",), snapshots=2, embed_points=200))
    assert result.test_accuracy > 0.6
    flagged = [name for name in result.probes.redundant if name != "input"]
    assert flagged, "the redundant network should have flagged layers"
    assert result.pruning is not None
    assert result.checks["flagged_cost_below_1_point"], result.checks
    assert result.checks["every_control_costs_more"], result.checks
