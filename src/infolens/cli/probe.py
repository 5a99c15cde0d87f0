"""``infolens probe``: per-layer probes, redundant layers verified by pruning, and maps of each layer."""

from __future__ import annotations

from typing import Any

import click

from infolens.cli._options import DATASETS, EMBEDDINGS, threads_option

#: Command-line option -> ProbeRunConfig field.
_FIELDS = {"dataset": "dataset", "n_samples": "n_samples", "seed": "seed", "epochs": "epochs",
           "width": "width", "depth": "depth", "skip_to": "skip_to", "lr": "lr", "n_splits": "n_splits",
           "finetune_epochs": "finetune_epochs", "finetune_seeds": "finetune_seeds",
           "embed_points": "embed_points", "tsne_3d_layers": "tsne_3d_layers", "snapshots": "snapshots"}


@click.command(name="probe")
@click.option("--dataset", type=click.Choice(DATASETS), default="mnist1d", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: runs/probe-<dataset>-<timestamp>].")
@click.option("--n-samples", type=int, default=None, help="MNIST-1D samples generated [default: 16000].")
@click.option("--seed", type=int, default=None, help="Seed of data, weights and splits [default: 0].")
@click.option("--epochs", type=int, default=None, help="Training epochs [default: 30].")
@click.option("--width", type=int, default=None, help="Block width [default: 128].")
@click.option("--depth", type=int, default=None, help="Number of blocks [default: 7].")
@click.option("--skip-to", type=int, default=None, help="Block that also receives the input [default: 2].")
@click.option("--lr", type=float, default=None, help="Adam learning rate [default: 1e-3].")
@click.option("--n-splits", type=int, default=None, help="Probe splits [default: 5].")
@click.option("--finetune-epochs", type=int, default=None,
              help="Fine-tuning epochs per variant [default: 5].")
@click.option("--finetune-seeds", type=int, default=None, help="Fine-tuning repeats averaged [default: 3].")
@click.option("--method", "methods", multiple=True, type=click.Choice(EMBEDDINGS),
              help="Embedding method (repeatable) [default: pca, tsne, umap].")
@click.option("--embed-points", type=int, default=None, help="Points per map [default: 1000].")
@click.option("--tsne-3d-layers", type=int, default=None, help="Layers with a 3-D t-SNE map [default: 2].")
@click.option("--snapshots", type=int, default=None, help="Epochs in the aligned sequence [default: 6].")
@click.option("--quick", is_flag=True, help="A smoke run of about a minute (small data, PCA and t-SNE).")
@threads_option()
def command(**options: Any) -> None:
    """Train a deliberately redundant MLP, probe every layer, verify the redundant ones by pruning,
    map every layer in 2-D and 3-D, and write report.html, CSV tables, figures and summary.json."""
    import time
    from pathlib import Path

    from infolens._atomic import directory_lock
    from infolens._threads import torch_threads
    from infolens.experiments.probe_run import ProbeRunConfig, format_summary
    from infolens.jobs import run_probe

    settings = {field: options[name] for name, field in _FIELDS.items() if options[name] is not None}
    if options["methods"]:
        settings["methods"] = tuple(dict.fromkeys(options["methods"]))
    out = options["out"] or Path("runs") / f"probe-{options['dataset']}-{time.strftime('%Y%m%d-%H%M%S')}"

    def echo(message: str) -> None:
        click.echo(message, err=True)

    config = ProbeRunConfig.quick(**settings) if options["quick"] else ProbeRunConfig(**settings)
    with directory_lock(out, fn="infolens probe", name="--out"), torch_threads(options["threads"]):
        result = run_probe(config, out, log=echo)
    click.echo(format_summary(result.summary))
    click.echo(f"report: {Path(out) / 'report.html'}")
