"""The cluster path against the local path, on the same clip, in the same run.

    python -m bench.cluster_bench [--seconds 30] [--window-seconds 1] [--tier edge] [--batch-size 1]

local    ``services.analyze.LocalPipeline``: ingest thread -> bounded queue -> the ``InferenceEngine`` in-process (``LocalEngine``).
         Latency per window = the model call that analysed it (``WindowResult.latency_ms``).
cluster  a local cluster started for the run with ``services.cluster.launcher`` (Kafka, Redis, the tier's
         worker, dispatcher, summarizer on free loopback ports). Latency per window = from the window
         record's Kafka timestamp (set when ingest published it) to the moment its timeline entry reaches a
         ``vila.v1.Summaries`` Watch client (the summarizer pushes it right after the Redis write), so it
         covers Kafka -> dispatcher -> gRPC worker (model call included) -> Kafka -> summarizer -> Redis.
         * burst: the whole clip through ``python -m ingest``'s code at file speed; windows/s = windows
           / (last entry in Redis - ingest start). Latency includes queueing behind earlier windows.
         * paced: the same windows published one per window period, like a live camera; latency is
           the cost of the path itself, with no backlog.
added    cluster paced minus local, per percentile.

Not a test: the numbers depend on the machine, which is printed with them.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
from vila.v1 import summaries_pb2, summaries_pb2_grpc

import ingest
from bench.ingest_bench import machine
from services.cluster import free_port
from services.cluster.launcher import ClusterConfig, down, up
from core import topics
from core.transport import kafka as kt


@dataclass
class Run:
    name: str
    windows: int
    wall_s: float
    latencies_ms: list[float] = field(default_factory=list)

    def row(self) -> str:
        p50, p99 = np.percentile(self.latencies_ms, [50, 99]) if self.latencies_ms else (float("nan"),) * 2
        return (f"{self.name:<16} {self.windows:>7} {self.wall_s:>8.2f} {self.windows / self.wall_s:>10.2f} "
                f"{p50:>10.1f} {p99:>10.1f}")


class Watcher:
    """A Watch client that notes when each window's timeline entry arrives (unix seconds)."""

    def __init__(self, address: str, stream_id: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.call = summaries_pb2_grpc.SummariesStub(self.channel).Watch(
            summaries_pb2.WatchRequest(stream_ids=[stream_id]))
        self.call.initial_metadata()  # the summarizer's starting point is fixed: nothing is missed
        self.arrived: dict[str, float] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for update in self.call:
                if update.HasField("entry"):
                    self.arrived.setdefault(update.entry.window_id, time.time())
        except grpc.RpcError:
            pass

    def wait(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.arrived) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(self.arrived)} of {count} windows reached Redis in {timeout_s} s")
            time.sleep(0.05)
        self.call.cancel()
        self.channel.close()


def local_run(clip: Path, config: ingest.IngestConfig, tier_name: str, batch_size: int) -> Run:
    from services.analyze import LocalPipeline, PipelineOptions
    from workers.engine.local import LocalEngine
    from workers.runtime import default_model_path, load_model
    from workers.tiers import get_tier

    tier = get_tier(tier_name)
    model = load_model(default_model_path(), device=tier.device, dtype=tier.dtype)
    with LocalEngine(model, tier) as engine:
        engine.run(list(ingest.iter_windows(str(clip), "warmup", config))[:1])  # first-call costs out of the way
        options = PipelineOptions(source=str(clip), stream_id="local", ingest=config, batch_size=batch_size)
        began = time.perf_counter()
        outcome = LocalPipeline(engine, options, model_id=model.info.model_id).run(threading.Event())
        wall = time.perf_counter() - began
    return Run(f"local ({tier_name})", len(outcome.results), wall, [r.latency_ms for r in outcome.results])


def published_at(bootstrap: str, stream_id: str) -> dict[str, float]:
    """window id -> the Kafka timestamp of its record on vila.windows.v1 (unix seconds)."""
    from core.transport.topic_reader import read_topic  # reads a topic without a group

    return {kt.decode_window(r.value).window_id: r.timestamp / 1000.0
            for r in read_topic(bootstrap, topics.WINDOWS, key=stream_id)}


