"""Write information-plane measurements to TensorBoard (a thin adapter; optional extra).

Scalars go to ``infoplane/<activation>/<layer>/<quantity>`` at step ``epoch``, one series per
seed (``seed<k>``), and the information-plane figure is added as an image.
"""

from __future__ import annotations

from typing import Any

from infolens._optional import require


def summary_writer(log_dir: str) -> Any:
    """A ``torch.utils.tensorboard.SummaryWriter`` (needs ``pip install "infolens[tensorboard]"``)."""
    require("tensorboard", "tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=log_dir)


def log_information_plane(writer: Any, result: Any, *, figure: bool = True) -> int:
    """Write every measurement of a ``PlaneResult`` as scalars; return how many were written.

    Parameters
    ----------
    writer : SummaryWriter or any object with ``add_scalar(tag, value, step)``
    result : PlaneResult
    figure : bool
        Also add the information-plane figure (``infolens.viz.plot_information_plane``).
    """
    records = result.to_records()
    for r in records:
        prefix = f"infoplane/{r['activation'] or 'model'}/{r['layer']}/{r['quantity']}"
        writer.add_scalar(f"{prefix}/seed{r['seed']}", r["value"], r["epoch"])
    if figure and records:
        import matplotlib.pyplot as plt

        from infolens.viz import plot_information_plane

        ax = plot_information_plane(result)
        writer.add_figure("infoplane/figure", ax.figure, global_step=max(r["epoch"] for r in records))
        plt.close(ax.figure)
    writer.flush()
    return len(records)
