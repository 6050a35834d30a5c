"""The one inference core: validated, batched model operations in domain types, with no sockets.

``InferenceEngine`` (``engine.py``) is what both modes run: the worker serves it over gRPC
(``workers.server``), and ``vila-stream analyze`` runs it in-process (``services.analyze``).
``Batcher`` (``batcher.py``) is its scheduling policy, with no I/O.
"""
