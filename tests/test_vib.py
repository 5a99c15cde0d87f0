"""VIB, nonlinear IB, cross-entropy as an information measure, and the ``infolens ib`` experiment."""

from __future__ import annotations

import json
import math
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import infolens as il
from infolens.bottleneck import (
    GaussianNoise,
    NonlinearIBLoss,
    VariationalBottleneck,
    VIBClassifier,
    VIBLoss,
    cross_entropy_logits,
    gaussian_rate,
    kde_mi_upper_bound,
    predict_proba,
    vib_terms,
)
from infolens.estimators.kde import mi_identity_kde

LN2 = math.log(2)


# ----------------------------------------------------------------------------- cross-entropy
def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_classification_loss_is_entropy_plus_kl():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4)) * 2
    p = rng.dirichlet(np.ones(4), size=6)
    p[0] = [1.0, 0.0, 0.0, 0.0]  # a hard label is a one-hot p with H(p) = 0
    q = _softmax(logits)
    per_row = []
    for i in range(6):
        value = cross_entropy_logits(logits[i:i + 1], p[i:i + 1])
        assert value == pytest.approx(il.entropy(p[i]) + il.kl_divergence(p[i], q[i]), abs=1e-12)
        assert value == pytest.approx(il.cross_entropy(p[i], q[i]), abs=1e-12)
        per_row.append(value)
    assert cross_entropy_logits(logits, p) == pytest.approx(np.mean(per_row), abs=1e-12)
    assert cross_entropy_logits(logits[:1], np.array([0])) == pytest.approx(
        il.kl_divergence(p[0], q[0]), abs=1e-12)


def test_agrees_with_torch_cross_entropy_values_and_gradients():
    torch.manual_seed(0)
    logits = torch.randn(32, 10, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 10, (32,))
    ours = cross_entropy_logits(logits, target)
    theirs = torch.nn.functional.cross_entropy(logits, target)
    assert float(ours.detach()) == pytest.approx(float(theirs.detach()) / LN2, rel=1e-12)
    in_nats = cross_entropy_logits(logits, target, units="nats").detach()
    assert float(in_nats) == pytest.approx(float(theirs.detach()), rel=1e-12)
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_theirs,) = torch.autograd.grad(theirs, logits)
    torch.testing.assert_close(g_ours, g_theirs / LN2)
    soft = torch.softmax(torch.randn(32, 10, dtype=torch.float64), dim=1)
    soft_ours = cross_entropy_logits(logits, soft, units="nats").detach()
    soft_torch = torch.nn.functional.cross_entropy(logits, soft).detach()
    assert float(soft_ours) == pytest.approx(float(soft_torch), rel=1e-12)
    # numpy in, float out, same value
    assert cross_entropy_logits(logits.detach().numpy(), target.numpy()) == pytest.approx(
        float(ours.detach()), rel=1e-12)


