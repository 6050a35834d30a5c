"""Data-parallel training: ranks share each batch, average their gradients over gloo and stay in step."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from workers.runtime import load_model
from workers.training.parallel import Ranks, TrainingFailed, run_ranks
from workers.training.trainer import train

INPUTS = torch.arange(40, dtype=torch.float32).reshape(5, 8) / 40
TARGETS = torch.tensor([0, 2, 1, 1, 0])


def _net() -> torch.nn.Module:
    torch.manual_seed(7)
    return torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))


def _loss(net: torch.nn.Module, rows: list[int]) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(net(INPUTS[rows]), TARGETS[rows])


def _average_job(path, ranks: Ranks) -> None:
    net = _net()
    loss = _loss(net, ranks.share(range(len(INPUTS))))
    loss.backward()
    mean = ranks.average(list(net.parameters()), loss)
    ranks.check_in_step(list(net.parameters()))
    torch.save({"rank": ranks.rank, "loss": mean, "grads": [p.grad for p in net.parameters()]},
               path / f"rank{ranks.rank}.pt")


def _failing_job(ranks: Ranks) -> None:
    if ranks.rank == 1:
        raise ValueError("rank one cannot read clip 7")
    ranks.barrier()


def test_a_rank_takes_every_worldth_item_and_a_shard_of_the_clips():
    assert Ranks(0, 2).share(range(5)) == [0, 2, 4] and Ranks(1, 2).share(range(5)) == [1, 3]
    assert Ranks().share("abc") == ["a", "b", "c"]
    assert [Ranks(r, 2).count(5) for r in (0, 1)] == [3, 2] and Ranks().count(5) == 5
    views = [("c0", "plain"), ("c1", "plain"), ("c0", "mirror"), ("c2", "plain"), ("c1", "reverse")]
    first, second = (Ranks(r, 2).shard(views, key=lambda v: v[0]) for r in (0, 1))
    assert first == [("c0", "plain"), ("c0", "mirror"), ("c2", "plain")]  # a clip's views stay together
    assert second == [("c1", "plain"), ("c1", "reverse")]
    assert Ranks().shard(views, key=lambda v: v[0]) == views


def test_two_ranks_average_their_gradients_and_losses(tmp_path):
    run_ranks(functools.partial(_average_job, tmp_path), 2)
    got = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    halves = []
    for rows in ([0, 2, 4], [1, 3]):  # what each rank computes on its own
        net = _net()
        loss = _loss(net, rows)
        loss.backward()
        halves.append((loss.item(), [p.grad for p in net.parameters()]))
    expected = [(a + b) / 2 for a, b in zip(halves[0][1], halves[1][1])]
    for rank in got:
        assert rank["loss"] == pytest.approx((halves[0][0] + halves[1][0]) / 2, rel=1e-6)
        assert all(torch.allclose(g, e, atol=1e-7) for g, e in zip(rank["grads"], expected))
    assert all(torch.equal(a, b) for a, b in zip(got[0]["grads"], got[1]["grads"]))  # the same step everywhere
    assert not all(torch.allclose(a, b) for a, b in zip(halves[0][1], halves[1][1]))  # the halves did differ


def test_a_failing_rank_fails_the_run_with_its_error():
    with pytest.raises(TrainingFailed, match="rank one cannot read clip 7"):
        run_ranks(_failing_job, 2)


def _waiting_job(folder: str, ranks: Ranks) -> None:
    Path(folder, f"rank{ranks.rank}").write_text(str(os.getpid()))
    time.sleep(600)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # reaped
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_ranks_end_when_the_run_that_started_them_is_killed(tmp_path):
    """A killed `vila-stream train` leaves no ranks behind training on into its output folder, also where it
    was started in the background of a script (`train ... &`, where SIGINT is ignored: torch's own
    parent-death signal for its ranks is SIGINT)."""
    script = (f"import functools, signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
              f"from tests.workers.training.test_parallel import _waiting_job; "
              f"from workers.training.parallel import run_ranks; "
              f"run_ranks(functools.partial(_waiting_job, {str(tmp_path)!r}), 2)")
    run = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[3])
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("rank*"))) < 2 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = [int(p.read_text()) for p in sorted(tmp_path.glob("rank*"))]
        assert len(pids) == 2 and all(_running(pid) for pid in pids), run.poll()
    finally:
        run.kill()
        run.wait()
    deadline = time.monotonic() + 60
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in pids if _running(pid)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, f"ranks {left} outlived the killed run"


def test_a_short_two_rank_run_trains_every_stage(short_recipe, tmp_path):
    out = tmp_path / "run"
    final = train(short_recipe, out, ranks=2, workers=1, progress=False)
    assert final == out / "stage3-sft"
    # the ranks stayed in step (checked at the end of every stage) and rank 0 alone wrote
    assert json.loads((final / "training.json").read_text())["ranks"] == 2
    assert isinstance(load_model(final).caption([[_grey()] * 4], max_new_tokens=3)[0], str)
    logged = [json.loads(line) for line in (out / "losses.jsonl").read_text().splitlines()]
    text = [x["loss"] for x in logged if x["stage"] == "text"]
    assert len(text) == short_recipe.text_steps and text[-1] < text[0] - 0.5
    assert len([x for x in logged if x["stage"] == "sft"]) == short_recipe.stages[-1].steps


def test_more_ranks_than_a_batch_is_refused(short_recipe, tmp_path):
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="--ranks 99"):
        train(short_recipe, tmp_path / "run", ranks=99)


def _grey():
    from PIL import Image

    return Image.new("RGB", (64, 48), (90, 90, 90))
