"""Sample propagation (Goldfeld et al. 2019), the blocked kernel sums it shares with KDE, the
Gaussian-noise layer, the adaptive KDE and the class-clustering measure.

Monte Carlo values are compared with closed forms within 4 of their own standard errors (a
two-sided 4-sigma band fails once in about 16,000 runs of a correct estimator; all draws are
seeded, so a run is reproducible).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats

import infolens as il
from infolens import InfoLensError
from infolens.estimators import _pairwise as pairwise
from infolens.estimators import kde


def h_gauss(d: int, sigma: float) -> float:
    return 0.5 * d * math.log(2 * math.pi * math.e * sigma**2)


def test_one_centre_gives_the_entropy_of_the_noise_and_its_exact_standard_error() -> None:
    # -ln g(s + z) = d/2 ln(2 pi sigma^2) + |z|^2 / (2 sigma^2): mean h(Z), variance d/2
    d, sigma, n_mc = 4, 0.7, 20_000
    est = il.gaussian_mixture_entropy(np.full((1, d), 3.0), sigma, n_mc=n_mc, random_state=0,
                                      units="nats")
    stderr = est.details["stderr"]
    assert abs(est.value - h_gauss(d, sigma)) < 4 * stderr
    assert stderr == pytest.approx(math.sqrt(d / 2 / n_mc), rel=0.05)
    assert est.ci[0] < h_gauss(d, sigma) < est.ci[1]
    assert est.details["noise_entropy"] == pytest.approx(h_gauss(d, sigma), abs=1e-12)
    assert est.method == "sample_propagation" and est.quantity == "entropy"


def test_far_apart_centres_give_log_n_plus_the_noise_entropy() -> None:
    n, d, sigma = 8, 3, 0.5
    centres = np.arange(n)[:, None] * np.full((1, d), 1e3)  # 3,000 sigma apart: no overlap
    est = il.gaussian_mixture_entropy(centres, sigma, n_mc=8000, random_state=1, units="nats")
    assert abs(est.value - (math.log(n) + h_gauss(d, sigma))) < 4 * est.details["stderr"]


def test_one_dimensional_mixture_matches_numerical_integration() -> None:
    centres, sigma = np.array([0.0, 0.5, 3.0]), 0.6

    def density(t: float) -> float:
        return float(np.mean(stats.norm.pdf(t, loc=centres, scale=sigma)))

    exact = integrate.quad(lambda t: -density(t) * math.log(density(t)), -10, 13, limit=200)[0]
    est = il.gaussian_mixture_entropy(centres, sigma, n_mc=100_000, random_state=2, units="nats")
    assert abs(est.value - exact) < 4 * est.details["stderr"]
    assert est.details["stderr"] < 0.005  # the comparison is sharp


def test_value_lies_between_the_kolchinsky_tracey_bounds() -> None:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((300, 2))
    noise_var = 0.5
    _, bounds = kde.entropy_kde(centres, noise_var=noise_var)
    assert bounds["upper"] - bounds["lower"] > 0.2  # the bounds are far apart here
    est = il.gaussian_mixture_entropy(centres, math.sqrt(noise_var), n_mc=20_000, random_state=4,
                                      units="nats")
    margin = 4 * est.details["stderr"]
    assert bounds["lower"] - margin < est.value < bounds["upper"] + margin


def test_standard_error_shrinks_as_one_over_sqrt_n_mc() -> None:
    centres = np.random.default_rng(5).standard_normal((50, 3))
    small = il.gaussian_mixture_entropy(centres, 0.3, n_mc=1000, random_state=6)
    large = il.gaussian_mixture_entropy(centres, 0.3, n_mc=16_000, random_state=6)
    assert small.details["stderr"] / large.details["stderr"] == pytest.approx(4.0, rel=0.15)


def test_seeded_runs_repeat_and_units_convert() -> None:
    centres = torch.randn(40, 5, generator=torch.Generator().manual_seed(0))
    a = il.gaussian_mixture_entropy(centres, 0.2, random_state=7, units="nats")
    b = il.gaussian_mixture_entropy(centres.numpy(), 0.2, random_state=7, units="bits")
    assert a.value / math.log(2) == pytest.approx(b.value, rel=1e-12)
    assert a.details["n_mc"] == 1000  # the default: one draw per centre, at least 1,000


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sigma": 0.0}, "'sigma' parameter of gaussian_mixture_entropy must be a finite float > 0"),
    ({"sigma": float("nan")}, "'sigma'"),
    ({"n_mc": 1}, "'n_mc' parameter of gaussian_mixture_entropy must be an int >= 2"),
    ({"random_state": -1}, "'random_state'"),
    ({"units": "bit"}, "'units'"),
    ({"ci": 1.0}, "'ci'"),
    ({"centres": [[0.0], [float("nan")]]}, "'centres' parameter .* finite"),
    ({"centres": torch.zeros(0, 2)}, "'centres' parameter .* n >= 1"),
])
def test_bad_input_raises(kwargs: dict, match: str) -> None:
    args = {"centres": [[0.0], [1.0]], "sigma": 1.0, **kwargs}
    with pytest.raises(InfoLensError, match=match):
        il.gaussian_mixture_entropy(args.pop("centres"), args.pop("sigma"), **args)


def test_blocked_log_sums_match_the_full_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    # 150 queries x 230 centres in blocks of 64; distances up to 1e3 noise widths, where a
    # log-sum-exp without its running shift would underflow to -inf
    monkeypatch.setattr(pairwise, "BLOCK", 64)
    rng = np.random.default_rng(8)
    centres = rng.standard_normal((230, 6)) * 30 + 1e4
    queries = centres[rng.integers(0, 230, 150)] + rng.standard_normal((150, 6))
    scales = [0.5, 3.0]
    got = pairwise.CentreKernels(centres, scales, spread=1.0).log_sums(queries).numpy()
    sq = ((queries[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    for k, scale in enumerate(scales):
        np.testing.assert_allclose(got[k], special.logsumexp(-scale * sq, axis=1), rtol=1e-9)


def test_sample_propagation_plane_on_a_noisy_network() -> None:
    # record the layer that feeds the noise: its output is the centres f(X)
    torch.manual_seed(0)
    noise = il.GaussianNoise(0.05)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), noise, torch.nn.Linear(4, 2))
    x = torch.randn(200, 3)
    y = (x[:, 0] > 0).long()
    plane = il.InformationPlane(x, y, layers=["1"], estimator="sample_propagation",
                                noise_var=noise.noise_var, units="nats")
    first = plane.record(model, 0)
    again = plane.record(model, 1)  # same seed, same centres: the same numbers
    assert [r["value"] for r in first] == [r["value"] for r in again]
    i_xt = first[0]["value"]
    assert 0.0 < i_xt <= math.log(200) + 0.1
    assert first[0]["estimator"] == "sample_propagation(noise_var=0.0025)"


def test_capturing_the_noise_layers_input_gives_the_centres() -> None:
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), il.GaussianNoise(0.5))
    x = torch.randn(50, 3)
    with torch.no_grad(), il.capture(model, ["1", "2"], inputs=True) as acts:
        model(x)
        centres = torch.tanh(model[0](x))
    assert torch.equal(acts.inputs["2"], centres) and torch.equal(acts["1"], centres)
    assert float((acts["2"] - centres).std()) == pytest.approx(0.5, rel=0.2)  # 200 draws


def test_sample_propagation_plane_closed_forms() -> None:
    n = 120
    y = np.arange(n) % 3
    plane = il.InformationPlane(np.zeros((n, 1)), y, estimator="sample_propagation", noise_var=1e-4,
                                units="nats")
    # every sample at its own far-apart point: I(X;T) = ln n, I(T;Y) = H(Y) = ln 3
    far = np.arange(n, dtype=float)[:, None] * np.ones((1, 4))
    records = plane.record_activations({"far": far, "same": np.zeros((n, 4))}, 0)
    values = {(r["layer"], r["quantity"]): r["value"] for r in records}
    # the Monte Carlo error of each entropy is sqrt(d/2 / n_mc) = 0.045 nats here
    assert values["far", "I_XT"] == pytest.approx(math.log(n), abs=0.15)
    assert values["far", "I_TY"] == pytest.approx(math.log(3), abs=0.15)
    assert values["same", "I_XT"] == pytest.approx(0.0, abs=0.15)
    assert values["same", "I_TY"] == pytest.approx(0.0, abs=0.25)


def test_gaussian_noise_statistics_gradient_and_eval_mode() -> None:
    torch.manual_seed(1)
    layer = il.GaussianNoise(0.3).eval()  # noise in evaluation too
    x = torch.zeros(200_000, requires_grad=True)
    out = layer(x)
    assert abs(float(out.detach().mean())) < 5 * 0.3 / math.sqrt(200_000)
    assert float(out.detach().std()) == pytest.approx(0.3, rel=0.01)
    weights = torch.linspace(-1, 1, 200_000)
    (out * weights).sum().backward()
    assert torch.equal(x.grad, weights)
    assert layer.noise_var == pytest.approx(0.09) and "sigma=0.3" in repr(layer)
    with pytest.raises(InfoLensError, match="'sigma' parameter of GaussianNoise must be a finite float > 0"):
        il.GaussianNoise(0.0)


def test_adaptive_kde_does_not_change_when_the_layer_is_rescaled() -> None:
    rng = np.random.default_rng(9)
    t = np.maximum(rng.standard_normal((300, 5)), 0)  # a ReLU-like layer
    y = rng.integers(0, 2, 300)
    plane = il.InformationPlane(np.zeros((300, 1)), y, estimator="adaptive_kde", units="nats")
    records = plane.record_activations({"t": t, "t_x50": 50 * t}, 0)
    values = {(r["layer"], r["quantity"]): r["value"] for r in records}
    for quantity in ("I_XT", "I_TY"):
        assert values["t", quantity] == pytest.approx(values["t_x50", quantity], rel=1e-9)
    # it is the KDE of t / max|t| with the same noise_var
    expected = kde.mi_identity_kde(t / np.abs(t).max(), noise_var=0.1)
    assert values["t", "I_XT"] == pytest.approx(expected, rel=1e-9)


def test_ebab_counts_distinct_levels_and_pools_units() -> None:
    # 8 samples of one unit with values 0,0,0,0,1,2,3,4 in 2 bins: per-unit equal mass cuts at
    # the median (0.5): bins {0} and {1..4}, 4 and 4 samples, H = ln 2; EBAB cuts the 5 distinct
    # values after the 2nd: bins {0, 1} and {2, 3, 4}, 5 and 3 samples
    t = np.array([0, 0, 0, 0, 1, 2, 3, 4], dtype=float)[:, None]
    y = np.array([0, 1] * 4)
    values = {}
    for scope in ("unit", "layer"):
        plane = il.InformationPlane(np.zeros((8, 1)), y, estimator="adaptive_binning", bins=2,
                                    scope=scope, units="nats")
        values[scope] = plane.record_activations({"t": t}, 0)[0]["value"]
    assert values["unit"] == pytest.approx(math.log(2), abs=1e-12)
    assert values["layer"] == pytest.approx(-(5 / 8) * math.log(5 / 8) - (3 / 8) * math.log(3 / 8),
                                            abs=1e-12)
    # the same bins through the general API
    ebab = il.estimate_entropy(t, method="adaptive_binning", bins=2, scope="layer", units="nats")
    assert ebab.value == pytest.approx(values["layer"], abs=1e-12)
    # EBAB pools the units: a unit 10x the other shares its edges
    two = np.column_stack([np.arange(8.0), 10 * np.arange(8.0)])
    per_unit = il.estimate_entropy(two, method="adaptive_binning", bins=2, units="nats").value
    pooled = il.estimate_entropy(two, method="adaptive_binning", bins=2, scope="layer", units="nats").value
    assert per_unit == pytest.approx(math.log(2), abs=1e-12)  # rows (0,0) x4, (1,1) x4
    # 15 distinct values 0..7, 10..70: the edge is the 8th (7), so rows are (0,0), (0,1) x6, (1,1)
    assert pooled == pytest.approx(-2 * (1 / 8) * math.log(1 / 8) - (6 / 8) * math.log(6 / 8),
                                   abs=1e-12)


def test_class_clustering_closed_forms() -> None:
    # two classes at -1 and +1, each spread by +-a: eta^2 = 1 / (1 + a^2)
    a = 0.5
    t = np.array([[-1 - a], [-1 + a], [1 - a], [1 + a]])
    assert il.class_clustering(t, [0, 0, 1, 1]) == pytest.approx(1 / (1 + a**2), abs=1e-12)
    # classes collapsed onto distinct points: 1; identical classes: 0
    assert il.class_clustering(np.repeat(np.eye(3), 5, axis=0), np.repeat([0, 1, 2], 5)) == 1.0
    same = np.tile(np.random.default_rng(10).standard_normal((20, 7)), (2, 1))
    assert il.class_clustering(same, np.repeat([0, 1], 20)) == pytest.approx(0.0, abs=1e-12)
    assert il.class_clustering(np.ones((6, 2)), [0, 1] * 3) == 0.0  # no variance at all


def test_class_clustering_is_about_classes_over_samples_for_unclustered_data() -> None:
    # C classes of i.i.d. samples: E[eta^2] ~ (C - 1) / (n - 1); 5,000 x 1,024 in one pass
    rng = np.random.default_rng(11)
    t = rng.standard_normal((5000, 1024)).astype(np.float32)
    y = rng.integers(0, 10, 5000)
    assert il.class_clustering(torch.from_numpy(t), y) == pytest.approx(9 / 4999, rel=0.1)


@pytest.mark.parametrize(("t", "y", "match"), [
    (np.zeros((4, 2)), [0, 1, 0], "'y' parameter of class_clustering must be as long as 't'"),
    (np.array([[np.nan], [0.0]]), [0, 1], "'t' parameter of class_clustering must be finite"),
    (np.zeros((4, 2)), np.zeros((4, 2)), "'y' parameter of class_clustering must be an array of labels"),
])
def test_class_clustering_bad_input(t: np.ndarray, y: object, match: str) -> None:
    with pytest.raises(InfoLensError, match=match):
        il.class_clustering(t, y)


def test_draws_give_the_conditional_entropy_of_deeper_noisy_layers() -> None:
    # T = S + Z with S | x_i uniform over k = 2 far-apart points per input (upstream noise):
    # h(T | x_i) = ln 2 + h(Z), so I(X;T) = ln(2n) - ln 2 = ln n for n far-apart inputs, while
    # one recording (draws=1) would give I(X, Z_prev; T) = ln(2n)
    n, d, noise_var = 50, 2, 0.01
    rng = np.random.default_rng(12)
    base = rng.standard_normal((n, 1, d)) * 1e3
    stacked = np.concatenate([base, base + 100.0], axis=1)  # (n, 2, d)
    y = np.arange(n) % 2
    plane = il.InformationPlane(np.zeros((n, 1)), y, estimator="sample_propagation",
                                noise_var=noise_var, draws=2, n_mc=4000, units="nats")
    i_xt, i_ty = (r["value"] for r in plane.record_activations({"t": stacked}, 0))
    assert i_xt == pytest.approx(math.log(n), abs=0.1)  # MC error of h(T): sqrt(d/2/4000) = 0.016
    assert i_ty == pytest.approx(math.log(2), abs=0.1)
    one = il.InformationPlane(np.zeros((2 * n, 1)), np.repeat(y, 2), estimator="sample_propagation",
                              noise_var=noise_var, n_mc=4000, units="nats")
    assert one.record_activations({"t": stacked.reshape(2 * n, d)}, 0)[0]["value"] == pytest.approx(
        math.log(2 * n), abs=0.1)
    with pytest.raises(InfoLensError, match="3 recordings of the layer per input"):
        il.InformationPlane(np.zeros((n, 1)), y, estimator="sample_propagation",
                            draws=3).record_activations({"t": stacked}, 0)


def test_plane_information_pairs_its_draws_and_agrees_with_the_mixture_entropies() -> None:
    """layer_information: I(X;T) = E[ln g_X(t) - ln g(t)] on common draws equals h(T) - h(Z) from an
    independent sample-propagation run, with a far smaller Monte Carlo error, and is exactly 0 when
    every input has the same centres."""
    from infolens.estimators.sample_propagation import layer_information

    rng = np.random.default_rng(21)
    n, d, sigma = 600, 10, 0.3
    centres = rng.normal(size=(n, d)) * 0.5
    y = rng.integers(0, 3, n)
    info = layer_information(torch.from_numpy(centres)[:, None, :], y, 3, sigma, 3000, 22)
    ref = il.gaussian_mixture_entropy(centres, sigma, n_mc=40_000, random_state=23, units="nats")
    i_xt_ref = ref.value - ref.details["noise_entropy"]
    assert abs(info["I_XT"] - i_xt_ref) < 4 * math.hypot(info["I_XT_stderr"], ref.details["stderr"])
    class_refs = [il.gaussian_mixture_entropy(centres[y == c], sigma, n_mc=40_000, random_state=25 + c,
                                              units="nats") for c in range(3)]
    weights = [np.mean(y == c) for c in range(3)]
    class_ref = sum(w * r.value for w, r in zip(weights, class_refs, strict=True))
    assert abs(info["I_TY"] - (ref.value - class_ref)) < 0.03  # four 40k-draw references: se ~ 0.006
    assert 0.0 <= info["I_TY"] <= math.log(3)
    # the same 3,000 draws spent on separate entropies (h(T), and h(T | y) per class) are noisier:
    # measured here 0.026 vs 0.035 nats for I(X;T) and 0.013 vs 0.041 for I(T;Y)
    unpaired = [il.gaussian_mixture_entropy(c, sigma, n_mc=3000, random_state=30 + i, units="nats")
                .details["stderr"] for i, c in enumerate([centres, *(centres[y == c] for c in range(3))])]
    assert info["I_XT_stderr"] < unpaired[0]
    unpaired_ty = math.sqrt(unpaired[0] ** 2
                            + sum((w * e) ** 2 for w, e in zip(weights, unpaired[1:], strict=True)))
    assert info["I_TY_stderr"] < 0.5 * unpaired_ty
    # every input with the same 3 overlapping centres: g_X = g draw by draw, so I(X;T) = 0 exactly
    same = torch.from_numpy(np.repeat(np.array([[0.0, 0.0], [0.15, 0.0], [0.0, 0.3]])[None], 400, axis=0))
    flat = layer_information(same, np.arange(400) % 2, 2, 0.1, 2000, 26)
    assert abs(flat["I_XT"]) < 1e-12 and abs(flat["I_TY"]) < 1e-12