def test_minimizing_cross_entropy_is_maximum_likelihood():
    # one categorical q = softmax(theta) for all samples: the minimizer is the empirical
    # frequencies, and the minimum is their entropy H(p_hat); elsewhere the loss is H + KL
    rng = np.random.default_rng(1)
    labels = rng.choice(5, size=400, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    freq = np.bincount(labels, minlength=5) / 400
    target = torch.as_tensor(labels)
    theta = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([theta], lr=1, max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = cross_entropy_logits(theta.expand(400, 5), target)
        loss.backward()
        return loss

    opt.step(closure)
    q_ml = torch.softmax(theta, 0).detach().numpy()
    np.testing.assert_allclose(q_ml, freq, atol=1e-6)
    assert float(closure()) == pytest.approx(il.entropy(freq), abs=1e-9)
    other = np.log([0.2, 0.2, 0.2, 0.2, 0.2])
    loss_other = cross_entropy_logits(np.tile(other, (400, 1)), labels)
    assert loss_other == pytest.approx(il.entropy(freq) + il.kl_divergence(freq, np.full(5, 0.2)), abs=1e-12)


def test_cross_entropy_bad_inputs():
    with pytest.raises(il.InfoLensError, match="'logits' parameter of cross_entropy_logits"):
        cross_entropy_logits(np.zeros(3), np.zeros(3, dtype=int))
    with pytest.raises(il.InfoLensError, match="'target' parameter"):
        cross_entropy_logits(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(il.InfoLensError, match="'target' parameter"):
        cross_entropy_logits(np.zeros((2, 2)), np.array([[0.5, 0.6], [1.0, 0.0]]))
    with pytest.raises(il.InfoLensError, match="'units' parameter"):
        cross_entropy_logits(np.zeros((2, 2)), np.array([0, 1]), units="dits")


# ------------------------------------------------------------------------------------------ VIB
def test_bottleneck_head_parameterization_and_reparameterization():
    torch.manual_seed(0)
    head = VariationalBottleneck(3, k=2)
    h = torch.randn(4, 3)
    out = head(h, n_samples=5)
    assert out.z.shape == (5, 4, 2)
    mean, rho = head.linear(h).chunk(2, dim=-1)
    torch.testing.assert_close(out.mean, mean)
    torch.testing.assert_close(out.std, torch.log1p(torch.exp(rho - 5.0)))
    out.z.sum().backward()  # gradients flow through the sample
    assert head.linear.weight.grad is not None and head.linear.weight.grad.abs().sum() > 0
    with torch.no_grad():  # the samples have the posterior's moments
        head.linear.bias[2:] = 5.0 + math.log(math.e - 1)  # softplus(log(e - 1)) = 1
        big = head(torch.zeros(1, 3), n_samples=20000)
    assert float(big.z.std()) == pytest.approx(1.0, abs=0.03)
    assert float(big.z.mean()) == pytest.approx(float(big.mean.mean()), abs=0.03)


def test_rate_is_the_kl_to_the_standard_normal():
    torch.manual_seed(1)
    mean, std = torch.randn(7, 3), torch.rand(7, 3) + 0.1
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, std), torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_rate(mean, std), reference)
    assert float(gaussian_rate(torch.zeros(2, 3), torch.ones(2, 3)).abs().max()) == 0.0


def test_vib_loss_terms_in_bits():
    torch.manual_seed(2)
    model = VIBClassifier(5, 3, k=4, hidden=(8,))
    x, y = torch.randn(10, 5), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    logits, mean, std = model(x, n_samples=3)
    assert logits.shape == (3, 10, 3)
    loss_fn = VIBLoss(beta=0.1, class_prior=[1 / 3, 1 / 3, 1 / 3])
    loss = loss_fn(logits, y, mean, std)
    ce = torch.nn.functional.cross_entropy(logits.reshape(30, 3), y.repeat(3))
    rate = gaussian_rate(mean, std).mean()
    assert float(loss) == pytest.approx(float(ce + 0.1 * rate), rel=1e-6)
    terms = loss_fn.last
    assert terms.rate_bits == pytest.approx(float(rate) / LN2, rel=1e-6)
    assert terms.h_y_bits == pytest.approx(math.log2(3))
    assert terms.i_zy_bits == pytest.approx(math.log2(3) - float(ce) / LN2, abs=1e-6)
    default_prior = VIBLoss(0.1)
    default_prior(logits, y, mean, std)
    assert default_prior.last.h_y_bits == pytest.approx(il.entropy([0.4, 0.3, 0.3]))
    proba = predict_proba(logits)
    torch.testing.assert_close(proba, torch.softmax(logits, -1).mean(0))
    assert vib_terms(logits[0], y, mean, std)[0].shape == ()
    with pytest.raises(il.InfoLensError, match="'beta' parameter of VIBLoss"):
        VIBLoss(beta=-1.0)


def test_vib_rate_falls_with_beta_and_collapses_at_beta_one():
    # XOR-like 2-class task; beta >= 1 is provably optimal at rate 0 (I(Z;Y) <= I(Z;X) <= rate)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(512, 2, generator=gen)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()
    rates, accuracy = {}, {}
    for beta in (1e-3, 1e-1, 1.0):
        torch.manual_seed(0)
        model = VIBClassifier(2, 2, k=4, hidden=(32, 32))
        loss_fn = VIBLoss(beta)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(400):
            logits, mean, std = model(x)
            loss = loss_fn(logits, y, mean, std)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            logits, mean, std = model(x, n_samples=12)
        rates[beta] = float(gaussian_rate(mean, std).mean()) / LN2
        accuracy[beta] = float((predict_proba(logits).argmax(-1) == y).float().mean())
    assert rates[1e-3] > rates[1e-1] > rates[1.0]
    assert rates[1.0] < 0.1
    assert accuracy[1e-3] > 0.9
    assert accuracy[1.0] < 0.65


# ------------------------------------------------------------------------------- nonlinear IB
def test_kde_bound_agrees_with_the_estimator_module_and_limits():
    torch.manual_seed(4)
    h = torch.randn(50, 3, dtype=torch.float64)
    for noise_var in (0.05, 0.5, 3.0):
        ours = float(kde_mi_upper_bound(h, math.log(noise_var)))
        assert ours == pytest.approx(mi_identity_kde(h.numpy(), noise_var), abs=1e-10)
    assert float(kde_mi_upper_bound(torch.zeros(8, 2), 0.0)) == pytest.approx(0.0, abs=1e-7)
    far = torch.arange(8, dtype=torch.float64)[:, None] * 100
    assert float(kde_mi_upper_bound(far, 0.0)) == pytest.approx(math.log(8), abs=1e-9)


def test_kde_bound_gradcheck():
    torch.manual_seed(5)
    h = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    log_var = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(kde_mi_upper_bound, (h, log_var), eps=1e-6, atol=1e-7)


def test_gaussian_noise_layer():
    torch.manual_seed(6)
    layer = GaussianNoise(init_log_var=math.log(0.25))
    out = layer(torch.zeros(20000, 2))
    assert float(out.var()) == pytest.approx(0.25, rel=0.05)
    out.pow(2).mean().backward()
    assert layer.log_var.grad is not None and float(layer.log_var.grad) > 0
    fixed = GaussianNoise(0.0, trainable=False)
    assert not list(fixed.parameters()) and "log_var" in fixed.state_dict()


def _train_nib(beta: float, squared: bool, steps: int = 300) -> tuple[float, float]:
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(256, 4, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()  # deterministic labels, H(Y) ~ 1 bit
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2))
    noise = GaussianNoise(init_log_var=0.0)
    decoder = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    loss_fn = NonlinearIBLoss(beta, squared=squared)
    params = [*encoder.parameters(), *noise.parameters(), *decoder.parameters()]
    opt = torch.optim.Adam(params, lr=1e-2)
    for _ in range(steps):
        hidden = encoder(x)
        loss = loss_fn(decoder(noise(hidden)), y, hidden, noise.log_var)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss_fn.last.i_xt_bits, loss_fn.last.i_ty_bits