def cluster_burst(cluster: ClusterConfig, clip: Path, config: ingest.IngestConfig, timeout_s: float) -> Run:
    from ingest.service.app import IngestApp
    from ingest.service.settings import IngestSettings
    from ingest.service.streams import StreamSpec

    stream_id = f"bench-burst-{uuid.uuid4().hex[:6]}"
    watcher = Watcher(f"{cluster.host}:{cluster.summarizer_port}", stream_id)
    settings = IngestSettings(kafka_bootstrap=cluster.kafka_bootstrap, queue_size=64, stats_interval_s=0)
    began = time.time()
    app = IngestApp(settings, [StreamSpec(stream_id, str(clip), config)])
    if app.run(threading.Event()) != 0:
        raise RuntimeError("ingest failed")
    sent = published_at(cluster.kafka_bootstrap, stream_id)
    watcher.wait(len(sent), timeout_s)
    latencies = [(watcher.arrived[w] - t) * 1000.0 for w, t in sent.items()]
    return Run("cluster burst", len(sent), max(watcher.arrived.values()) - began, latencies)


def cluster_paced(cluster: ClusterConfig, clip: Path, config: ingest.IngestConfig, timeout_s: float) -> Run:
    stream_id = f"bench-paced-{uuid.uuid4().hex[:6]}"
    windows = list(ingest.iter_windows(str(clip), stream_id, config))
    watcher = Watcher(f"{cluster.host}:{cluster.summarizer_port}", stream_id)
    producer = kt.make_producer(cluster.kafka_bootstrap, client_id="bench")
    began = time.time()
    for window in windows:  # one window per period, as a live camera delivers them
        time.sleep(max(0.0, began + window.end - time.time()))
        producer.send(topics.WINDOWS, key=kt.stream_key(stream_id), value=kt.encode_window(window)).get(30)
    producer.close()
    sent = published_at(cluster.kafka_bootstrap, stream_id)
    watcher.wait(len(sent), timeout_s)
    latencies = [(watcher.arrived[w] - t) * 1000.0 for w, t in sent.items()]
    return Run("cluster paced", len(sent), max(watcher.arrived.values()) - began, latencies)


def start_cluster(run_dir: Path, tier: str) -> ClusterConfig:
    os.environ["VILA_DISPATCHER_DEFAULT_TIER"] = tier  # inherited by the launcher's dispatcher
    config = ClusterConfig(run_dir=run_dir, kafka_port=free_port(), kafka_controller_port=free_port(),
                           redis_port=free_port(), edge_port=free_port(), cloud_port=free_port(),
                           summarizer_port=free_port(), cloud=(tier == "cloud"))
    up(config)
    return config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the generated clip")
    ap.add_argument("--window-seconds", type=float, default=1.0)
    ap.add_argument("--tier", choices=("edge", "cloud"), default="edge")
    ap.add_argument("--batch-size", type=int, default=1, help="windows per model call of the local path")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the cluster's results")
    args = ap.parse_args(argv)

    from services.demo.clip import write_demo_clip
    from workers.tiers import get_tier

    frames = get_tier(args.tier).frames_per_window
    config = ingest.IngestConfig(window_seconds=args.window_seconds, frames_per_window=frames)
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_demo_clip(Path(tmp) / "clip.mp4", seconds=args.seconds, fps=10)
        local = local_run(clip, config, args.tier, args.batch_size)
        cluster = start_cluster(Path(tmp) / "cluster", args.tier)
        try:
            burst = cluster_burst(cluster, clip, config, args.timeout)
            paced = cluster_paced(cluster, clip, config, args.timeout)
        finally:
            down(cluster.run_dir)

    print(f"machine: {machine()}{gpu()}")
    print(f"clip: generated {args.seconds:g} s, 320x240 @ 10 fps; windows of {args.window_seconds:g} s, "
          f"{frames} frames; tier {args.tier}, the embedded default model; local batch size {args.batch_size}")
    header = f"{'path':<16} {'windows':>7} {'wall s':>8} {'windows/s':>10} {'p50 ms':>10} {'p99 ms':>10}"
    print(header)
    print("-" * len(header))
    for run in (local, burst, paced):
        print(run.row())
    lp50, lp99 = np.percentile(local.latencies_ms, [50, 99])
    cp50, cp99 = np.percentile(paced.latencies_ms, [50, 99])
    print(f"{'added (paced-local)':<16} {'':>7} {'':>8} {'':>10} {cp50 - lp50:>10.1f} {cp99 - lp99:>10.1f}")
    print("local latency = the model call; cluster latency = window published to Kafka -> entry in Redis "
          "(seen by a Watch client); burst = whole file at once (queueing included), paced = one window per period.")
    return 0


def gpu() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f", GPU {torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    except Exception:  # noqa: BLE001 - the machine line is informative only
        pass
    return ""


if __name__ == "__main__":
    sys.exit(main())
