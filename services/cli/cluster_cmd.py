"""``vila-stream cluster up|status|down``: the whole pipeline as local processes on loopback, without Docker.

``up`` starts Kafka, Redis, a worker per tier, the dispatcher and the summarizer, waits until each is healthy,
prints the endpoints and returns, leaving them running; ``status`` shows each one; ``down`` stops them.
The work is in ``services.cluster.launcher``; this module only parses flags and prints.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from services.cluster import launcher
from services.cluster.launcher import ClusterConfig, ComponentStatus
from services.summarizer.client import ADDRESS_ENV as SUMMARIZER_ADDRESS_ENV

_DEFAULTS = ClusterConfig.__dataclass_fields__  # the launcher's defaults are the README's ports


def _default(name: str):
    return _DEFAULTS[name].default


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("cluster", help="run the pipeline locally: Kafka, Redis, workers, dispatcher, summarizer",
                            description="Start, inspect or stop the local cluster (processes on loopback).")
    csub = parser.add_subparsers(dest="cluster_command", metavar="CLUSTER_COMMAND", required=True)

    start = csub.add_parser("up", help="start every component and wait until it is healthy",
                            description="Start Kafka, Redis, the workers, the dispatcher and the summarizer as "
                            "background processes, wait until each is healthy and print the endpoints.")
    _run_dir_flag(start)
    for flag, name, what in (
        ("--kafka-port", "kafka_port", "Kafka"), ("--kafka-controller-port", "kafka_controller_port",
                                                  "Kafka's KRaft controller"),
        ("--redis-port", "redis_port", "Redis"), ("--edge-port", "edge_port", "the edge worker (gRPC)"),
        ("--cloud-port", "cloud_port", "the cloud worker (gRPC)"),
        ("--summarizer-port", "summarizer_port", "the summarizer's vila.v1.Summaries (gRPC)"),
    ):
        start.add_argument(flag, dest=name, type=int, default=_default(name),
                           help=f"loopback port of {what} (default {_default(name)})")
    start.add_argument("--no-cloud", dest="cloud", action="store_false",
                       help="do not start the cloud worker (every stream goes to the edge tier)")
    start.add_argument("--model", default="", help="checkpoint directory for both workers (default: the embedded model)")
    start.add_argument("--timeout", type=float, default=_default("timeout_s"),
                       help="seconds each stage may take to become healthy (default %(default)s)")
    start.set_defaults(func=cluster_up)

    show = csub.add_parser("status", help="show each component: up or down, pid, endpoint, health")
    _run_dir_flag(show)
    show.set_defaults(func=cluster_status)

    stop = csub.add_parser("down", help="stop every component (last started first)")
    _run_dir_flag(stop)
    stop.add_argument("--timeout", type=float, default=30.0,
                      help="seconds each component gets to stop before it is killed (default %(default)s)")
    stop.set_defaults(func=cluster_down)


def _run_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="folder for logs, pids and data (default ~/.cache/vila-stream/cluster)")


def cluster_up(args: argparse.Namespace) -> int:
    from services.cli.outputs import check_output_dir

    if args.run_dir:  # the default one is created with its parents; a typed one must be in an existing folder
        check_output_dir("--run-dir", args.run_dir)
    fields = {name: getattr(args, name) for name in ("kafka_port", "kafka_controller_port", "redis_port",
                                                      "edge_port", "cloud_port", "summarizer_port", "cloud", "model")}
    config = ClusterConfig(timeout_s=args.timeout, **fields,
                           **({"run_dir": args.run_dir} if args.run_dir else {}))
    print(f"starting the local cluster in {config.run_dir} ...", file=sys.stderr)
    statuses, started = launcher.up(config)
    print_started(config, statuses, started)
    return 0


def print_started(config: ClusterConfig, statuses: list[ComponentStatus], started: bool,
                  out: TextIO | None = None) -> None:
    """What ``up`` prints: the table, the environment a client needs (the variables the CLI, ingest and the
    summarizer client read) and how to stop this cluster (with its ``--run-dir`` when not the default)."""
    out = out or sys.stdout
    if not started:
        print(f"the cluster is already running (run dir {config.run_dir}):", file=out)
    print_table(statuses, out)
    print(f"\nclients: VILA_KAFKA_BOOTSTRAP={config.kafka_bootstrap} VILA_REDIS_URL={config.redis_url} "
          f"{SUMMARIZER_ADDRESS_ENV}={config.host}:{config.summarizer_port}", file=out)
    print(f"logs: {config.run_dir}/<component>.log; stop with `{launcher.stop_command(config.run_dir)}`", file=out)


def cluster_status(args: argparse.Namespace) -> int:
    """Exit 0 when every recorded component is up and healthy, 1 otherwise (none recorded included)."""
    statuses = launcher.status(args.run_dir)
    if not statuses:
        print("the local cluster is not running (nothing recorded in the run directory)")
        return 1
    print_table(statuses)
    return 0 if all(s.running and s.healthy for s in statuses) else 1


def cluster_down(args: argparse.Namespace) -> int:
    stopped = launcher.down(args.run_dir, timeout=args.timeout)
    print(f"stopped: {', '.join(stopped)}" if stopped else "the local cluster was not running")
    return 0


def print_table(statuses: list[ComponentStatus], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    rows = [("COMPONENT", "STATE", "PID", "ENDPOINT", "HEALTH")]
    for s in statuses:
        state = "up" if s.running and s.healthy else ("unhealthy" if s.running else "down")
        rows.append((s.name, state, str(s.pid or "-"), s.endpoint or "-", s.health))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
