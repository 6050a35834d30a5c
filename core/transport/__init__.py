"""Transport adapters shared by the deployables: gRPC server plumbing (``grpc_server``) and Kafka (``kafka``).

Adapters only convert and await; they import no deployable, so every service can use them.
"""
