"""Every kind of report opened in a real browser (headless Chromium driven by Playwright).

Small real runs of each report kind (the main job, ``infolens ib``, ``infolens probe``, an
experiment preset, ``infolens compare``, and a report of a user's own model built with the public
report helpers, whose layer is named
``<script>alert(1)</script>``) are opened at 1366 x 768, the size of a small laptop screen. For
each: no console error, no request other than the file itself (every request is intercepted and
any other is aborted and reported), every Plotly figure drawn with its traces and every PNG loaded,
neither blank (pixel spread of a screenshot of each), nothing wider than the window, the epoch
slider moving the plotted points, no dialog, and a full-page screenshot saved to
``$INFOLENS_ARTIFACTS`` (default ``tests/artifacts/``, git-ignored) to look at.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright
never downloads one. Without the browser or the ``playwright`` package these tests skip with the
reason (and fail under CI: ``require`` in conftest.py).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import require
from infolens.cli import main

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = "<script>alert(1)</script>"
ARTIFACTS = Path(os.environ.get("INFOLENS_ARTIFACTS") or Path(__file__).parent / "artifacts")
WIDTH, HEIGHT = 1366, 768
#: Report kind -> (Plotly figures, epoch sliders, PNG images) each report must show.
EXPECTED = {"main": (4, 1, 3), "ib": (1, 1, 3), "probe": (4, 1, 2), "experiment": (2, 2, 2),
            "compare": (0, 0, 1), "custom": (3, 1, 0)}


def _playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _invoke(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output


def _custom_report(out: Path) -> Path:
    """A user's own model in a training loop, reported with the public helpers (hostile layer name)."""
    import infolens as il
    from infolens.report import Report, information_plane_figure, mi_vs_epoch_figure

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 4, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = torch.nn.Sequential()
    model.add_module(HOSTILE, torch.nn.Linear(4, 3))
    model.add_module("act", torch.nn.Tanh())
    model.add_module("head", torch.nn.Linear(3, 2))
    torch.manual_seed(0)
    plane = il.InformationPlane(x, y, layers=[HOSTILE, "head"], estimator="binning", bins=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for epoch in range(6):
        plane.record(model, epoch)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    frame = plane.result.to_frame()
    report = Report(f"My model: {HOSTILE}")
    report.add_heading(f"Plane of {HOSTILE}")
    report.add_plotly(information_plane_figure(frame, title=f"binning, layer {HOSTILE}"),
                      f"caption {HOSTILE}")
    report.add_plotly(mi_vs_epoch_figure(frame, title="curves"))
    report.add_table(frame.head(3))
    with torch.no_grad():
        coords = model[0](x).numpy()
    report.add_scatter3d(coords, np.where(y.numpy() == 1, HOSTILE, "other"), title=HOSTILE)
    return report.write(out / "report.html")


def _compared(root: Path) -> None:
    """``infolens compare`` of two runs' verdict rows (written in the schema the analysis step stores:
    the main job of this version stores none), one of them with a hostile variant name."""
    runs = []
    for name, variant, ratio in (("a", "tanh", 0.41), ("b", HOSTILE, 0.97)):
        runs.append(root / "verdicts" / name)
        runs[-1].mkdir(parents=True)
        row = {"variant": variant, "estimator": "binning(bins=30)", "split": "train", "layer": "layers.3",
               "ratio_mean": ratio, "ratio_low": ratio - 0.05, "ratio_high": ratio + 0.03, "n_seeds": 3,
               "compresses": ratio < 0.9, "paper_says": True}
        (runs[-1] / "summary.json").write_text(json.dumps({"verdicts": [row]}))
    _invoke(["compare", *map(str, runs), "--out", str(root / "compare")])


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small real run of each report kind (about 70 s together on 2 cores)."""
    root = tmp_path_factory.mktemp("reports")
    _invoke(["run", "--quick", "--epochs", "12", "--points-per-decade", "5", "--checkpoint-every", "5",
             "--costly-epochs", "0", "--threads", "1", "--no-progress", "--out", str(root / "main")])
    _invoke(["ib", "--dataset", "szt12", "--betas", "0,1e-2,1", "--epochs", "3", "--threads", "1",
             "--no-progress", "--run-dir", str(root / "main"), "--out", str(root / "ib")])
    _invoke(["probe", "--quick", "--dataset", "digits", "--epochs", "3", "--method", "pca",
             "--embed-points", "150", "--snapshots", "3", "--out", str(root / "probe")])
    _invoke(["run", "--experiment", "noisy-nets", "--quick", "--threads", "1", "--no-progress",
             "--out", str(root / "experiment")])  # planes on train and test, the clustering figure
    _compared(root)
    (root / "custom").mkdir()
    _custom_report(root / "custom")
    return {kind: root / kind / "report.html" for kind in EXPECTED}


@pytest.fixture(scope="module")
def browser():
    require(_playwright_available(), "the playwright package is missing: pip install -e '.[test]'")
    require(CHROMIUM.is_file(), f"no browser at {CHROMIUM}: apt-get install chromium (as .ci/run does)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": WIDTH, "height": HEIGHT})
        yield context
        context.close()


class Opened:
    """A report open in a page, with what the page logged, requested and tried to show."""

    def __init__(self, context, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.dialogs: list[str] = []
        page = self.page = context.new_page()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)
        page.goto(self.url, wait_until="load")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.plotly-chart'))"
            ".every(c => c.querySelector('.main-svg') !== null)", timeout=30000)
        page.wait_for_timeout(500)  # WebGL scenes draw after newPlot resolves

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        url = route.request.url
        if url == self.url or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)


def _pixel_spread(png: bytes) -> float:
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64).std())


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_report_opens_offline_draws_every_figure_and_fits_the_screen(kind, reports, browser):
    opened = Opened(browser, reports[kind])
    page = opened.page
    try:
        n_plotly, n_sliders, n_png = EXPECTED[kind]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report_{kind}.png"), full_page=True)
        assert opened.errors == []
        assert opened.blocked == []
        assert {u for u in opened.requests if not u.startswith("data:")} == {opened.url}
        assert opened.dialogs == []
        # the page fits a 1366-px window; wide tables scroll inside their own box
        assert opened.js("document.documentElement.scrollWidth") <= opened.js("window.innerWidth") == WIDTH
        widest = opened.js("Math.max(...Array.from(document.querySelectorAll('main *'))"
                           ".filter(e => !e.closest('.table-wrap'))"
                           ".map(e => e.getBoundingClientRect().right))")
        assert widest <= WIDTH
        # every Plotly figure has its traces drawn (SVG points or lines, or a WebGL scene) and is not blank
        charts = page.locator(".plotly-chart")
        assert charts.count() == n_plotly
        marks = ".scatterlayer .trace path.point, .scatterlayer .trace path.js-line, .gl-container canvas"
        drawn = opened.js("s => Array.from(document.querySelectorAll('.plotly-chart'))"
                          ".map(c => c.querySelectorAll(s).length)", marks)
        assert all(n > 0 for n in drawn), drawn
        for i in range(n_plotly):
            assert _pixel_spread(charts.nth(i).screenshot()) > 8.0, f"figure {i} looks blank"
        images = page.locator("main img")
        assert images.count() == n_png
        for i in range(n_png):
            image = images.nth(i)
            assert image.evaluate("i => i.complete && i.naturalWidth > 0")
            assert _pixel_spread(image.screenshot()) > 8.0, f"image {i} looks blank"
        assert page.locator(".slider-rail-rect").count() == n_sliders
        if n_sliders:
            _slider_moves_the_points(opened)
    finally:
        page.close()


def _slider_moves_the_points(opened: Opened) -> None:
    """Click the left end of the first slider's rail: the slider goes to its first epoch and the
    drawn points of the animated traces move; then Play runs back to the last epoch."""
    page = opened.page
    chart = page.locator(".plotly-chart", has=page.locator(".slider-rail-rect")).first
    read = ("c => [c._fullLayout.sliders[0].active, Array.from(c.querySelectorAll("
            "'.scatterlayer path.point')).map(p => p.getAttribute('transform'))]")
    active, before = chart.evaluate(read)
    label = chart.locator(".slider-group > text.slider-label").text_content()
    steps = chart.evaluate("c => c._fullLayout.sliders[0].steps.length")
    assert active == steps - 1 and steps >= 2  # starts at the last epoch
    chart.scroll_into_view_if_needed()
    rail = chart.locator(".slider-rail-rect").bounding_box()
    page.mouse.click(rail["x"] + 2, rail["y"] + rail["height"] / 2)
    page.wait_for_timeout(400)
    active, after = chart.evaluate(read)
    assert active == 0
    assert chart.locator(".slider-group > text.slider-label").text_content() != label
    assert len(after) == len(before) and after != before
    # Play runs through the epochs to the last one, which shows the points as they were at first
    chart.locator(".updatemenu-button", has_text="Play").click()
    last = "c => c._fullLayout.sliders[0].active === c._fullLayout.sliders[0].steps.length - 1"
    page.wait_for_function(last, arg=chart.element_handle(), timeout=20000)
    page.wait_for_timeout(400)
    assert chart.evaluate(read)[1] == before


def test_hostile_layer_name_is_shown_as_text_everywhere(reports, browser):
    opened = Opened(browser, reports["custom"])
    page = opened.page
    try:
        assert opened.dialogs == [] and opened.errors == []
        assert opened.js("document.title") == f"My model: {HOSTILE}"
        assert page.locator("h2").first.text_content() == f"Plane of {HOSTILE}"
        assert page.locator("td", has_text=HOSTILE).count() >= 1
        assert page.locator("figcaption", has_text=f"caption {HOSTILE}").count() == 1
        legend = opened.js("Array.from(document.querySelectorAll('.legendtext')).map(t => t.textContent)")
        assert legend.count(HOSTILE) >= 3  # plane, curves and the 3-D map's class
        titles = opened.js("Array.from(document.querySelectorAll('.gtitle')).map(t => t.textContent)")
        assert f"binning, layer {HOSTILE}" in titles
        # hover the hostile layer's marker at the slider's epoch: its name is in the hover text
        chart = page.locator(".plotly-chart").first
        chart.scroll_into_view_if_needed()
        marker = chart.locator(".scatterlayer .trace").last.locator("path.point").first
        box = marker.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(300)
        hover = chart.locator(".hoverlayer").text_content()
        assert HOSTILE in hover and "epoch" in hover and "sd" in hover and "min" in hover
        code = "document.querySelectorAll('main script:not([type=\"application/json\"])').length"
        assert opened.js(code) == 0  # no executable script inside the page's content
        assert opened.dialogs == []
    finally:
        page.close()


def test_the_checks_catch_a_page_that_reaches_out_overflows_errs_or_alerts(tmp_path, browser):
    """The same harness on a page that breaks every rule: each breach is seen."""
    from infolens.report import Report

    report = Report("a bad page")
    report.add_html('<img alt="remote" src="https://example.invalid/x.png">'
                    '<div style="width: 2000px">too wide</div>'
                    '<script>console.error("boom"); alert("hello")</script>')
    opened = Opened(browser, report.write(tmp_path / "bad.html"))
    try:
        assert opened.blocked == ["https://example.invalid/x.png"]
        assert any("boom" in e for e in opened.errors)
        assert opened.dialogs == ["hello"]
        assert opened.js("document.documentElement.scrollWidth") > WIDTH
    finally:
        opened.page.close()
