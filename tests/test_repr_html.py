"""Notebook displays (``_repr_html_``) of the result objects: well-formed, self-contained, escaped,
and holding the numbers as printed (4 significant digits)."""

from __future__ import annotations

import base64
from collections import OrderedDict
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from torch import nn

import infolens as il

EVIL = "<script>alert(1)</script>"
VOID = {"img", "br", "hr", "meta", "input", "col", "wbr"}


class _Page(HTMLParser):
    """Collects the text, the tags and the image sources; checks that tags nest properly."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.images: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        elif tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(obj: object) -> _Page:
    page = _Page()
    page.feed(obj._repr_html_())  # type: ignore[attr-defined]
    page.close()
    assert page.open == [], f"unclosed tags {page.open}"
    assert "script" not in page.tags and "link" not in page.tags
    for src in page.images:  # figures are inline PNGs, nothing is fetched
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    return page


def text(page: _Page) -> str:
    return " ".join(page.text)


def test_estimate_shows_value_interval_method_and_flags() -> None:
    x, y, _ = il.data.correlated_gaussians(400, dim=1, rho=0.6, seed=0)
    est = il.estimate_mi(x, y, method="ksg", k=3, units="nats", ci=0.9, n_resamples=20,
                         n_permutations=19)
    page = parse(est)
    shown = text(page)
    assert f"{est.value:.4g} nats" in shown
    assert f"[{est.ci[0]:.4g}, {est.ci[1]:.4g}] at 90%" in shown
    assert "ksg(k=3, variant=1, metric=chebyshev)" in shown
    assert f"{est.p_value:.4g}" in shown and "400 of 400" in shown
    assert page.images == []


def test_estimate_of_auto_shows_what_it_chose_and_why() -> None:
    x, y, _ = il.data.correlated_gaussians(400, dim=1, rho=0.6, seed=0)
    est = il.estimate_mi(x, y, units="nats")
    shown = text(parse(est))
    chosen = est.details["chosen"]
    assert f"chosen={chosen}" in shown and f"reason={est.details['reason']}" in shown
    assert f"{chosen}={est.details[chosen]:.4g}" in shown


def test_estimate_escapes_its_strings() -> None:
    est = il.Estimate(value=-0.5, units="bits", quantity="mi", method=EVIL, flags=("negative", EVIL))
    html = est._repr_html_()
    assert EVIL not in html and "&lt;script&gt;" in html
    shown = text(parse(est))
    assert f"{EVIL}()" in shown and f"negative, {EVIL}" in shown and "-0.5 bits" in shown


def _plane(layer: str) -> il.PlaneResult:
    records = []
    for seed in (0, 1):
        for epoch in range(6):
            for name, scale in ((layer, 1.0), ("layers.1", 0.5)):
                i_xt = scale * (3.0 + epoch - 0.4 * max(0, epoch - 2) ** 2) + 0.01 * seed
                records += [
                    {"run": "r", "seed": seed, "activation": "tanh", "epoch": epoch, "layer": name,
                     "quantity": "I_XT", "estimator": "binning(bins=30)", "value": i_xt, "units": "bits"},
                    {"run": "r", "seed": seed, "activation": "tanh", "epoch": epoch, "layer": name,
                     "quantity": "I_TY", "estimator": "binning(bins=30)", "value": 0.1 * epoch * scale,
                     "units": "bits"}]
    return il.PlaneResult(records)


def test_plane_result_shows_per_layer_summary_figure_and_escapes_layer_names() -> None:
    result = _plane(EVIL)
    html = result._repr_html_()
    assert EVIL not in html
    page = parse(result)
    shown = text(page)
    phases = result.phases()
    for row in phases.itertuples():
        assert f"{row.peak_I_XT:.4g}" in shown and f"{row.final_I_XT:.4g}" in shown
        assert f"{row.final_I_TY:.4g}" in shown and f"{row.relative_drop:.4g}" in shown
    assert EVIL in shown and "0 to 5, 6 recorded" in shown and "PlaneResult: 48 records in bits" in shown
    assert len(page.images) == 1


def test_plane_result_without_i_ty_or_records_has_no_figure() -> None:
    only_xt = _plane("layers.0").select(quantity="I_XT")
    assert parse(only_xt).images == []
    empty = parse(il.PlaneResult())
    assert "PlaneResult: 0 records in bits" in text(empty) and empty.images == []


def test_probe_report_shows_accuracy_bound_and_figure() -> None:
    torch.manual_seed(0)
    layers = [(EVIL, nn.Linear(4, 8)), ("act", nn.Tanh()), ("out", nn.Linear(8, 2))]
    model = nn.Sequential(OrderedDict(layers))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    report = il.probe_layers(model, x, y, n_splits=3)
    html = report._repr_html_()
    assert EVIL not in html
    page = parse(report)
    shown = text(page)
    for i, layer in enumerate(report.layers):
        assert layer in shown
        low, high = report.accuracy_ci[i]
        assert f"{report.accuracy[i]:.4g}" in shown and f"[{low:.4g}, {high:.4g}]" in shown
        assert f"{report.mi_lower_bound[i]:.4g}" in shown
    assert f"chance accuracy {report.chance_accuracy:.4g}" in shown
    assert len(page.images) == 1


def test_ib_curve_shows_limits_some_betas_and_figure() -> None:
    pxy = np.array([[0.4, 0.1], [0.1, 0.4]])
    curve = il.bottleneck.ib_curve(pxy)
    page = parse(curve)
    shown = text(page)
    assert f"IBCurve: IB, {len(curve.beta)} betas, in bits" in shown
    assert "0.2781" in shown  # I(X;Y) of this table, 0.27807 bits
    assert f"12 of {len(curve.beta)} betas" in shown
    for i in (0, len(curve.beta) - 1):  # both ends of the curve are shown
        assert f"{curve.beta[i]:.4g}" in shown and f"{curve.i_ty[i]:.4g}" in shown
    assert len(page.images) == 1


def _point(seed: int, label: str) -> dict:
    return {"accuracy": 0.5 + seed / 8, "points": [{"beta": 0.0}], "label": label}


def test_sweep_result_shows_points_and_escapes_configs(tmp_path) -> None:
    result = il.run_sweep(_point, il.grid(seed=[0, 1, 2], label=[EVIL]), tmp_path / "sweep")
    html = result._repr_html_()
    assert EVIL not in html
    shown = text(parse(result))
    assert "SweepResult: 3 points, 0 resumed" in shown and "not shown: points" in shown
    assert "0.5" in shown and "0.625" in shown and "0.75" in shown and EVIL in shown


@pytest.mark.parametrize("bad", [float("nan"), None])
def test_missing_numbers_print_as_text(bad: float | None) -> None:
    est = il.Estimate(value=1.0, units="bits", quantity="entropy", method="kl", p_value=bad)
    shown = text(parse(est))
    assert ("p-value nan" in shown) == (bad is not None)
