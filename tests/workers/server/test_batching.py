"""Dynamic batching over real gRPC: concurrent requests share model calls, with the same answers as alone,
and a full queue is refused with RESOURCE_EXHAUSTED."""
from __future__ import annotations

import math

import grpc
import pytest
from vila.v1 import inference_pb2

from core.convert import window_to_pb
from tests.support.wait import wait_until
from tests.workers.server.harness import InProcessWorker, batch_size, caption_request, frame_window, worker_settings

LABELS = ["a square moving", "nothing moving"]


@pytest.fixture(scope="module")
def batching_worker(tiny_model_dir):
    # A long wait so that 8 requests sent together certainly meet in the queue, even on a loaded machine.
    w = InProcessWorker(worker_settings(tiny_model_dir, max_batch_size=8, max_wait_ms=1000, max_queue=16))
    w.call(w.app.start())
    yield w
    w.close()


@pytest.fixture(scope="module")
def single_worker(tiny_model_dir):
    w = InProcessWorker(worker_settings(tiny_model_dir, max_batch_size=1, max_wait_ms=0, warmup=False))
    w.call(w.app.start())
    yield w
    w.close()


def test_concurrent_requests_are_batched_and_answer_as_one_by_one(batching_worker, single_worker):
    stub = batching_worker.connect()
    requests = [caption_request(seq, labels=LABELS, max_new_tokens=12) for seq in range(8)]
    before = batching_worker.app.engine.batcher.stats.snapshot()["sizes"]
    futures = [stub.Caption.future(r) for r in requests]
    together = [f.result(timeout=120) for f in futures]
    sizes = [batch_size(f) for f in futures]
    assert max(sizes) > 1, sizes
    after = batching_worker.app.engine.batcher.stats.snapshot()["sizes"]
    assert any(after.get(size, 0) > before.get(size, 0) for size in after if size > 1)  # the counter saw it too

    alone = []
    single = single_worker.connect()
    for r in requests:
        reply, call = single.Caption.with_call(r)
        assert batch_size(call) == 1
        alone.append(reply)
    assert [t.caption for t in together] == [a.caption for a in alone]
    for t, a in zip(together, alone):
        assert [x.label for x in t.actions] == [x.label for x in a.actions]
        assert all(math.isclose(x.score, y.score, rel_tol=1e-4, abs_tol=1e-6) for x, y in zip(t.actions, a.actions))


def test_requests_with_different_budgets_are_not_mixed(batching_worker):
    stub = batching_worker.connect()
    futures = [stub.Caption.future(caption_request(seq, max_new_tokens=4 + seq % 2)) for seq in range(4)]
    for f in futures:
        f.result(timeout=120)
    sizes = [batch_size(f) for f in futures]
    assert max(sizes) == 2, sizes  # two budgets, two requests each: never one call of four


def test_a_full_queue_is_refused_with_resource_exhausted(tiny_model_dir):
    # Four waiting requests with four different budgets (no two can share a call) fill a queue of four;
    # the long wait keeps them queued while the fifth arrives.
    w = InProcessWorker(worker_settings(tiny_model_dir, max_batch_size=4, max_wait_ms=1500, max_queue=4,
                                        warmup=False))
    try:
        w.call(w.app.start())
        stub = w.connect()
        queued = [stub.Caption.future(caption_request(seq, max_new_tokens=2 + seq)) for seq in range(4)]
        wait_until("four requests queued", lambda: len(w.app.engine.batcher.queue) == 4, 30, every_s=0.01)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Ask(inference_pb2.AskRequest(window=window_to_pb(frame_window(9)), question="Why?"))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "queue is full" in caught.value.details()
        assert all(f.result(timeout=120).error == "" for f in queued)  # the queued ones are still answered
        assert w.app.engine.batcher.stats.rejected == 1
    finally:
        w.close()
