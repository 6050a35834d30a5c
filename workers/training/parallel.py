"""Data-parallel training on one machine: ranks in processes, gradients averaged over gloo.

A model this small spends much of a step in per-operation overhead and in
Python (drawing a batch, splicing embeddings), which a second torch thread does
not share. Ranks do: each rank owns a shard of the data (``Ranks.shard``: all the
views of a clip on one rank, so each frame is read, labelled and encoded by one
rank only) and draws its share of every batch from it; after the backward pass
the ranks average their gradients (``Ranks.average``), so every rank takes the
same optimizer step and the weights stay identical without ever being sent.
Rank 0 writes checkpoints, state and logs; the others wait for it at
``Ranks.barrier``. One rank (``Ranks()``) is the plain single-process run.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Sequence, TypeVar

import torch
import torch.distributed as dist

from core.errors import VilaError

T = TypeVar("T")


class TrainingFailed(VilaError):
    """A rank of a data-parallel run failed (the message is its error), or the ranks' weights diverged."""

    reason = "training"


@dataclass(frozen=True)
class Ranks:
    """This process's place in a data-parallel run (``rank`` of ``world``)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, items: Sequence[T]) -> list[T]:
        """This rank's part of a batch every rank drew alike: items rank, rank + world, ..."""
        return list(items[self.rank::self.world])

    def shard(self, items: Sequence[T], key: Callable[[T], Hashable]) -> list[T]:
        """This rank's part of a dataset: the items whose ``key`` is the rank-th, (rank + world)-th, ... distinct
        key in order, so items with one key (the views of a clip) stay on one rank."""
        order: dict[Hashable, int] = {}
        for item in items:
            order.setdefault(key(item), len(order))
        return [item for item in items if order[key(item)] % self.world == self.rank]

    def count(self, batch: int) -> int:
        """How many of a ``batch``'s items this rank draws (``share``'s count)."""
        return len(range(self.rank, batch, self.world))

    def average(self, params: Sequence[torch.nn.Parameter], loss: torch.Tensor) -> float:
        """Average the gradients of ``params`` and ``loss`` over the ranks (one all-reduce); returns the mean loss.

        A parameter without a gradient on this rank counts as zero (every rank must pass the same list).
        """
        if self.world == 1:
            return loss.item()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads] + [loss.detach().reshape(1).to(grads[0].dtype)])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p, g in zip(params, grads):
            p.grad = flat[offset:offset + g.numel()].view_as(p)  # views of this step's fresh buffer
            offset += g.numel()
        return flat[-1].item()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def check_in_step(self, params: Sequence[torch.nn.Parameter]) -> None:
        """Raise :class:`TrainingFailed` if the ranks' weights differ (they take identical steps, so they must not)."""
        if self.world == 1:
            return
        with torch.no_grad():
            total = torch.stack([p.detach().double().sum() for p in params]).sum().reshape(1)
        low, high = total.clone(), total.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        if low.item() != high.item():
            raise TrainingFailed(f"data-parallel ranks diverged (weight sums {low.item()} and {high.item()})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _end_with_parent(parent: int) -> None:
    """Have the kernel end this process when its parent does (Linux): ranks whose ``vila-stream train`` was
    killed would otherwise train on and write into its output folder. torch asks for SIGINT, which a
    process started in the background of a script (``train ... &``) ignores; SIGTERM is not ignored there."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent ended before the request took hold
        os._exit(1)


def _rank_main(rank: int, world: int, port: int, threads: int, job: Callable[[Ranks], object], errors: str,
               parent: int) -> None:
    _end_with_parent(parent)
    torch.set_num_threads(threads)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        job(Ranks(rank, world))
    except BaseException as error:
        # The first rank to fail is the cause; the others then fail on the closed connection.
        with contextlib.suppress(FileExistsError), open(Path(errors) / "first", "x") as out:
            out.write(f"rank {rank}: {type(error).__name__}: {error}")
        raise
    if world > 1:
        dist.destroy_process_group()


def run_ranks(job: Callable[[Ranks], object], world: int, *, threads: int = 1, spawn: bool = False) -> None:
    """Run ``job(ranks)`` in ``world`` new processes of ``threads`` torch threads each (a single rank runs in
    this process unless ``spawn``).

    ``job`` must be picklable (a module-level function or a ``functools.partial`` of one). The first
    rank's exception ends the others and is raised here as :class:`TrainingFailed`.
    """
    if world == 1 and not spawn:
        job(Ranks())
        return
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="vila-ranks-") as errors:
        try:
            mp.start_processes(_rank_main, args=(world, free_port(), threads, job, errors, os.getpid()), nprocs=world,
                               join=True, start_method="spawn")
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as error:
            first = Path(errors) / "first"
            cause = first.read_text() if first.is_file() else str(error).strip().splitlines()[-1]
            raise TrainingFailed(f"a training rank failed: {cause}") from None
