"""The local cluster's folders sit under the project's cache root (``$VILA_STREAM_HOME``)."""
from __future__ import annotations

from services.cluster.paths import default_run_dir, kafka_home


def test_the_cluster_folders_follow_vila_stream_home(monkeypatch, tmp_path):
    monkeypatch.setenv("VILA_STREAM_HOME", str(tmp_path))
    assert (kafka_home("3.9.0"), default_run_dir()) == (tmp_path / "kafka-3.9.0", tmp_path / "cluster")
