"""Write a scene as a video file (H.264 in MP4 by default), every frame at the plan's size and rate.

Used by the end-to-end tests and the demo: ``vila-stream analyze`` on the file
sees the scene through the real decode, sampling and JPEG path.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from workers.training.scenes.render import render_frame
from workers.training.scenes.spec import ScenePlan


def write_clip(plan: ScenePlan, path: str | Path, *, codec: str = "libx264", crf: int = 18) -> Path:
    """Encode every frame of ``plan`` into ``path`` (yuv420p, pts 0, 1, ... in a 1/fps time base)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(plan.fps)
    options = {"crf": str(crf), "preset": "veryfast"} if codec == "libx264" else {}
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, options=options)
        stream.width, stream.height = plan.width, plan.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = 1 / rate
        for i in range(plan.frames):
            frame = av.VideoFrame.from_ndarray(render_frame(plan, i), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
