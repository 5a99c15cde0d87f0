"""Recording a plane from shards under ``torch.distributed``: every rank records its own rows.

``InformationPlane(x_shard, y_shard, ..., distributed=True)`` on each rank of an initialised
process group (gloo on CPU, NCCL on GPUs, e.g. started by ``torchrun --nproc_per_node 2
train.py``) gathers the labels (and the input vectors, for estimators that read X) of all ranks
once, in rank order: the data set is the concatenation of the shards, rank 0's rows first
(:class:`Shards`). At each recording every rank runs the model on its own shard only, streamed
(:mod:`infolens.plane.stream`), and the ranks exchange no more than each estimator needs:

* binning over the layer's own range: the (min, max) of every layer, reduced over the ranks;
* count-based estimators (binning, quantized, plug-in): the 16-byte key of every sample (not the
  layer), so the counts are those of the concatenated data exactly;
* ``"minibatch"`` estimators (matrix Renyi): the value of every minibatch, each computed on the
  rank that holds all its rows, or, for a minibatch with rows on several ranks (matrix Renyi's
  seeded batches: nearly all), on rank ``index % world``, which alone receives those rows
  (:meth:`Shards.deliver`); the minibatches and the order of their sum are those of one process,
  and the work of evaluating them is split between the ranks;
* ``"sample"`` estimators (KSG, KDE, v-information): the rows of the plane's seeded subsample
  (every row without ``subsample``);
* estimators that need a whole layer (``adaptive_binning``), and ``"auto"``: the layer.

Every rank then computes the same records, which equal those of one process on the concatenated
data to rounding (count-based: the same counts; minibatch: the same minibatches summed in the
same order; sample-based: the same rows); by convention only rank 0 stores them
(:attr:`InformationPlane.writes <infolens.plane.InformationPlane.writes>`), after the recording
has returned, so a failed recording writes nothing.

A rank that stops (killed, or an exception before it reaches the recording) makes the others'
exchange fail: at once when its connection closes (gloo), else after the process group's timeout
(``init_process_group(timeout=...)``, 30 minutes by default). Either way they raise one
:class:`~infolens.InfoLensError` that says which exchange failed and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from infolens._validation import InfoLensError, fail


def check_distributed(value: Any, fn: str) -> bool:
    """``value`` as a bool; True requires an initialised ``torch.distributed`` process group."""
    if not isinstance(value, bool):
        raise fail("distributed", fn, "a bool", value)
    if value:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            raise fail("distributed", fn, "False, or True inside an initialised torch.distributed process "
                       "group (torch.distributed.init_process_group, or a script started by torchrun)", value)
    return value


def rank() -> int:
    """This process's rank (0 without a process group)."""
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class Shards:
    """Where this process's rows sit in the data set, and how to exchange with the other ranks.

    ``span`` = ``(lo, hi)``: this process holds rows ``lo .. hi - 1`` of the concatenated data of
    ``n`` rows. In one process (:meth:`local`) the span is every row and the exchanges return
    their argument; under a process group (:meth:`of_group`) they gather over the ranks.
    """

    def __init__(self, span: tuple[int, int], n: int, world: int, fn: str, rank: int = 0) -> None:
        self.span, self.n, self.world, self.fn, self.rank = span, n, world, fn, rank

    @classmethod
    def local(cls, n: int, fn: str) -> Shards:
        """One process holding all ``n`` rows."""
        return cls((0, n), n, 1, fn)

    @classmethod
    def of_group(cls, n_local: int, fn: str) -> Shards:
        """This rank's ``n_local`` rows, after those of every lower rank (a collective call)."""
        import torch.distributed as dist

        world = dist.get_world_size()
        sizes = _gather(int(n_local), "the shard sizes", fn, world)
        lo = sum(sizes[:dist.get_rank()])
        return cls((lo, lo + int(n_local)), sum(sizes), world, fn, dist.get_rank())

    @property
    def spread(self) -> bool:
        """Whether rows are held by more than one process."""
        return self.world > 1

    def objects(self, value: Any, what: str) -> list[Any]:
        """``value`` of every rank, in rank order (``[value]`` in one process)."""
        return _gather(value, what, self.fn, self.world) if self.spread else [value]

    def rows(self, array: np.ndarray, name: str, axis: int = 0) -> np.ndarray:
        """The arrays of every rank concatenated along ``axis`` (the sample axis), in rank order.

        The shards must agree in every other dimension (one layer shape); otherwise every rank
        raises the same :class:`~infolens.InfoLensError` naming ``name``.
        """
        if not self.spread:
            return array
        parts = self.objects(np.ascontiguousarray(array), f"the rows of {name!r}")
        self._same([tuple(p.shape) for p in parts], name, axis)
        return np.concatenate(parts, axis=axis)

    def check_shape(self, shape: tuple[int, ...], name: str, axis: int = 0) -> None:
        """Every rank's ``shape`` of ``name`` (a layer's shard) agrees apart from the sample axis."""
        if self.spread:
            self._same([tuple(s) for s in self.objects(tuple(shape), f"the shape of {name!r}")], name, axis)

    def _same(self, shapes: list[tuple[int, ...]], name: str, axis: int) -> None:
        if len({s[:axis] + s[axis + 1:] for s in shapes}) > 1:
            raise fail(name, self.fn, "shards of one shape apart from the sample axis on every rank",
                       got=f"shapes {shapes} by rank")

    def ranges(self, ranges: Mapping[Any, tuple[float, float]]) -> dict[Any, tuple[float, float]]:
        """Per-layer (min, max) over every rank's rows."""
        out: dict[Any, tuple[float, float]] = {}
        for part in self.objects(dict(ranges), "the layers' value ranges"):
            for key, (low, high) in part.items():
                out[key] = (min(low, out[key][0]), max(high, out[key][1])) if key in out else (low, high)
        return out


    def deliver(self, outgoing: list[Any], what: str) -> list[Any]:
        """Send ``outgoing[r]`` to rank r, for every r; returns what every rank sent to this one,
        in rank order (``outgoing`` itself in one process). Each rank receives only its own part
        (one ``gather_object`` per destination), unlike :meth:`objects`."""
        if not self.spread:
            return list(outgoing)
        import torch.distributed as dist

        received: list[Any] = []
        for destination in range(self.world):
            parts: list[Any] | None = [None] * self.world if destination == self.rank else None
            _collective(lambda parts=parts, destination=destination: dist.gather_object(
                outgoing[destination], parts, dst=destination), what, self.fn, self.world)
            if parts is not None:
                received = parts
        return received


def _gather(value: Any, what: str, fn: str, world: int) -> list[Any]:
    """``all_gather_object``; a failed exchange (a rank gone, a timeout) as an InfoLensError."""
    import torch.distributed as dist

    parts: list[Any] = [None] * world
    _collective(lambda: dist.all_gather_object(parts, value), what, fn, world)
    return parts


def _collective(call: Any, what: str, fn: str, world: int) -> None:
    """Run the collective ``call()``; a failed exchange (a rank gone, a timeout) as an InfoLensError."""
    import torch.distributed as dist

    try:
        call()
    except RuntimeError as err:  # DistBackendError and gloo's connection / timeout errors
        raise InfoLensError(
            f"{fn} could not exchange {what} with the other ranks of the torch.distributed process "
            f"group (rank {dist.get_rank()} of {world}): {type(err).__name__}: {str(err)[:300]}. A rank "
            "stopped or did not reach this recording within the process group's timeout "
            "(init_process_group(timeout=...)); nothing was recorded.") from err


__all__ = ["Shards", "check_distributed", "rank"]
