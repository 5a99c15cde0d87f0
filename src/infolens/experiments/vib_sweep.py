"""The ``infolens ib`` experiment: a VIB beta sweep, and the exact IB curve of the SZT task.

:func:`run_vib_sweep` trains one :class:`~infolens.bottleneck.vib.VIBClassifier` per beta (MLP
encoder in-256-256, Gaussian bottleneck K = 32, linear decoder, Adam 1e-3). All betas train
*together*: the models' parameters are stacked and one ``torch.func.vmap`` call runs every model on
the same minibatch (each beta's loss only reaches its own slice of the stacked parameters, and Adam
is elementwise, so this is exactly independent training, without the per-model Python overhead).
Every model starts from the same weights (one seed) and sees the same minibatches, so the betas
differ only in their loss and their posterior noise.

After training, each model is evaluated on the test split with ``n_eval_samples`` posterior
samples per input: accuracy from the averaged class probabilities, the rate (an upper bound on
I(Z;X)) and ``H(Y) - CE`` (a lower bound on I(Z;Y), with ``H(Y)`` the plug-in entropy of the
test labels), in bits.

:func:`run_ib_sweep` writes to its output directory ``summary.json`` (``points``: one
``{"beta", "test_accuracy", "rate_bits", "I_ZY_bits"}`` per beta, plus train-split values, the
evaluated expectations under ``checks`` and ``timings``); the report
(:func:`infolens.report.ib.build_ib_report`, run after it by :func:`infolens.jobs.run_ib_experiment`)
draws ``vib_sweep.png`` (accuracy and both bounds against beta), ``vib_plane.png`` (the points in
the information plane) and a self-contained ``report.html``. For ``dataset="szt12"`` it also
computes the exact IB curve of the task (:func:`infolens.bottleneck.ib_curve`,
``I(T;Y) = min(I(X;T), H(Y))`` for its deterministic labels)
and draws it with the VIB points and, given the directory of an ``infolens run`` information-plane
run, that run's trained layers (final I(X;T) and I(T;Y), read from its store).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from infolens._standardize import standardize
from infolens._threads import torch_threads
from infolens._validation import fail
from infolens.bottleneck.sweep import (
    DEFAULT_BETAS,
    SweepPoint,
    VIBSweepConfig,
    VIBSweepResult,
    plot_ib_curve_with_layers,
    plot_sweep_metrics,
    plot_sweep_plane,
)

__all__ = [
    "DEFAULT_BETAS",
    "SweepPoint",
    "VIBSweepConfig",
    "VIBSweepResult",
    "load_plane_layers",
    "plot_ib_curve_with_layers",
    "plot_sweep_metrics",
    "plot_sweep_plane",
    "run_ib_sweep",
    "run_vib_sweep",
    "szt_ib_curve",
]

def _load(dataset: str, seed: int) -> Any:
    from infolens.data import load

    return load(dataset, seed)


def run_vib_sweep(config: VIBSweepConfig | None = None, *,
                  progress: Callable[[int, int], None] | None = None, **overrides: Any) -> VIBSweepResult:
    """Train one VIB classifier per beta (all together) and evaluate the bounds on the test split.

    Parameters
    ----------
    config : VIBSweepConfig, optional
        Default ``VIBSweepConfig()``; keyword ``overrides`` replace its fields.
    progress : callable, optional
        Called as ``progress(epoch, epochs)`` after every epoch.

    Returns
    -------
    VIBSweepResult
    """
    import torch
    from torch.func import functional_call, stack_module_state, vmap

    from infolens.bottleneck.vib import VIBClassifier, vib_terms

    config = config or VIBSweepConfig()
    if overrides:
        config = VIBSweepConfig(**{**asdict(config), **overrides})
    start = time.perf_counter()
    data = _load(config.dataset, config.seed)
    device = torch.device(config.device)
    x_train, x_test = standardize(data.x_train, data.x_test, ddof=0)
    xtr = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    ytr = torch.as_tensor(np.asarray(data.y_train), dtype=torch.int64, device=device)
    xte = torch.as_tensor(x_test, dtype=torch.float32, device=device)
    yte = torch.as_tensor(np.asarray(data.y_test), dtype=torch.int64, device=device)
    n_classes = int(max(int(ytr.max()), int(yte.max())) + 1)
    betas = torch.tensor(config.betas, dtype=torch.float32, device=device)

    with (torch_threads(config.threads, "run_vib_sweep"),
          torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])):
        models = []
        for _ in config.betas:  # identical initial weights for every beta
            torch.manual_seed(config.seed)
            models.append(VIBClassifier(xtr.shape[1], n_classes, config.k, config.hidden).to(device))
        params, buffers = stack_module_state(models)
        base = copy.deepcopy(models[0]).to("meta")

        def terms(p: Any, b: Any, xb: Any, yb: Any) -> Any:
            logits, mean, std = functional_call(base, (p, b), (xb,))
            return torch.stack(vib_terms(logits, yb, mean, std))

        batched_terms = vmap(terms, in_dims=(0, 0, None, None), randomness="different")
        optimizer = torch.optim.Adam(params.values(), lr=config.lr)
        n = xtr.shape[0]
        gen = torch.Generator().manual_seed(config.seed)
        history: dict[str, list[list[float]]] = {"rate_bits": [], "cross_entropy_bits": []}
        for epoch in range(config.epochs):
            order = torch.randperm(n, generator=gen).to(device)
            totals = torch.zeros(len(config.betas), 2, device=device)
            for rows in order.split(config.batch_size):
                values = batched_terms(params, buffers, xtr[rows], ytr[rows])  # (M, 2) nats
                loss = (values[:, 0] + betas * values[:, 1]).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                totals += values.detach() * len(rows)
            totals = (totals / n / math.log(2)).cpu().numpy()
            history["cross_entropy_bits"].append(totals[:, 0].tolist())
            history["rate_bits"].append(totals[:, 1].tolist())
            if progress is not None:
                progress(epoch + 1, config.epochs)
        trained = time.perf_counter()

        def evaluate(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            def run(p: Any, b: Any, xb: Any) -> Any:
                return functional_call(base, (p, b), (xb, config.n_eval_samples))

            accuracy, cross_entropy, rate = [], [], []
            with torch.no_grad():
                for rows in torch.arange(x.shape[0], device=device).split(1024):
                    logits, mean, std = vmap(run, in_dims=(0, 0, None), randomness="different")(
                        params, buffers, x[rows])  # (M, S, B, C)
                    proba = torch.softmax(logits, dim=-1).mean(dim=1)
                    accuracy.append((proba.argmax(-1) == y[rows]).float().sum(dim=1))
                    log_q = torch.log_softmax(logits, dim=-1)
                    index = y[rows].reshape(1, 1, -1, 1).expand(*logits.shape[:3], 1)
                    cross_entropy.append(-log_q.gather(-1, index).mean(dim=1).sum(dim=(1, 2)))
                    rate.append(0.5 * (mean.pow(2) + std.pow(2) - 1 - 2 * std.log()).sum(dim=(1, 2)))
            count = x.shape[0]
            return tuple(torch.stack(v).sum(dim=0).cpu().numpy() / count  # type: ignore[return-value]
                         for v in (accuracy, cross_entropy, rate))

        test_acc, test_ce, test_rate = evaluate(xte, yte)
        train_acc, train_ce, train_rate = evaluate(xtr, ytr)
    h_test = _label_entropy_bits(data.y_test)
    h_train = _label_entropy_bits(data.y_train)
    ln2 = math.log(2)
    points = tuple(SweepPoint(beta=float(b), test_accuracy=float(test_acc[i]),
                              rate_bits=float(test_rate[i] / ln2), I_ZY_bits=float(h_test - test_ce[i] / ln2),
                              train_accuracy=float(train_acc[i]), train_rate_bits=float(train_rate[i] / ln2),
                              train_I_ZY_bits=float(h_train - train_ce[i] / ln2))
                   for i, b in enumerate(config.betas))
    end = time.perf_counter()
    chance = float(np.bincount(np.asarray(data.y_test)).max() / len(data.y_test))
    timings = {"train_s": trained - start, "eval_s": end - trained, "total_s": end - start,
               "per_epoch_s": (trained - start) / config.epochs}
    return VIBSweepResult(config=config, points=points, h_y_bits=h_test, h_y_train_bits=h_train,
                          chance_accuracy=chance,
                          n_train=int(xtr.shape[0]), n_test=int(xte.shape[0]),
                          n_features=int(xtr.shape[1]), timings=timings, history=history)


def _label_entropy_bits(labels: Any) -> float:
    from infolens.measures import entropy

    return float(entropy(np.bincount(np.asarray(labels).astype(np.int64)), normalize=True))


# --------------------------------------------------------------------------- the SZT task and runs
def szt_ib_curve(units: str = "bits") -> Any:
    """The exact IB curve of the SZT 12-bit task (uniform X over 4096 inputs, deterministic Y)."""
    from infolens.bottleneck import ib_curve
    from infolens.data import szt12

    x, y = szt12()
    return ib_curve(x=x, y=y, betas=np.geomspace(0.25, 64.0, 17), units=units)


def load_plane_layers(run_dir: str | Path) -> list[dict[str, Any]]:
    """The trained layers of an information-plane run (``infolens run``), read from its store.

    Returns records ``{"activation", "layer", "I_XT", "I_TY", "peak_I_XT"}``: the final and peak
    values of the run's own estimator (bits for the default run; 3-point moving average per seed,
    then the mean over seeds, as in the run's summary).
    """
    from infolens.experiments.plane import load_run

    data = load_run(run_dir, "load_plane_layers")
    records = []
    for activation, layers in data.result.summary(estimator=data.estimator_label).items():
        for layer, values in layers.items():
            if not (math.isfinite(values["final_I_XT"]) and math.isfinite(values["final_I_TY"])):
                continue
            records.append({"activation": activation, "layer": layer, "I_XT": float(values["final_I_XT"]),
                            "I_TY": float(values["final_I_TY"]), "peak_I_XT": float(values["peak_I_XT"])})
    return records


# ------------------------------------------------------------------------------------ the command
def run_ib_sweep(config: VIBSweepConfig, out: str | Path, *, run_dir: str | Path | None = None,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the sweep (and, on SZT, the exact IB curve), then write ``summary.json`` to ``out``, which
    the report (:func:`infolens.report.ib.build_ib_report`) reads; :func:`infolens.jobs.run_ib_experiment`
    runs both.

    Parameters
    ----------
    config : VIBSweepConfig
    out : path
        Output directory (created).
    run_dir : path, optional
        An information-plane run directory (``infolens run``); only with ``dataset="szt12"``.

    Returns
    -------
    dict
        The contents of ``summary.json``.
    """
    from infolens._json import write_json

    if run_dir is not None and config.dataset != "szt12":
        raise fail("run_dir", "run_ib_experiment", "None unless dataset='szt12' (the exact IB curve "
                   "is that of the SZT task)", got=repr(str(run_dir)))
    layers = load_plane_layers(run_dir) if run_dir is not None else []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = run_vib_sweep(config, progress=progress)
    summary = result.to_dict()
    if config.dataset == "szt12":
        started = time.perf_counter()
        curve = szt_ib_curve()
        summary["ib_curve"] = curve.to_dict()
        summary["timings"]["ib_curve_s"] = round(time.perf_counter() - started, 3)
        summary["plane_layers"] = layers
        if run_dir is not None:
            summary["run_dir"] = str(run_dir)
    write_json(out / "summary.json", summary)
    return summary
