"""WorkerPool (services/dispatcher/pool.py) over real gRPC: a window sent while its tier has no reachable
worker waits for one, however few retries are allowed, instead of failing as `unavailable` (`cluster up` with a
backlog used to dead-letter windows this way: the dispatcher's retries ran out before the worker listened)."""
from __future__ import annotations

import asyncio

from core.labels import DEFAULT_ACTION_LABELS
from services.cluster import free_port
from services.dispatcher.pool import WorkerPool
from services.dispatcher.retry import RetryPolicy
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
