"""Fixtures of the ingest tests: the RTSP test camera (tests/support/rtsp.py).

The synthetic clips (``clip_dir``, ``make_clip``) come from tests/support/video_fixtures.py
through tests/conftest.py.
"""
from tests.support.rtsp import rtsp_camera, rtsp_clip  # noqa: F401
