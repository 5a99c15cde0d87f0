"""Two-process helper for tests/test_plane_distributed.py: each rank records its shard."""

import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist

import infolens as il


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    return x, (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0.5)


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 4))


#: name -> (estimator, plane settings): whole-shard and streamed (batch_size), subsampled, kept.
CASES = {"binning": ("binning", {}), "adaptive": ("adaptive_binning", {}), "kde": ("kde", {}),
         "renyi": ("matrix_renyi", {}),
         "binning streamed": ("binning", {"batch_size": 32, "keep_activations": True}),
         "binning fixed range": ("binning", {"batch_size": 32, "range": (-1.0, 1.0)}),
         "kde subsample": ("kde", {"batch_size": 40, "subsample": 100, "subsample_seed": 3}),
         "plugin streamed": ("plugin", {"batch_size": 64}),
         # 5 seeded minibatches of 60, each with rows on both ranks: each evaluated on one rank
         "renyi streamed": ({q: {"estimator": "matrix_renyi", "batch_size": 64} for q in ("I_XT", "I_TY")},
                            {"batch_size": 32})}


def main(rank: int, world: int, out: str) -> None:
    dist.init_process_group("gloo", rank=rank, world_size=world)
    x, y = data()
    shard = np.array_split(np.arange(len(y)), world)[rank]
    found = {}
    for name, (estimator, settings) in CASES.items():
        plane = il.InformationPlane(torch.as_tensor(x[shard]), y[shard], estimator=estimator,
                                    distributed=True, **settings)
        found[name] = {f"{r['layer']} {r['quantity']}": r["value"] for r in plane.record(model(), 0)}
        found[name + " writes"] = plane.writes
        if settings.get("keep_activations"):  # every rank keeps every row, in rank order
            kept = plane.activations[("", 0)][0]
            found[name + " kept"] = {layer: array.tolist() for layer, array in kept.items()}
    try:  # shards of different layer shapes are refused on every rank
        plane = il.InformationPlane(torch.as_tensor(x[shard]), y[shard], distributed=True)
        plane.record_activations({"t": np.zeros((len(shard), 2 + rank))}, 0)
    except il.InfoLensError as err:
        found["shape error"] = str(err)
    with open(os.path.join(out, f"rank{rank}.json"), "w") as handle:
        json.dump(found, handle)
    dist.destroy_process_group()


if __name__ == "__main__":
    import torch.multiprocessing as mp

    mp.spawn(main, args=(2, sys.argv[1]), nprocs=2, join=True)
