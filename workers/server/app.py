"""The worker process: ``python -m workers`` serves ``vila.v1.Inference`` for one model and tier.

``WorkerApp.start()`` is the start-up, in order:

1. resolve the tier profile with this worker's overrides;
2. listen on the gRPC address, health NOT_SERVING (so launchers see the process early);
3. load the model as the tier says (device, dtype, quantisation, vision backend) in the model thread,
   while the event loop keeps answering health checks;
4. start the batching engine and attach it to the servicer;
5. warm up: one real forward pass on a synthetic window;
6. health SERVING for "" and ``vila.v1.Inference``; print ``ready ...`` on stderr.

``WorkerApp.stop()``: health NOT_SERVING, refuse new calls, let in-flight ones finish (``grace_s``),
answer whatever is still queued, release the threads. ``main`` runs it until SIGTERM/SIGINT and exits 0;
a bad setting exits 2 and a bad model 4, each with one line on stderr.
"""
from __future__ import annotations

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from core.signals import stop_event_on_signals
from core.startup import run_main
from core.transport.grpc_server import GrpcServer
from workers.runtime import VilaModel, default_model_path
from workers.engine.engine import InferenceEngine
from workers.server.servicer import SERVICE, SERVICE_NAME, InferenceServicer
from workers.server.settings import WorkerSettings, parse_settings
from workers.tiers import TierProfile, load_for_tier

log = logging.getLogger("vila.worker")


class WorkerApp:
    """One worker: a gRPC server, a model and its batching engine (see the module docstring)."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.tier: TierProfile | None = None
        self.server: GrpcServer | None = None
        self.engine: InferenceEngine | None = None
        self.servicer = InferenceServicer(settings.max_message_bytes)
        # The model is not thread-safe: exactly one thread runs it (loading included).
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vila-model")
        self._decode_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vila-decode")

    @property
    def target(self) -> str:
        """``host:port`` clients dial (the bound port when 0 was configured)."""
        return self.server.target

    async def start(self) -> None:
        """Steps 1-6 of the module docstring; ``InvalidInput``/``ModelError`` when a step cannot be done."""
        await self.listen()
        await self.prepare()
        await self.open()

    async def listen(self) -> None:
        """Resolve the tier, then accept connections with health NOT_SERVING (inference calls: UNAVAILABLE)."""
        self.tier = self.settings.resolve_tier()
        self.server = GrpcServer(self.settings.address, [SERVICE_NAME],
                                 max_receive_bytes=self.settings.transport_message_bytes)
        self.server.add_servicer(self.servicer, SERVICE)
        await self.server.start()

    async def prepare(self) -> None:
        """Load the model, start the engine, warm it up; health stays NOT_SERVING."""
        model = await self._load_model()
        self.tier = self.tier.fitted(model.info.video_frames)
        self.engine = InferenceEngine(model, self.tier, self.settings.engine_limits, model_executor=self._model_thread,
                                      decode_executor=self._decode_threads)
        self.engine.start()
        self.servicer.attach(self.engine)
        if self.settings.warmup:
            await self.engine.warmup()

    async def open(self) -> None:
        """Health SERVING; the ``ready`` line on stderr."""
        await self.server.set_serving()
        info = self.engine.info
        print(f"ready {SERVICE_NAME} on {self.target} tier={self.tier.name} model={info.model_id} "
              f"device={info.device} dtype={info.dtype} frames={self.tier.frames_per_window} "
              f"batch={self.tier.max_batch_size} "
              f"wait_ms={self.tier.max_wait_ms}", file=sys.stderr, flush=True)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(self.settings.grace_s)
        if self.engine is not None:
            await self.engine.close()
            log.info("batches: %s", self.engine.batcher.stats.snapshot())
        self._model_thread.shutdown(wait=False)
        self._decode_threads.shutdown(wait=False)

    async def _load_model(self) -> VilaModel:
        path = self.settings.model or None
        tier = self.tier
        log.info("loading %s on %s (%s, quantization %s, vision backend %s)", path or "the embedded default model",
                 tier.device, tier.dtype, tier.quantization, tier.vision_backend)

        def load() -> VilaModel:
            return load_for_tier(path or default_model_path(), tier)

        return await asyncio.get_running_loop().run_in_executor(self._model_thread, load)


async def serve(settings: WorkerSettings) -> None:
    """Run a worker until SIGTERM/SIGINT, then stop it gracefully (also when the signal comes mid-start)."""
    stop = stop_event_on_signals()
    app = WorkerApp(settings)
    starting = asyncio.create_task(app.start())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # start-up errors surface here
            await stopping
        else:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    finally:
        stopping.cancel()
        await app.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m workers``; the exit status."""
    return run_main("vila-worker", parse_settings, serve, argv)