def test_nonlinear_ib_trades_compression_for_prediction():
    loose_xt, loose_ty = _train_nib(0.0, squared=False)
    tight_xt, tight_ty = _train_nib(0.3, squared=False)
    assert loose_xt > tight_xt + 1.0
    assert loose_ty > 0.7  # the labels are predicted
    # squared IB with deterministic labels: a moderate beta compresses towards H(Y) ~ 1 bit while
    # keeping I(T;Y), a point on the linear part of the IB curve
    sq_xt, sq_ty = _train_nib(0.1, squared=True)
    assert sq_xt < loose_xt
    assert sq_ty > 0.6 and sq_ty <= sq_xt + 0.15


def test_nonlinear_ib_loss_terms():
    torch.manual_seed(8)
    hidden, logits = torch.randn(16, 3), torch.randn(16, 2)
    y = torch.randint(0, 2, (16,))
    log_var = torch.tensor(-1.0)
    plain = NonlinearIBLoss(0.5)(logits, y, hidden, log_var)
    squared_fn = NonlinearIBLoss(0.5, squared=True, class_prior=[0.5, 0.5])
    squared = squared_fn(logits, y, hidden, log_var)
    i_xt = kde_mi_upper_bound(hidden, log_var)
    ce = torch.nn.functional.cross_entropy(logits, y)
    assert float(plain) == pytest.approx(float(ce + 0.5 * i_xt), rel=1e-6)
    assert float(squared) == pytest.approx(float(ce + 0.5 * i_xt ** 2), rel=1e-6)
    assert squared_fn.last.i_xt_bits == pytest.approx(float(i_xt) / LN2, rel=1e-6)
    assert squared_fn.last.i_ty_bits == pytest.approx(1.0 - float(ce) / LN2, rel=1e-6)
    assert squared_fn.last.noise_var == pytest.approx(math.exp(-1.0), rel=1e-6)


