"""One core: the same windows through ``analyze``'s in-process engine and through a worker over gRPC give
the same results, field by field, and the same refusal for a window neither can analyse."""
from __future__ import annotations

from dataclasses import asdict, replace

import grpc
import pytest
from vila.v1 import inference_pb2

from core.convert import result_from_pb, result_to_pb, window_to_pb
from core.labels import DEFAULT_ACTION_LABELS
from core.types import Frame
from tests.workers.server.harness import InProcessWorker, frame_window, worker_settings
from workers.engine.limits import MAX_FRAMES_PER_WINDOW
from workers.engine.local import LocalEngine
from workers.tiers import get_tier, load_for_tier


def windows():
    good = [frame_window(seq, count=count) for seq, count in ((0, 6), (1, 3), (2, 9))]
    bad_jpeg = frame_window(3, count=4)
    bad_jpeg = replace(bad_jpeg, frames=bad_jpeg.frames[:2] + (Frame(b"\xff\xd8 not a jpeg", 0.5, 64, 48),)
                       + bad_jpeg.frames[3:])
    long = frame_window(4, count=2)
    too_long = replace(long, frames=long.frames * ((MAX_FRAMES_PER_WINDOW // 2) + 1))
    empty = replace(frame_window(5), frames=())
    return [*good, bad_jpeg, too_long, empty]


@pytest.fixture(scope="module")
def worker(tiny_model_dir):
    # the worker's defaults (tier edge, its frame limit); a message large enough for the long window, and time
    # enough for the three good windows to meet in one batch on a busy machine
    w = InProcessWorker(worker_settings(tiny_model_dir, max_message_mb=64, max_wait_ms=2000))
    w.call(w.app.start())
    yield w
    w.close()


def test_analyze_and_a_worker_give_the_same_results(worker, tiny_model_dir):
    sent = windows()
    # analyze: the tier's model load, fitted to the checkpoint, the default labels, the engine in-process
    tier = get_tier("edge")
    model = load_for_tier(tiny_model_dir, tier)
    with LocalEngine(model, tier.fitted(model.info.video_frames), DEFAULT_ACTION_LABELS) as engine:
        local = engine.run(sent)
    stub = worker.connect()
    # all at once, as a dispatcher sends them: the worker batches the good ones together, as analyze did
    # (a batch of other windows may differ in a score's last float32 bit)
    calls = [stub.Caption.future(inference_pb2.CaptionRequest(window=window_to_pb(w),
                                                               labels=list(DEFAULT_ACTION_LABELS)), timeout=120)
             for w in sent]
    checked = {"results": 0, "refusals": 0}
    for window, mine, call in zip(sent, local, calls):
        try:
            reply = call.result()
        except grpc.RpcError as refused:
            assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert mine.error == refused.details() and mine.error.startswith("invalid-request: ")
            assert mine.caption == "" and mine.actions == ()
            checked["refusals"] += 1
            continue
        assert mine.error == ""
        # compared as both cross the wire (scores are float32 there), the model time aside
        same = asdict(result_from_pb(result_to_pb(mine))) | {"latency_ms": 0}
        assert asdict(result_from_pb(reply)) | {"latency_ms": 0} == same, window.window_id
        checked["results"] += 1
    assert checked == {"results": 3, "refusals": 3}
    assert [r.error for r in local[3:]] == [
        "invalid-request: frame 2 is not a decodable JPEG",
        f"invalid-request: window has {MAX_FRAMES_PER_WINDOW + 2} frames; at most {MAX_FRAMES_PER_WINDOW} "
        "are accepted (max_frames)",
        "invalid-request: window has no frames"]
