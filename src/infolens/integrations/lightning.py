"""Record the information plane from a Lightning ``Trainer``: a thin shell over
:meth:`infolens.plane.InformationPlane.record`.

Example
-------
>>> plane = il.InformationPlane(x, y, layers="layers.*", estimator="binning", schedule="log")
>>> trainer = lightning.Trainer(callbacks=[InformationPlaneCallback(plane)])
>>> trainer.fit(module, loader)
>>> plane.result.to_frame()
"""

from __future__ import annotations

from typing import Any

from infolens._optional import require

_pl = require("lightning.pytorch", "lightning", alternatives=("pytorch_lightning",))


class InformationPlaneCallback(_pl.Callback):  # type: ignore[misc,name-defined]
    """Record ``plane`` before training (epoch 0) and after every scheduled epoch.

    Under multi-process data parallelism (``strategy="ddp"``, ``"ddp_spawn"``, any number of
    processes) only the global rank zero records, once per scheduled epoch, and on the whole of
    the plane's ``x`` and ``y``, not on its own shard of the training data: the information plane
    of the network is a property of the network on one evaluation set, the binning and k-NN
    estimators need all of its samples at once (an average of per-shard estimates is biased), and
    every rank holds the same weights after each synchronised step. Rank zero runs the
    LightningModule itself (not its DDP wrapper) in eval mode, which issues no collective, so the
    other ranks skip the capture and simply wait for rank zero at the next gradient all-reduce.
    The records (``plane.result``) therefore live in the rank-zero process: with ``"ddp"`` that
    is the process that called ``trainer.fit``; with ``"ddp_spawn"`` it is a child process, so
    save them from there (e.g. in ``on_fit_end``).

    To split the recording's forward passes over the ranks instead, pass a function that builds
    ``InformationPlane(x_shard, y_shard, ..., distributed=True)`` for the rank it runs on: the
    callback calls it in ``setup`` (once the process group exists), every rank then records its
    shard at the same epochs, every rank holds the same records of the whole data
    (:mod:`infolens.plane.distributed`), and only the rank whose ``plane.writes`` logs them.

    Parameters
    ----------
    plane : InformationPlane, or callable () -> InformationPlane
        Holds the inputs, labels, layers, estimator and schedule; a callable is called in
        ``setup`` on every rank (for a ``distributed`` plane of that rank's shard).
    run, seed, activation : tags stored with every measurement.
    log : bool
        Also log each layer's I(X;T) and I(T;Y) (in the plane's units) to the Trainer's loggers
        as ``infoplane/<layer>/I_XT``.
    """

    def __init__(self, plane: Any, *, run: str = "lightning", seed: int = 0, activation: str = "",
                 log: bool = True) -> None:
        super().__init__()
        self.plane = plane
        self._make_plane = plane if callable(plane) and not hasattr(plane, "record") else None
        self.tags = {"run": run, "seed": seed, "activation": activation}
        self.log = log

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self._make_plane is not None:
            self.plane = self._make_plane()

    def _record(self, trainer: Any, pl_module: Any, epoch: int) -> None:
        sharded = getattr(self.plane, "distributed", False)
        if not (sharded or trainer.is_global_zero) or not self.plane.should_record(epoch):
            return
        rows = self.plane.record(pl_module, epoch, **self.tags)
        if self.log and trainer.loggers and (not sharded or self.plane.writes):
            metrics = {f"infoplane/{r['layer']}/{r['quantity']}": r["value"] for r in rows}
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=epoch)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.current_epoch == 0:
            self._record(trainer, pl_module, 0)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._record(trainer, pl_module, trainer.current_epoch + 1)