# ------------------------------------------------------------------------------ the experiment
def test_ib_command_on_szt12_with_a_run_dir(tmp_path, threads):
    from infolens.cli import main

    run_dir = tmp_path / "plane_run"  # a real tiny information-plane run, as a user would make it
    made = CliRunner().invoke(main, ["run", "--quick", "--epochs", "6", "--seeds", "1", "--activation",
                                     "tanh", "--no-sensitivity", "--no-progress", "--threads", str(threads),
                                     "--out", str(run_dir)])
    assert made.exit_code == 0, made.output
    plane = json.loads((run_dir / "summary.json").read_text())["tanh"]["layers"]
    out = tmp_path / "ib"
    result = CliRunner().invoke(main, ["ib", "--dataset", "szt12", "--betas", "0,1e-2,1", "--epochs", "3",
                                       "--out", str(out), "--run-dir", str(run_dir), "--no-progress",
                                       "--threads", str(threads)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [p["beta"] for p in summary["points"]] == [0.0, 0.01, 1.0]
    for p in summary["points"]:
        assert set(p) >= {"beta", "test_accuracy", "rate_bits", "I_ZY_bits"}
        assert 0 <= p["test_accuracy"] <= 1 and p["rate_bits"] >= 0
        assert p["I_ZY_bits"] <= summary["h_y_bits"] + 1e-9  # H(Y) - CE <= H(Y)
    # rate after 3 epochs over seeds 0-4: beta 0: 252-272, 1e-2: 11.5-13.2, 1: 0.39-0.52 bits,
    # so each step falls by a factor of more than 20 on every seed: the check holds anywhere
    rates = [p["rate_bits"] for p in summary["points"]]
    assert rates[0] > 5 * rates[1] > 25 * rates[2]
    assert summary["checks"]["rate_decreasing"] is True
    assert "rate_decreasing=True" in result.output
    assert summary["ib_curve"]["h_y"] == pytest.approx(0.99916, abs=5e-6)
    placed = {r["layer"]: r for r in summary["plane_layers"]}
    assert set(placed) == {f"layers.{i}" for i in range(6)}
    for name, layer in plane.items():  # the run's final values, placed as they were stored
        assert placed[name]["I_XT"] == pytest.approx(layer["final_I_XT"], rel=1e-12)
        assert placed[name]["I_TY"] == pytest.approx(layer["final_I_TY"], rel=1e-12)
    for name in ("report.html", "vib_sweep.png", "vib_plane.png", "ib_curve.png"):
        assert (out / name).stat().st_size > 1000
    html = (out / "report.html").read_text()
    outside = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # Plotly's bundle names URLs
    assert "Exact IB curve" in html and "http://" not in outside and "https://" not in outside
    assert html.count('class="plotly-data"') == 1 and '"name":"3","traces"' in html  # a frame per epoch
    # the report is rebuilt from summary.json alone, to the byte
    (out / "report.html").unlink()
    rebuilt = CliRunner().invoke(main, ["report", str(out)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (out / "report.html").read_text() == html


def test_ib_command_rejects_run_dir_without_szt12(tmp_path):
    from infolens.cli import main

    result = CliRunner().invoke(main, ["ib", "--dataset", "mnist1d", "--run-dir", str(tmp_path),
                                       "--out", str(tmp_path / "o"), "--epochs", "1"])
    assert result.exit_code != 0
    assert "'run_dir' parameter" in result.stderr


@pytest.mark.slow
def test_default_mnist1d_sweep_meets_the_expected_outcome_over_three_seeds(tmp_path, threads):
    """The default sweep (60 epochs, 6 betas) with seeds 0, 1, 2 (each seed also draws the split).

    Measured (1 thread; test split): accuracy at beta = 0 / 1e-4 / 1e-3 was 0.616 / 0.615 / 0.616
    (seed 0), 0.599 / 0.599 / 0.628 (seed 1), 0.611 / 0.610 / 0.616 (seed 2); another 2-core
    machine gave 0.618 at beta = 0 and 0.579 at 1e-3 for seed 0. So one run's small-beta accuracy
    moves by up to 0.04 against beta = 0 with the machine alone, and the job's own "within 3 points"
    check can fail on a single run: it is asserted here only as computed from the points, and the
    claim itself over three seeds: the mean accuracy of the betas <= 1e-3 is at least the mean at
    beta = 0 minus 0.04 (measured: +0.005; a per-run sd of about 0.02 averages to 0.008 over 3 seeds
    and 2 betas, so 0.04 is 5 sd). Properties that hold on any machine, with their measured margins:
    the rate falls by a factor of at least 2.5 at every step (asserted: 1.5); beta = 1 collapses to
    0.095-0.134 accuracy against chance 0.110-0.119 (the job's limit: chance + 0.1); beta = 0 reaches
    0.599-0.616 (asserted: > 0.5).
    """
    from infolens.experiments.vib_sweep import VIBSweepConfig, run_vib_sweep
    from infolens.jobs import run_ib_experiment

    summary = run_ib_experiment(VIBSweepConfig(dataset="mnist1d", threads=threads), tmp_path)
    runs = [summary] + [run_vib_sweep(VIBSweepConfig(dataset="mnist1d", seed=seed, threads=threads)).to_dict()
                        for seed in (1, 2)]
    small, zero = [], []
    for run in runs:
        points = run["points"]
        assert [p["beta"] for p in points] == [0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
        rates = [p["rate_bits"] for p in points]
        assert all(a > 1.5 * b for a, b in zip(rates, rates[1:], strict=False)), rates
        accuracy = [p["test_accuracy"] for p in points]
        assert accuracy[0] > 0.5
        assert accuracy[-1] <= run["chance_accuracy"] + 0.1
        assert run["checks"]["rate_decreasing"] is True
        assert run["checks"]["collapse_at_largest_beta"] is True
        within = min(accuracy[1:3]) >= accuracy[0] - 0.03
        assert run["checks"]["accuracy_small_beta_within_3_points"] == within
        zero.append(accuracy[0])
        small.extend(accuracy[1:3])
    assert np.mean(small) >= np.mean(zero) - 0.04, (small, zero)
    assert (tmp_path / "report.html").is_file() and (tmp_path / "vib_sweep.png").stat().st_size > 1000
