"""Recording a plane from shards under ``torch.distributed``: every rank sees the whole data set.

``InformationPlane(x_shard, y_shard, ..., distributed=True)`` on each rank of an initialised
process group (gloo on CPU, NCCL on GPUs, e.g. started by ``torchrun --nproc_per_node 2
train.py``) gathers the labels (and the input vectors, for estimators that read X) of all ranks
once, in rank order, and at each recording gathers the activations of every layer the same way.
Every rank then estimates on the concatenation, so the records equal those of one process on
the concatenated data exactly (the same arithmetic on the same arrays), whatever the estimator;
by convention only rank 0 writes them (:attr:`InformationPlane.writes`).

Cost: each rank holds every layer of the whole data set while it estimates, as one process
would; the forward passes are split over the ranks. A rank that dies leaves the others waiting
in the collective until the process group's timeout (``init_process_group(timeout=...)``), then
raising the backend's error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infolens._validation import fail


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


def gather_rows(array: np.ndarray, name: str, fn: str, axis: int = 0) -> np.ndarray:
    """The arrays of every rank concatenated along ``axis`` (the sample axis), in rank order.

    The shards must agree in every other dimension (one layer shape); otherwise every rank
    raises the same :class:`~infolens.InfoLensError` naming ``name``.
    """
    import torch.distributed as dist

    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, np.ascontiguousarray(array))
    shapes = [tuple(p.shape[:axis] + p.shape[axis + 1:]) for p in parts]
    if len(set(shapes)) > 1:
        raise fail(name, fn, "shards of one shape apart from the sample axis on every rank",
                   got=f"shapes {[tuple(p.shape) for p in parts]} by rank")
    return np.concatenate(parts, axis=axis)


__all__ = ["check_distributed", "gather_rows", "rank"]
