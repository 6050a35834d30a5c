"""Windowing defaults shared by the stages that cut windows and the tier that shows them to the model.

Ingest (the service and ``analyze``) cuts ``WINDOW_SECONDS``-long windows of ``FRAMES_PER_WINDOW`` frames;
the edge tier gives the model that many. It is the embedded default model's ``num_video_frames``, so with
default settings the cluster and ``analyze`` sample the same frames and a worker thins out nothing.
"""
from __future__ import annotations

WINDOW_SECONDS = 8.0
FRAMES_PER_WINDOW = 4
