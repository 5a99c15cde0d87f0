"""Self-contained HTML reports: inline CSS, PNG figures, tables and interactive Plotly figures.

See :mod:`infolens.report.html` (the page) and :mod:`infolens.report.interactive` (the Plotly
figures). A report opens without a network: no CDN, no external file; Plotly's JavaScript is
embedded once per page.
"""

from infolens.report.html import (
    Report,
    atomic_write_bytes,
    figure_png,
    plotly_html,
    png_data_uri,
    scatter3d_html,
    table_html,
)
from infolens.report.interactive import (
    embedding_sequence_figure,
    information_plane_figure,
    mi_vs_epoch_figure,
    plot_text,
    scatter3d_figure,
)

__all__ = ["Report", "atomic_write_bytes", "embedding_sequence_figure", "figure_png",
           "information_plane_figure", "mi_vs_epoch_figure", "plot_text", "plotly_html", "png_data_uri",
           "scatter3d_figure", "scatter3d_html", "table_html"]
