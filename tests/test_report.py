"""The HTML report is one self-contained file: inline CSS, inline figures, escaped text."""

from __future__ import annotations

import base64
import json
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from infolens import InfoLensError  # noqa: E402
from infolens.report import (  # noqa: E402
    Report,
    atomic_write_bytes,
    information_plane_figure,
    mi_vs_epoch_figure,
    plotly_html,
    png_data_uri,
    scatter3d_html,
    table_html,
)

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
SCRIPT = re.compile(r"<script([^>]*)>(.*?)</script>", re.S)
FIGURE_DATA = re.compile(
    r'<script type="application/json" class="plotly-data" data-target="([^"]+)">(.*?)</script>', re.S)


def _without_scripts(text):
    """The page outside its <script> elements (Plotly's bundle holds URLs of its own, never fetched)."""
    return SCRIPT.sub("", text)


def _figures(text):
    return [json.loads(payload) for _, payload in FIGURE_DATA.findall(text)]


def _figure():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    return fig


def test_report_is_self_contained_with_inline_figure(tmp_path):
    report = Report("A <run> & more")
    report.add_heading("Figures")
    png = report.add_figure(_figure(), "a line", save_to=tmp_path / "fig.png")
    report.add_heading("Table")
    report.add_table(pd.DataFrame({"layer": ["layers.0"], "I_XT": [1.23456]}), "values in bits")
    report.add_scatter3d(np.random.default_rng(0).normal(size=(50, 3)), labels=[0, 1] * 25, title="emb")
    path = report.write(tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    outside = _without_scripts(text)
    assert EXTERNAL.search(outside) is None
    assert "<link" not in outside and "@import" not in outside
    assert "<script src" not in text
    scripts = SCRIPT.findall(text)
    from plotly.offline import get_plotlyjs

    # Plotly's bundle exactly once, a boot script, and the scatter's data (JSON, not executed)
    assert [body for _, body in scripts].count(get_plotlyjs()) == 1 and len(scripts) == 3
    assert len(_figures(text)) == 1
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', outside)
    assert len(uris) == 1 and base64.b64decode(uris[0]) == png
    assert (tmp_path / "fig.png").read_bytes() == png and png.startswith(b"\x89PNG")
    assert "A &lt;run&gt; &amp; more" in text and "<run>" not in text
    assert 'href="#figures"' in text and 'id="table"' in text  # table of contents
    assert "1.23" in text and "1.23456" not in text  # 3 significant digits by default
    assert not list(tmp_path.glob("*.tmp"))


def test_add_text_escapes_and_splits_paragraphs():
    report = Report("t")
    report.add_text("<b>bold</b>\n\nsecond")
    html = report.render()
    assert "<p>&lt;b&gt;bold&lt;/b&gt;</p>" in html and "<p>second</p>" in html


def test_add_html_is_raw():
    report = Report("t")
    report.add_html("<div id='x'>42</div>")
    assert "<div id='x'>42</div>" in report.render()


def test_table_from_records_unions_keys_and_formats():
    html = table_html([{"a": 1, "b": 0.5}, {"a": 2, "c": "x<y"}, {"b": float("nan")}], "cap")
    assert html.count("<tr>") == 4
    assert "<th class=\"num\">a</th>" in html and "x&lt;y" in html and "&ndash;" in html
    assert "<caption>cap</caption>" in html


def test_table_truncation_is_announced():
    html = table_html([{"a": i} for i in range(10)], max_rows=3)
    assert html.count("<tr>") == 4 and "first 3 of 10 rows" in html


@pytest.mark.parametrize("bad", [{"a": 1}, "text", 5, [1, 2]])
def test_table_rejects_non_records(bad):
    with pytest.raises(InfoLensError, match="'data' parameter of table_html"):
        table_html(bad)


def test_scatter3d_payload_is_normalised_and_safe():
    pts = np.array([[0.0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2]])
    html = scatter3d_html(pts, labels=["a</script>", "b", "b", "a</script>"], title="t<1>")
    (figure,) = _figures(html)
    traces = figure["data"]
    assert [t["type"] for t in traces] == ["scatter3d", "scatter3d"]
    assert [t["name"] for t in traces] == ["a&lt;/script&gt;", "b"]  # Plotly shows entities as text
    coords = np.array([[x, y, z] for t in traces for x, y, z in zip(t["x"], t["y"], t["z"], strict=True)])
    assert np.allclose(coords.mean(axis=0), 0, atol=1e-3)
    assert np.isclose(np.sqrt((coords**2).sum(axis=1)).max(), 1.0, atol=1e-3)
    assert len(traces[0]["x"]) == 2 and traces[0]["marker"]["color"] != traces[1]["marker"]["color"]
    assert "</script>" not in html.split('data-target=')[1].split("</script>")[0]  # the JSON cannot end early
    assert "a</script>" not in html and "t&lt;1&gt;" in html


def test_scatter3d_subsamples_large_inputs():
    html = scatter3d_html(np.random.default_rng(1).normal(size=(300, 3)), max_points=100)
    (figure,) = _figures(html)
    assert sum(len(t["x"]) for t in figure["data"]) == 100 and "subsample of 100 of 300" in html


def test_scatter3d_checks_inputs():
    with pytest.raises(InfoLensError, match="'points' parameter of scatter3d_html"):
        scatter3d_html(np.zeros((5, 2)))
    with pytest.raises(InfoLensError, match="'labels' parameter of scatter3d_html"):
        scatter3d_html(np.zeros((5, 3)), labels=[1, 2])


def test_embedded_json_cannot_close_its_script_element():
    hostile = "</script><script>alert(1)</script><!--"
    html = plotly_html({"data": [{"type": "scatter", "x": [1], "y": [2], "name": hostile}],
                        "layout": {"title": {"text": hostile}}})
    (target, payload) = FIGURE_DATA.findall(html)[0]
    assert "<" not in payload and ">" not in payload
    assert json.loads(payload)["data"][0]["name"] == hostile  # the browser's JSON.parse restores it
    assert html.count("<script") == 1 and f'id="{target}"' in html


def test_plotly_html_rejects_non_figures():
    with pytest.raises(InfoLensError, match="'figure' parameter of plotly_html"):
        plotly_html([1, 2])


def _plane_frame(n_seeds=2):
    """Two layers, epochs 0-4, I_XT = 10 - epoch - layer index + seed / 10, I_TY = epoch / 5 - seed / 10."""
    rows = []
    for seed in range(n_seeds):
        for epoch in range(5):
            for i, layer in enumerate(["<b>l0</b>", "l1"]):
                rows.append({"seed": seed, "activation": "tanh", "epoch": epoch, "layer": layer,
                             "quantity": "I_XT", "value": 10.0 - epoch - i + seed / 10})
                rows.append({"seed": seed, "activation": "tanh", "epoch": epoch, "layer": layer,
                             "quantity": "I_TY", "value": epoch / 5 - seed / 10})
    return pd.DataFrame(rows)


def test_information_plane_figure_has_a_frame_per_epoch_and_the_seed_spread():
    figure = information_plane_figure(_plane_frame(), title="binning(bins=30) <x>", units="bits")
    assert [f["name"] for f in figure["frames"]] == ["0", "1", "2", "3", "4"]
    slider = figure["layout"]["sliders"][0]
    assert slider["active"] == 4 and [s["args"][0] for s in slider["steps"]] == [[str(e)] for e in range(5)]
    assert figure["layout"]["title"]["text"] == "binning(bins=30) &lt;x&gt;"
    # the layers at epoch 2: means over the 2 seeds, spread in customdata
    current = figure["frames"][2]["data"][0]
    assert current["x"] == [pytest.approx(8.05), pytest.approx(7.05)]
    assert current["y"] == [pytest.approx(0.35), pytest.approx(0.35)]
    layer, panel, epoch, _, ixt_sd, ixt_min, ixt_max, _, ity_sd, ity_min, ity_max, n = (
        current["customdata"][0])
    assert (layer, panel, epoch, n) == ("&lt;b&gt;l0&lt;/b&gt;", "tanh", 2, 2)
    assert (ixt_min, ixt_max, ity_min, ity_max) == (8.0, 8.1, 0.3, 0.4)
    assert ixt_sd == pytest.approx(0.1 / np.sqrt(2), rel=1e-3) and ity_sd == pytest.approx(0.0707, rel=1e-3)
    # the figure's data show the last epoch, the frames replace only the current-epoch trace
    assert figure["data"][figure["frames"][0]["traces"][0]]["x"] == figure["frames"][-1]["data"][0]["x"]


def test_information_plane_figure_keeps_at_most_max_frames():
    frame = _plane_frame(n_seeds=1)
    figure = information_plane_figure(frame, title="t", max_frames=3)
    assert [f["name"] for f in figure["frames"]] == ["0", "2", "4"]
    with pytest.raises(InfoLensError, match="'frame' parameter of information_plane_figure"):
        information_plane_figure(frame.drop(columns=["activation"]), title="t")


def test_mi_vs_epoch_figure_draws_bands_only_with_several_seeds():
    two = mi_vs_epoch_figure(_plane_frame(), title="t")
    one = mi_vs_epoch_figure(_plane_frame(n_seeds=1), title="t")
    assert sum(t.get("fill") == "toself" for t in two["data"]) == 4  # 2 layers x 2 quantities
    assert not any(t.get("fill") for t in one["data"])
    assert two["layout"]["xaxis"]["type"] == "log"
    curve = next(t for t in two["data"] if t.get("mode") == "lines+markers")
    assert curve["x"] == [1, 2, 3, 4, 5]  # 1 + epoch on the log axis; the hover gives the epoch


def test_report_title_and_png_are_checked():
    with pytest.raises(InfoLensError, match="'title' parameter of Report"):
        Report("")
    with pytest.raises(InfoLensError, match="'png' parameter of png_data_uri"):
        png_data_uri(b"GIF89a")


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "f.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]
