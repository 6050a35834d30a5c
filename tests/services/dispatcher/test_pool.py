"""WorkerPool (services/dispatcher/pool.py) over real gRPC: a window sent while its tier has no reachable
worker waits for one, however few retries are allowed, instead of failing as `unavailable` (`cluster up` with a
backlog used to dead-letter windows this way: the dispatcher's retries ran out before the worker listened); a
worker that hangs is ejected within seconds, its calls go elsewhere, and it is put back when it answers."""
from __future__ import annotations

import asyncio
import logging
import os
import signal

import grpc

from core.labels import DEFAULT_ACTION_LABELS
from services.cluster import free_port
from services.dispatcher.pool import WorkerPool
from services.dispatcher.retry import RetryPolicy
from tests.support.cluster import START_TIMEOUT_S, Service
from tests.support.wait import until
from tests.workers.server.harness import InProcessWorker, frame_window, worker_settings


def test_a_window_waits_for_a_worker_that_is_not_there_yet(tiny_model_dir):
    asyncio.run(_waits_for_a_late_worker(tiny_model_dir))


async def _waits_for_a_late_worker(tiny_model_dir):
    port = free_port()
    pool = WorkerPool({"edge": [f"127.0.0.1:{port}"]}, list(DEFAULT_ACTION_LABELS),
                      RetryPolicy(retries=1, initial_s=0.01, maximum_s=0.02), timeout_s=60)
    pool.open()
    worker = None
    try:
        window = frame_window(0)
        call = asyncio.create_task(pool.caption("edge", window))
        await until("the window waiting for a reachable worker", lambda: pool.waiting or call.done(), 30)
        assert not call.done()  # one retry would long be spent: the window was never tried
        worker = InProcessWorker(worker_settings(tiny_model_dir, port=port, warmup=False, max_wait_ms=0))
        await asyncio.to_thread(worker.call, worker.app.start())
        result = await asyncio.wait_for(call, 120)
        assert result.window_id == window.window_id and result.caption and not result.error
        assert pool.waiting == 0
    finally:
        await pool.close()
        if worker is not None:
            await asyncio.to_thread(worker.close)


def test_a_worker_that_hangs_is_ejected_its_calls_go_elsewhere_and_it_comes_back(tiny_model_dir, tmp_path, caplog):
    """A SIGSTOPped worker keeps its connection: before, its calls waited for their deadline (a minute), were
    retried on it, and health never took it out. The calls here have a 10-minute deadline."""
    caplog.set_level(logging.WARNING, logger="vila.dispatcher.pool")
    hung_port = free_port()
    hung = Service("worker-hung", tmp_path, "workers", ["--port", str(hung_port), "--tier", "edge", "--device",
                                                        "cpu", "--dtype", "float32"], endpoint=f"127.0.0.1:{hung_port}")
    hung.start(START_TIMEOUT_S)
    other = InProcessWorker(worker_settings(tiny_model_dir, warmup=False, max_wait_ms=0))
    other.call(other.app.start())
    try:
        asyncio.run(_hung_worker_is_ejected(hung, other.app.target, caplog))
    finally:
        other.close()
        hung.stop()


async def _hung_worker_is_ejected(hung: Service, other: str, caplog):
    pool = WorkerPool({"edge": [hung.endpoint, other]}, list(DEFAULT_ACTION_LABELS),
                      RetryPolicy(retries=0, initial_s=0.01, maximum_s=0.02), timeout_s=600)
    pool.open()
    try:
        await until("both workers reachable", lambda: len(pool._endpoints["edge"]) == 2 and all(
            e.channel.get_state(try_to_connect=True) == grpc.ChannelConnectivity.READY
            for e in pool._endpoints["edge"]), 30)
        os.kill(hung.pid, signal.SIGSTOP)
        try:
            windows = [frame_window(i, count=2) for i in range(4)]  # least loaded first: two land on the hung one
            results = await asyncio.wait_for(asyncio.gather(*(pool.caption("edge", w) for w in windows)), 90)
            assert [r.window_id for r in results] == [w.window_id for w in windows]
            assert pool.ejected() == [hung.endpoint]
            assert f"{hung.endpoint} was ejected while holding it" in caplog.text
        finally:
            os.kill(hung.pid, signal.SIGCONT)
        await until("the worker back in the pool", lambda: pool.ejected() == [], 60)
    finally:
        await pool.close()
