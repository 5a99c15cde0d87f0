"""InformationPlane(distributed=True): two gloo processes on shards equal one process on the whole."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import infolens as il
from conftest import localhost_env


def test_two_processes_on_shards_record_what_one_process_records_on_everything(tmp_path):
    script = Path(__file__).with_name("_plane_shards.py")
    env = localhost_env(str(script.parent))
    run = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    from _plane_shards import CASES, data, model

    x, y = data()
    for name, (estimator, settings) in CASES.items():  # one process, all rows, not streamed
        settings = {k: v for k, v in settings.items() if k != "batch_size"}
        whole = il.InformationPlane(torch.as_tensor(x), y, estimator=estimator, **settings)
        expected = {f"{r['layer']} {r['quantity']}": r["value"] for r in whole.record(model(), 0)}
        if settings.get("keep_activations"):
            for got in ranks:
                for layer, array in whole.activations[("", 0)][0].items():
                    assert np.array_equal(np.asarray(got[name + " kept"][layer], dtype=np.float32), array)
        for got in ranks:
            assert got[name].keys() == expected.keys()
            assert np.allclose([got[name][k] for k in expected], list(expected.values()), rtol=0, atol=1e-12)
        assert [rank[name + " writes"] for rank in ranks] == [True, False]
    assert all("'acts['t']' parameter" in rank["shape error"] and "by rank" in rank["shape error"]
               for rank in ranks)


def test_distributed_without_a_process_group_is_refused():
    with pytest.raises(il.InfoLensError, match="'distributed' parameter of InformationPlane"):
        il.InformationPlane(np.zeros((10, 2)), np.arange(10) % 2, distributed=True)
    with pytest.raises(il.InfoLensError, match="'distributed' parameter"):
        il.InformationPlane(np.zeros((10, 2)), np.arange(10) % 2, distributed="yes")


@pytest.mark.parametrize("mode", ["killed", "hung"])
def test_a_lost_rank_fails_the_others_recording_with_one_error_and_stores_nothing_of_it(tmp_path, mode):
    script = Path(__file__).with_name("_plane_rank_lost.py")
    env = localhost_env(str(script.parent))
    ranks = [subprocess.Popen([sys.executable, str(script), str(r), str(tmp_path), mode], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    outs = [p.communicate(timeout=240) for p in ranks]
    assert ranks[1].returncode == 3, outs[1][1][-2000:]
    assert ranks[0].returncode == 0, outs[0][1][-3000:]
    from _plane_rank_lost import TIMEOUT_S

    found = json.loads((tmp_path / "rank0.json").read_text())
    assert found["error"] is not None and "could not exchange" in found["error"], found
    assert "other ranks" in found["error"] and "nothing was recorded" in found["error"]
    assert found["seconds"] < TIMEOUT_S[mode] + 30  # within the process group's timeout, plus start-up
    if mode == "hung":  # only the timeout ends the wait
        assert found["seconds"] >= TIMEOUT_S[mode] - 1, found
    assert found["stored epochs"] == [0]  # epoch 0 whole, nothing of epoch 1
