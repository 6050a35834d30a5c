"""The worker's gRPC server: settings, batching engine, servicer and the process (``python -m workers``).

Layers, inside out: ``workers.engine`` (the batcher and the validated, batched model
operations in domain types) -> ``servicer`` (protobuf <-> domain, status codes) -> ``app`` (start-up,
health, shutdown). ``core.transport.grpc_server`` provides the shared server plumbing.
"""
