"""Fixtures of the end-to-end tests: the running cluster (tests/support/cluster.py), the RTSP test
camera (tests/support/rtsp.py) and a short clip. Kafka and Redis come from tests/conftest.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cluster import _cluster_session, cluster  # noqa: F401
from tests.support.rtsp import rtsp_camera, rtsp_clip  # noqa: F401
from tests.support.video_fixtures import make_clip


@pytest.fixture(scope="session")
def e2e_clip(tmp_path_factory) -> Path:
    """4 s at 10 fps, 160x120: four 1-second windows."""
    return make_clip(tmp_path_factory.mktemp("e2e") / "clip.mp4", seconds=4.0, fps=10, size=(160, 120))
