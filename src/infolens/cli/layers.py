"""``infolens layers``: the layers of a reference network, their output shapes and sizes."""

from __future__ import annotations

import click

from infolens.cli._options import ACTIVATIONS, DATASETS


@click.command(name="layers")
@click.option("--dataset", type=click.Choice(DATASETS), default="szt12", show_default=True,
              help="Data set whose reference network to show.")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default="tanh", show_default=True,
              help="Hidden-layer nonlinearity.")
@click.option("--widths", default=None, help="Comma-separated widths overriding the reference, e.g. 12,8,2.")
def command(dataset: str, activation: str, widths: str | None) -> None:
    """Print every named layer of the reference MLP: name, type, output shape, parameters.

    Names are the ``named_modules()`` paths that ``infolens.layers`` and the information plane
    accept; ``N`` in a shape is the batch dimension.
    """
    import torch

    from infolens._validation import InfoLensError
    from infolens.layers import list_layers
    from infolens.models import ReferenceMLP, reference_widths

    try:
        sizes = tuple(int(w) for w in widths.split(",")) if widths else reference_widths(dataset)
        model = ReferenceMLP(sizes, activation)
    except (InfoLensError, ValueError) as err:
        raise click.BadParameter(str(err), param_hint="--widths") from err
    rows = [("name", "type", "output shape", "params")]
    for info in list_layers(model, torch.zeros(1, sizes[0])):
        dims = None if info.output_shape is None else ["N", *map(str, info.output_shape[1:])]
        shape = "-" if dims is None else f"({', '.join(dims)})"  # "-": a container never called
        rows.append((info.name, info.type, shape, str(info.n_params)))
    widths_col = [max(len(row[i]) for row in rows) for i in range(4)]
    click.echo(f"ReferenceMLP{sizes} activation={activation} (dataset {dataset})")
    for row in rows:
        click.echo("  ".join(cell.rjust(w) if i == 3 else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(row, widths_col, strict=True))).rstrip())
    total = sum(p.numel() for p in model.parameters())
    click.echo(f"total parameters: {total}")
