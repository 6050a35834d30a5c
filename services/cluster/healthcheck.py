"""Health probes for services without a shell: gRPC health, and Kafka for the services that have no port.

As a library: ``check("127.0.0.1:50051", "vila.v1.Inference")`` returns the gRPC status name ("SERVING",
"NOT_SERVING", "SERVICE_UNKNOWN", ...) or "UNREACHABLE"; ``check_kafka(bootstrap, group)`` returns
"OK", "NO_MEMBERS" (the consumer group has nobody consuming) or "UNREACHABLE". As a command (docker-compose
health checks, shell scripts)::

    python -m services.cluster.healthcheck HOST:PORT [--service vila.v1.Inference] [--timeout 3]
    python -m services.cluster.healthcheck --kafka BOOTSTRAP [--group vila-dispatcher] [--timeout 3]

prints the status and exits 0 only when it is SERVING (gRPC) or OK (Kafka).
"""
from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

UNREACHABLE = "UNREACHABLE"


def check(address: str, service: str = "", timeout: float = 3.0) -> str:
    """The health status name of ``service`` ("" = the whole server) at ``address``; never raises on a bad server."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return "SERVICE_UNKNOWN"
            return UNREACHABLE
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def check_kafka(bootstrap: str, group: str = "", timeout: float = 3.0) -> str:
    """"OK" when the broker answers and, if ``group`` is given, that consumer group is Stable with members.

    For a consumer without a port (the dispatcher) a Stable group with members means it has joined and
    consumes; "NO_MEMBERS" otherwise. "UNREACHABLE" when the broker does not answer in ``timeout`` s.
    """
    from core.transport.kafka_probe import group_state  # imported here: only the Kafka check needs it

    return group_state(bootstrap, group, timeout, client_id="vila-healthcheck")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command's arguments; exits with a usage error unless exactly one of HOST:PORT and --kafka is given."""
    parser = argparse.ArgumentParser(prog="python -m services.cluster.healthcheck",
                                     description="exit 0 when a gRPC server reports SERVING, or when Kafka "
                                     "answers and a consumer group has members")
    parser.add_argument("address", nargs="?", help="HOST:PORT of the gRPC server")
    parser.add_argument("--service", default="", help="gRPC service name to ask about ('' = the server)")
    parser.add_argument("--kafka", default="", metavar="BOOTSTRAP", help="check Kafka at BOOTSTRAP instead")
    parser.add_argument("--group", default="", help="with --kafka: this consumer group must have members")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    args = parser.parse_args(argv)
    if bool(args.address) == bool(args.kafka):
        parser.error("give either HOST:PORT (gRPC) or --kafka BOOTSTRAP")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.kafka:
        status = check_kafka(args.kafka, args.group, args.timeout)
        print(f"kafka {args.kafka} {('group ' + args.group) if args.group else ''}: {status}")
        return 0 if status == "OK" else 1
    status = check(args.address, args.service, args.timeout)
    print(f"{args.address} {args.service or '(server)'}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
