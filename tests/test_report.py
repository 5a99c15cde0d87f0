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
from infolens.report import Report, atomic_write_bytes, png_data_uri, scatter3d_html, table_html  # noqa: E402

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


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
    assert EXTERNAL.search(text) is None
    assert "<link" not in text and "@import" not in text
    assert "<script src" not in text
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
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
    data = re.search(r'<script type="application/json" id="([^"]+)-data">(.*?)</script>', html, re.S)
    assert data is not None
    payload = json.loads(data.group(2))
    coords = np.array(payload["points"])
    assert np.allclose(coords.mean(axis=0), 0, atol=1e-3)
    assert np.isclose(np.sqrt((coords**2).sum(axis=1)).max(), 1.0, atol=1e-3)
    assert payload["colors"][0] == payload["colors"][3] != payload["colors"][1]
    assert "a</script>" not in html and "t&lt;1&gt;" in html
    assert f'<canvas id="{data.group(1)}"' in html


def test_scatter3d_subsamples_large_inputs():
    html = scatter3d_html(np.random.default_rng(1).normal(size=(300, 3)), max_points=100)
    payload = json.loads(re.search(r'-data">(.*?)</script>', html, re.S).group(1))
    assert len(payload["points"]) == 100 and "subsample of 100 of 300" in html


def test_scatter3d_checks_inputs():
    with pytest.raises(InfoLensError, match="'points' parameter of scatter3d_html"):
        scatter3d_html(np.zeros((5, 2)))
    with pytest.raises(InfoLensError, match="'labels' parameter of scatter3d_html"):
        scatter3d_html(np.zeros((5, 3)), labels=[1, 2])


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
