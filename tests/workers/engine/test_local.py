"""LocalEngine: the InferenceEngine in-process, FrameWindows to WindowResults, with per-window errors."""
from __future__ import annotations

import io
import math
from dataclasses import replace

from PIL import Image

from core.types import Frame, FrameWindow
from tests.support.model_fixtures import jpeg_bytes, scene_frames
from core.labels import DEFAULT_ACTION_LABELS
from workers.engine.local import LocalEngine
from workers.runtime.frames import window_indices
from workers.tiers import get_tier


def run(model, tier, windows, labels=DEFAULT_ACTION_LABELS):
    with LocalEngine(model, tier, labels) as engine:
        return engine.run(windows)


def window(seq: int, count: int = 6, *, bad: int | None = None) -> FrameWindow:
    frames = []
    for i, image in enumerate(scene_frames(count, seed=seq)):
        data = b"\xff\xd8 not really a jpeg" if i == bad else jpeg_bytes(image)
        frames.append(Frame(jpeg=data, pts=seq * 2.0 + i * 0.25, width=image.width, height=image.height))
    return FrameWindow(stream_id="cam", window_id=f"w{seq}", seq=seq, start=seq * 2.0, end=seq * 2.0 + 2.0,
                       frames=tuple(frames), activity=0.1 * seq)


def test_window_indices():
    assert window_indices(3, 4) == [0, 1, 2]
    assert window_indices(9, 4) == [0, 3, 5, 8]
    assert window_indices(10, 1) == [5]
    # the rule the two removed copies (the local runner's and the worker's) both applied
    for count in range(1, 80):
        for wanted in range(1, 20):
            old = (list(range(count)) if count <= wanted else [count // 2] if wanted == 1
                   else [round(i * (count - 1) / (wanted - 1)) for i in range(wanted)])
            assert window_indices(count, wanted) == old, (count, wanted)


def test_results_fill_every_field(tiny_model):
    tier = get_tier("edge")
    windows = [window(i) for i in range(3)]
    results = run(tiny_model, tier, windows)
    assert [r.window_id for r in results] == ["w0", "w1", "w2"]
    for w, r in zip(windows, results):
        assert r.error == "" and isinstance(r.caption, str)
        assert (r.stream_id, r.seq, r.start, r.end, r.activity) == (w.stream_id, w.seq, w.start, w.end, w.activity)
        assert r.tier == "edge" and r.model_id == tiny_model.info.model_id and r.latency_ms > 0
        assert r.thumbnail_jpeg == w.frames[len(w.frames) // 2].jpeg
        assert sorted(a.label for a in r.actions) == sorted(DEFAULT_ACTION_LABELS)
        assert math.isclose(sum(a.score for a in r.actions), 1.0, abs_tol=1e-5)
    # the engine feeds tier.frames_per_window uniformly sampled frames to the model
    frames = [Image.open(io.BytesIO(windows[0].frames[i].jpeg)).convert("RGB")
              for i in window_indices(6, tier.frames_per_window)]
    assert results[0].caption == tiny_model.caption([frames], max_new_tokens=tier.max_new_tokens)[0]


def test_bad_jpeg_and_empty_window_fail_alone(tiny_model):
    windows = [window(0), window(1, count=4, bad=3), window(2), replace(window(3), frames=())]
    results = run(tiny_model, get_tier("edge"), windows)
    assert [r.window_id for r in results] == ["w0", "w1", "w2", "w3"]
    assert results[1].error == "invalid-request: frame 3 is not a decodable JPEG"
    assert results[1].caption == "" and results[1].actions == ()
    assert results[3].error == "invalid-request: window has no frames"
    assert results[0].error == results[2].error == ""
    good = run(tiny_model, get_tier("edge"), [window(0), window(2)])
    assert [r.caption for r in good] == [results[0].caption, results[2].caption]


def test_batch_size_does_not_change_results(tiny_model):
    windows = [window(i, count=3 + i % 4) for i in range(5)]
    small = replace(get_tier("edge"), max_batch_size=2)
    big = replace(get_tier("edge"), max_batch_size=8)
    a = run(tiny_model, small, windows, ["a car", "a dog"])
    b = run(tiny_model, big, windows, ["a car", "a dog"])
    assert [r.caption for r in a] == [r.caption for r in b]
    assert [[(x.label, round(x.score, 5)) for x in r.actions] for r in a] == \
           [[(x.label, round(x.score, 5)) for x in r.actions] for r in b]


def test_window_too_long_for_the_model_fails_alone(tiny_model):
    tier = replace(get_tier("edge"), frames_per_window=200, max_batch_size=4)
    results = run(tiny_model, tier, [window(0, count=3), window(1, count=200)], ["a car", "a dog"])
    assert results[0].error == "" and results[0].caption == run(
        tiny_model, tier, [window(0, count=3)], ["a car", "a dog"])[0].caption
    assert results[1].error.startswith("invalid-request:") and "too many frames" in results[1].error


def test_windows_share_model_calls_up_to_the_tier_batch(tiny_model):
    tier = replace(get_tier("edge"), max_batch_size=4)
    with LocalEngine(tiny_model, tier, ["a car"]) as engine:
        engine.run([window(i) for i in range(6)])
        assert engine.engine.batcher.stats.snapshot()["sizes"] == {2: 1, 4: 1}


def test_frame_limit_is_the_engines(tiny_model):
    from workers.engine.limits import EngineLimits

    with LocalEngine(tiny_model, get_tier("edge"), ["a car"], limits=EngineLimits(max_frames=5)) as engine:
        results = engine.run([window(0, count=5), window(1, count=6)])
    assert results[0].error == ""
    assert results[1].error == "invalid-request: window has 6 frames; at most 5 are accepted (max_frames)"


def test_generate_is_the_engines_summarize_text_of_the_same_prompt(tiny_model):
    """``analyze --summary model`` goes through the engine (as the worker's SummarizeText does), not around it."""
    from services.aggregation.summary import timeline_prompt
    from core.types import Segment

    prompt = timeline_prompt([Segment(stream_id="cam", start=0.0, end=2.0, caption="a red circle moves up")])
    with LocalEngine(tiny_model, get_tier("edge")) as engine:
        texts = engine.generate([prompt])
        assert engine.engine.batcher.stats.snapshot()["requests"] >= 1  # the engine ran it
    assert texts == tiny_model.generate_text([prompt], max_new_tokens=128)  # greedy: the same prompt's text
