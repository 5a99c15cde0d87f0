"""Self-contained HTML reports: inline CSS, figures as base64 PNG, tables, a 3-D scatter widget.

See :mod:`infolens.report.html`. A report opens without a network: no CDN, no external file.
"""

from infolens.report.html import (
    Report,
    atomic_write_bytes,
    figure_png,
    png_data_uri,
    scatter3d_html,
    table_html,
)

__all__ = ["Report", "atomic_write_bytes", "figure_png", "png_data_uri", "scatter3d_html", "table_html"]
