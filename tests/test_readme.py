"""The README's Python examples run as written, in order, in one namespace, and its comments hold."""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.fixture(scope="module")
def readme() -> dict:
    """The namespace after every ```python block of the README ran, in order."""
    import matplotlib.pyplot as plt

    namespace: dict = {}
    for i, block in enumerate(_python_blocks()):
        exec(compile(block, f"README python block {i + 1}", "exec"), namespace)  # noqa: S102 - our README
    plt.close("all")
    return namespace


def test_the_readme_has_every_example_block():
    starts = [block.splitlines()[0] for block in _python_blocks()]
    assert starts == ["import numpy as np", "import torch", "from infolens import bottleneck as ib",
                      "report = il.probe_layers(model, x, y)         # linear probe per layer: accuracy, "
                      "CE, I(T;Y) bound, CI"]


def test_tour_values(readme):
    il, torch = readme["il"], readme["torch"]
    assert il.entropy([0.5, 0.5]) == 1.0
    assert il.entropy([0.99, 0.01]) == pytest.approx(0.0808, abs=5e-5)
    assert il.self_information(0.01) == pytest.approx(6.644, abs=5e-4)
    assert il.mutual_information(readme["pxy"]) == pytest.approx(0.278, abs=5e-4)
    assert il.mutual_information(readme["pxy"], units="nats") == pytest.approx(0.193, abs=5e-4)
    assert il.kl_divergence([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.737, abs=5e-4)
    assert il.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    # d/dp_i of -sum p log2 p is -log2 p_i - 1/ln 2: the measure kept autograd
    expected = [-math.log2(0.2) - 1 / math.log(2), -math.log2(0.8) - 1 / math.log(2)]
    assert readme["p"].grad.tolist() == pytest.approx(expected, abs=1e-6)
    assert isinstance(readme["p"].grad, torch.Tensor)


def test_tour_estimate_is_a_described_result_near_the_truth(readme):
    est, true_mi = readme["est"], readme["true_mi"]
    assert true_mi == pytest.approx(-math.log(1 - 0.6**2), rel=1e-12)  # dim/2 * -ln(1 - rho^2), dim 2
    assert (est.method, est.units, est.n_samples) == ("ksg", "nats", 5000)
    # KSG with k = 3 at N = 5000: sd about 0.01 nats, bias below 0.01 nats at rho = 0.6
    assert est.value == pytest.approx(true_mi, abs=0.05)
    assert est.ci[0] < est.value < est.ci[1] and est.ci[1] - est.ci[0] < 0.2
    assert est.ci[0] - 0.05 <= true_mi <= est.ci[1] + 0.05


def test_plane_example(readme):
    il = readme["il"]
    assert tuple(readme["acts"]["layers.2"].shape) == (4096, 5)
    assert not readme["acts"]["layers.2"].requires_grad
    frame = readme["plane"].result.to_frame()
    assert list(frame.columns) == ["run", "seed", "activation", "epoch", "layer", "quantity", "estimator",
                                   "value", "units", "flags", "reduce"]
    recorded = sorted(set(frame["epoch"]))
    assert recorded == il.Schedule("log", last_epoch=40).epochs() and recorded[0] == 0
    assert set(frame["layer"]) == {f"layers.{i}" for i in range(6)}
    assert len(frame) == len(recorded) * 6 * 2  # I(X;T) and I(T;Y) per layer and epoch
    h_y = il.estimate_entropy(readme["y"], method="plugin").value
    i_ty = frame[frame["quantity"] == "I_TY"]["value"]
    i_xt = frame[frame["quantity"] == "I_XT"]["value"]
    assert (i_ty <= h_y + 1e-9).all() and (i_xt <= 12 + 1e-9).all()  # I(T;Y) <= H(Y), I(X;T) <= log2 4096
    assert len(readme["plane"].result.compression_scores()) == 6


def test_bottleneck_example(readme):
    curve, torch = readme["curve"], readme["torch"]
    assert max(curve.i_ty) == pytest.approx(0.278, abs=2e-3)  # the curve rises to I(X;Y)
    assert max(curve.i_xt) <= 1.0 + 1e-9                       # and never beyond H(X) = 1 bit
    assert tuple(readme["z"].shape) == (1, 8, 32)
    assert tuple(readme["mean"].shape) == tuple(readme["std"].shape) == (8, 32)
    assert bool((readme["std"] > 0).all())
    assert isinstance(readme["critic"], torch.nn.Module)


def test_probe_pruning_and_embedding_example(readme):
    report, pruning, emb = readme["report"], readme["pruning"], readme["emb"]
    assert list(report.layers) == ["input"] + [f"layers.{i}" for i in range(6)]
    assert set(report.redundant) <= set(report.layers)
    frame = report.to_frame()
    assert ((frame["accuracy"] >= 0) & (frame["accuracy"] <= 1)).all()
    assert pruning.n_test == 4096 - 3072
    assert 0.0 <= pruning.pruned.accuracy <= 1.0
    assert [c.removed for c in pruning.controls] == [("layers.1",)]
    assert emb.coords.shape == (4096, 3)
    assert 0.0 <= emb.knn_accuracy <= 1.0
    assert np.isfinite(emb.coords).all()
