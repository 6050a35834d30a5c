"""``InferenceServicer``: ``vila.v1.Inference`` over gRPC, translating protobuf <-> domain types, nothing more.

Every handler: refuse when the engine is not ready (UNAVAILABLE), check the request's size against the
logical limit (INVALID_ARGUMENT: the transport admits up to twice that so that this check can run),
convert with ``core.convert``, await the engine, convert back. Errors become statuses through the one
map of every servicer (``core.transport.grpc_errors.mapped``): a ``VilaError`` its ``grpc_code`` and
"reason: message", anything else INTERNAL and one line, so a bug never takes the server down.
Each answer carries trailing metadata ``vila-batch-size`` (requests in the model call that served it).
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import grpc
from vila.v1 import inference_pb2, inference_pb2_grpc, results_pb2

from core.convert import actions_to_pb, result_to_pb, window_from_pb
from core.errors import InvalidRequest, Unavailable
from core.ids import shown
from core.transport.grpc_errors import mapped
from core.types import FrameWindow
from core.windowing import window_problem
from workers.engine.batcher import Batched
from workers.engine.engine import InferenceEngine

SERVICE = inference_pb2.DESCRIPTOR.services_by_name["Inference"]
SERVICE_NAME = SERVICE.full_name
BATCH_SIZE_KEY = "vila-batch-size"

Handler = Callable[["InferenceServicer", object, grpc.aio.ServicerContext], Awaitable[object]]


def _guard(handler: Handler) -> Handler:
    """Readiness and size check of every RPC, inside the one error map."""

    @mapped("vila.worker.grpc")
    @functools.wraps(handler)
    async def wrapper(self: "InferenceServicer", request, context: grpc.aio.ServicerContext):
        if self.engine is None:
            raise Unavailable("the model is still loading; retry when health reports SERVING")
        size = request.ByteSize()
        if size > self.max_message_bytes:
            raise InvalidRequest(f"request is {size} bytes; this worker accepts at most "
                                 f"{self.max_message_bytes} (max_message_mb)")
        return await handler(self, request, context)

    return wrapper


def _answer(context: grpc.aio.ServicerContext, done: Batched) -> None:
    context.set_trailing_metadata(((BATCH_SIZE_KEY, str(done.batch_size)),))


class InferenceServicer(inference_pb2_grpc.InferenceServicer):
    """Serves the engine once ``attach``-ed; until then every RPC answers UNAVAILABLE."""

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self.engine: InferenceEngine | None = None

    def attach(self, engine: InferenceEngine) -> None:
        self.engine = engine

    @_guard
    async def Caption(self, request: inference_pb2.CaptionRequest, context) -> results_pb2.WindowResult:
        done = await self.engine.caption(_window(request), prompt=request.prompt,
                                         labels=tuple(request.labels), max_new_tokens=request.max_new_tokens)
        _answer(context, done)
        return result_to_pb(done.value)

    @_guard
    async def RecognizeActions(self, request: inference_pb2.RecognizeActionsRequest,
                               context) -> inference_pb2.RecognizeActionsResponse:
        window = _window(request)
        done = await self.engine.recognize_actions(window, tuple(request.labels), request.question)
        _answer(context, done)
        return inference_pb2.RecognizeActionsResponse(window=_ref(window), actions=actions_to_pb(done.value))

    @_guard
    async def Ask(self, request: inference_pb2.AskRequest, context) -> inference_pb2.AskResponse:
        window = _window(request)
        done = await self.engine.ask(window, request.question, request.max_new_tokens)
        _answer(context, done)
        return inference_pb2.AskResponse(window=_ref(window), answer=done.value)

    @_guard
    async def SummarizeText(self, request: inference_pb2.SummarizeTextRequest,
                            context) -> inference_pb2.SummarizeTextResponse:
        done = await self.engine.summarize_text(request.text, request.instruction, request.max_new_tokens)
        _answer(context, done)
        return inference_pb2.SummarizeTextResponse(summary=done.value)

    @_guard
    async def Info(self, request: inference_pb2.InfoRequest, context) -> inference_pb2.InfoResponse:
        info, tier = self.engine.info, self.engine.tier
        return inference_pb2.InfoResponse(
            model_id=info.model_id, family=info.family, tier=tier.name, vision_tower=info.vision_tower,
            projector=info.projector, template=info.template, tokens_per_frame=info.tokens_per_frame,
            parameters=info.parameters, dtype=info.dtype, device=info.device,
            frames_per_window=tier.frames_per_window, max_batch_size=tier.max_batch_size,
            queued=len(self.engine.batcher.queue),
        )


def _window(request) -> FrameWindow:
    """The request's window; InvalidRequest when ``core.windowing.window_problem`` finds it impossible (ids
    against the rules, a NaN, negative or reversed span; empty ids are a direct caller's right). Frames: the
    engine's rule, as in local mode."""
    window = window_from_pb(request.window)
    if problem := window_problem(window, ids_optional=True):
        raise InvalidRequest(f"window {shown(window.window_id)}: {problem}")
    return window


def _ref(window: FrameWindow) -> results_pb2.WindowRef:
    return results_pb2.WindowRef(stream_id=window.stream_id, window_id=window.window_id, seq=window.seq,
                                 start=window.start, end=window.end)
