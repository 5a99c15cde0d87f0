"""Two-process helper for tests/test_plane_distributed.py: rank 1 is lost between two recordings.

Run as ``python _plane_rank_lost.py RANK OUT MODE``. Both ranks record epoch 0 (rank 0 stores it);
then rank 1 exits without a word (MODE ``killed``) or stays alive without recording (``hung``,
until well after the timeout); rank 0's recording of epoch 1 must fail with one InfoLensError
within the process group's timeout, and the store must hold epoch 0 only.
"""

import datetime
import json
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

import infolens as il
from _plane_shards import data, model

#: The process group's timeout by mode: a killed rank is seen at once (its connection closes), a
#: hung one only when the timeout expires.
TIMEOUT_S = {"killed": 20, "hung": 5}


def main(rank: int, out: str, mode: str) -> None:
    timeout = datetime.timedelta(seconds=TIMEOUT_S[mode])
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=timeout)
    x, y = data()
    shard = np.array_split(np.arange(len(y)), 2)[rank]
    plane = il.InformationPlane(torch.as_tensor(x[shard]), y[shard], distributed=True, batch_size=32)
    store = il.RunStore(os.path.join(out, "runs.sqlite")) if plane.writes else None
    if store is not None:
        store.begin_run("run", {"case": "rank lost"})
    records = plane.record(model(), 0)
    if store is not None:
        store.record_epoch("run", 0, records)
    if rank == 1:
        if mode == "hung":
            time.sleep(TIMEOUT_S[mode] + 20)  # alive, connected, never at the next exchange
        os._exit(3)  # no cleanup, no goodbye to the process group
    began = time.perf_counter()
    found = {"error": None}
    try:
        records = plane.record(model(), 1)
        store.record_epoch("run", 1, records)
    except il.InfoLensError as err:
        found["error"] = str(err)
    found["seconds"] = time.perf_counter() - began
    found["stored epochs"] = store.recorded_epochs("run")
    with open(os.path.join(out, "rank0.json"), "w") as handle:
        json.dump(found, handle)
    os._exit(0)  # the group cannot be destroyed cleanly without its other rank


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
