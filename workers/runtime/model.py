"""``VilaModel``: captions, label scores, answers and text from a loaded VILA checkpoint.

Every operation takes a batch and runs one forward pass over all of it: the
vision tower over the tiles/frames of all requests, then the LLM over the
left-padded prompts. Decoding is greedy (deterministic) unless ``sampling`` is
given; a batch gives the same output as its requests one by one.

Prompts follow the checkpoint's family (``families``): the NVILA code (media
tokens, newline embeddings, one video token) or the legacy VILA1.5 code
(``-200`` placeholders, frames as images); see ``prompting`` and ``encoding``.

Failure modes: ``InvalidRequest`` for an empty window, a frame that is not a
PIL image, mismatched argument lengths, bad sampling values, or a prompt longer
than the model's context ("too many frames").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from PIL import Image

from core.errors import InvalidRequest
from core.types import ActionScore
from workers.runtime.counts import frame_tokens, newline_tokens
from workers.runtime.decoding import greedy_generate, mean_logprobs
from workers.runtime.encoding import MediaEncoder, MediaSettings
from workers.runtime.families import LEGACY
from workers.runtime.inputs import Batch, Segment, build_batch
from workers.runtime.media import MediaTokens
from workers.runtime.projectors import Projector
from workers.runtime.prompting import (
    IMAGE_TOKEN_INDEX,
    Part,
    Video,
    legacy_ids,
    legacy_message,
    nvila_message,
    strip_media,
)
from workers.runtime.sampling import Sampling
from workers.runtime.templates import Template
from workers.runtime.vision import ImageProcessor, VisionTower

CAPTION_PROMPT = "Describe what happens in this video in one sentence."
SCORE_QUESTION = "Which of these best describes what happens in the video: {options}? Answer with one of them."


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded.

    ``tokens_per_frame`` counts LLM positions per video frame (visual tokens + newline,
    after temporal pooling, rounded up); ``tokens_per_image`` the visual tokens of one
    square image at the tower's resolution (one tile; the 3x3 grid on dynamic S2).
    """

    model_id: str
    path: str
    family: str
    vision_tower: str
    projector: str
    template: str
    tokens_per_frame: int
    parameters: int
    dtype: str
    device: str
    tokens_per_image: int = 0
    layout: str = "llava_llama"
    video_frames: int = 8  # frames per video the checkpoint was trained on (its config's num_video_frames)


_strip_media = strip_media  # kept for callers of the first cut


def _check_budget(max_new_tokens: int) -> None:
    if max_new_tokens < 0:
        raise InvalidRequest(f"max_new_tokens must be >= 0, got {max_new_tokens}")


def _check_window(index: int, window: Sequence[Image.Image]) -> None:
    if len(window) == 0:
        raise InvalidRequest(f"window {index} has no frames")
    for f, frame in enumerate(window):
        if not isinstance(frame, Image.Image):
            raise InvalidRequest(f"window {index} frame {f} is not an image ({type(frame).__name__})")


class VilaModel:
    """A loaded checkpoint. Build it with ``workers.runtime.load_model``; not thread-safe."""

    def __init__(self, *, llm: torch.nn.Module, tokenizer: Any, tower: VisionTower, projector: Projector,
                 processor: ImageProcessor, template: Template, media: MediaTokens, model_id: str, path: str,
                 family: str, vision_batch: int = 64, settings: MediaSettings | None = None,
                 tokens_per_image: int | None = None, layout: str = "llava_llama", video_frames: int = 8) -> None:
        self.llm, self.tokenizer, self.tower, self.projector = llm, tokenizer, tower, projector
        self.processor, self.template, self.media = processor, template, media
        self.settings = settings or MediaSettings()
        self.vision_batch = vision_batch
        self.device = next(llm.parameters()).device
        self.dtype = next(llm.parameters()).dtype
        self._banned = torch.tensor(media.banned_ids, dtype=torch.long, device=self.device)
        self._newline_ids = tokenizer("\n").input_ids
        self._stop_strings = template.stop_strings(tokenizer)
        self._stop_ids, self._multi_stops = self._split_stops(self._stop_strings)
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self._stop_ids, default=0)
        limit = tokenizer.model_max_length if tokenizer.model_max_length < 10**9 else 10**9
        self.max_length = min(limit, int(getattr(llm.config, "max_position_embeddings", 10**9)))
        self.encoder = MediaEncoder(self.settings, tower, projector, processor, self._newline_embedding, vision_batch,
                                    device=self.device, dtype=self.dtype)
        self.legacy = self.settings.generation == LEGACY
        self._placeholders = (IMAGE_TOKEN_INDEX,) if self.legacy else (media.image_id, media.video_id)
        visual = projector.num_tokens(tower.num_tokens)
        per_frame = frame_tokens(visual, newline_tokens(tokenizer, self.legacy), self.settings.pool_sizes)
        params = sum(p.numel() for m in (llm, tower, projector) for p in m.parameters())
        self._info = ModelInfo(
            model_id=model_id, path=path, family=family, vision_tower=tower.name, projector=projector.type_name,
            template=template.name, tokens_per_frame=per_frame, parameters=params,
            dtype=str(self.dtype).removeprefix("torch."), device=str(self.device),
            tokens_per_image=tokens_per_image if tokens_per_image is not None else visual, layout=layout,
            video_frames=video_frames,
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    # ----------------------------------------------------------------- public operations
    @torch.inference_mode()
    def caption(self, windows: Sequence[Sequence[Image.Image]], *, prompt: str | None = None,
                max_new_tokens: int = 48, sampling: Sampling | None = None) -> list[str]:
        """One caption per window (greedy unless ``sampling``, at most ``max_new_tokens`` tokens)."""
        return self._answer(windows, [prompt or CAPTION_PROMPT] * len(windows), max_new_tokens, sampling)

    @torch.inference_mode()
    def ask(self, windows: Sequence[Sequence[Image.Image]], questions: Sequence[str], *,
            max_new_tokens: int = 48, sampling: Sampling | None = None) -> list[str]:
        """Answer ``questions[i]`` about ``windows[i]``; a single question applies to every window."""
        if len(questions) == 1 and len(windows) != 1:
            questions = list(questions) * len(windows)
        if len(questions) != len(windows):
            raise InvalidRequest(f"{len(questions)} questions for {len(windows)} windows")
        return self._answer(windows, list(questions), max_new_tokens, sampling)

    @torch.inference_mode()
    def generate_text(self, prompts: Sequence[str], *, max_new_tokens: int = 128,
                      sampling: Sampling | None = None) -> list[str]:
        """Text-only answers to ``prompts`` (rendered through the conversation template)."""
        return self.generate([[p] for p in prompts], max_new_tokens=max_new_tokens, sampling=sampling)

    @torch.inference_mode()
    def generate(self, prompts: Sequence[Sequence[Part]], *, max_new_tokens: int = 128,
                 sampling: Sampling | None = None) -> list[str]:
        """Answers to prompts made of text, images and :class:`Video` parts (image, multi-image, video)."""
        _check_budget(max_new_tokens)
        if not prompts:
            return []
        return self._decode(self._batch(self._segments(prompts), max_new_tokens), max_new_tokens, sampling)

    @torch.inference_mode()
    def score_labels(self, windows: Sequence[Sequence[Image.Image]], labels: Sequence[str], *,
                     question: str | None = None) -> list[list[ActionScore]]:
        """Per window, every label's probability of being the answer, best first.

        A label's score is the mean token log-likelihood of ``label`` + end-of-turn
        as the assistant's answer; scores are softmax-normalised over the labels.
        """
        if not labels or any(not label.strip() for label in labels):
            raise InvalidRequest("score_labels needs at least one non-empty label")
        if not windows:
            return []
        text = question or SCORE_QUESTION.format(options=", ".join(labels))
        batch = self._video_batch(windows, [text] * len(windows), extra_tokens=0)
        end = self._stop_ids[0] if self._stop_ids else None
        answers = []
        for label in labels:
            ids = self.tokenizer(self.template.answer_prefix + label, add_special_tokens=False).input_ids
            answers.append(list(ids) + ([end] if end is not None else []))
        probs = mean_logprobs(self.llm, batch, answers, banned=self._banned).softmax(dim=-1).tolist()
        results = []
        for row in probs:
            scores = [ActionScore(label=label, score=float(p)) for label, p in zip(labels, row)]
            results.append(sorted(scores, key=lambda s: -s.score))
        return results

    # ----------------------------------------------------------------- prompts and media
    def _segments(self, prompts: Sequence[Sequence[Part]]) -> list[Segment]:
        """Token ids and media blocks of every prompt; the tower runs once for the whole batch."""
        prepared = [self._prepare(i, parts) for i, parts in enumerate(prompts)]
        plans = [self.encoder.plan(parts) for parts in prepared]
        flat = self.encoder.encode([job for jobs in plans for job in jobs])
        segments, start = [], 0
        for parts, jobs in zip(prepared, plans):
            blocks = [b for blocks in flat[start:start + len(jobs)] for b in blocks]
            start += len(jobs)
            segments.append(Segment(self._ids(parts, [job.markup for job in jobs]), blocks=tuple(blocks)))
        return segments

    def _prepare(self, index: int, parts: Sequence[Part]) -> list[Part]:
        out: list[Part] = []
        for part in parts:
            if isinstance(part, Video):
                _check_window(index, part.frames)
                out.append(self.encoder.prepare_video(part))
            elif isinstance(part, (str, Image.Image)):
                out.append(part)
            else:
                raise InvalidRequest(f"prompt {index} has a part of type {type(part).__name__}; "
                                     "expected text, a PIL image or a Video")
        return out

    def _ids(self, parts: Sequence[Part], markup: list[str]) -> list[int]:
        if self.legacy:
            return legacy_ids(self.tokenizer, self.template.render(self.tokenizer, legacy_message(parts)))
        return self._prompt_ids(nvila_message(parts, markup))

    def _prompt_ids(self, message: str) -> list[int]:
        return list(self.tokenizer(self.template.render(self.tokenizer, message)).input_ids)

    def _newline_embedding(self) -> torch.Tensor:
        ids = torch.tensor(self._newline_ids, dtype=torch.long, device=self.device)
        return self.llm.get_input_embeddings()(ids)

    # ----------------------------------------------------------------- internals
    def _split_stops(self, stops: Sequence[str]) -> tuple[list[int], list[str]]:
        ids: list[int] = []
        multi: list[str] = []
        for text in stops:
            encoded = self.tokenizer(text, add_special_tokens=False).input_ids
            if len(encoded) == 1:
                ids.append(encoded[0])
            else:
                multi.append(text)
        eos = self.llm.generation_config.eos_token_id if self.llm.generation_config is not None else None
        for extra in ([eos] if isinstance(eos, int) else list(eos or [])) + [self.tokenizer.eos_token_id]:
            if extra is not None and extra not in ids:
                ids.append(int(extra))
        return ids, multi

    def _answer(self, windows: Sequence[Sequence[Image.Image]], questions: list[str], max_new_tokens: int,
                sampling: Sampling | None) -> list[str]:
        _check_budget(max_new_tokens)
        if not windows:
            return []
        batch = self._video_batch(windows, questions, extra_tokens=max_new_tokens)
        return self._decode(batch, max_new_tokens, sampling)

    def _video_batch(self, windows: Sequence[Sequence[Image.Image]], questions: list[str], extra_tokens: int) -> Batch:
        for w, window in enumerate(windows):
            _check_window(w, window)
        prompts = [[Video(list(window)), question] for window, question in zip(windows, questions)]
        return self._batch(self._segments(prompts), extra_tokens)

    def _batch(self, segments: list[Segment], extra_tokens: int) -> Batch:
        for i, segment in enumerate(segments):
            needed = self._positions(segment) + extra_tokens
            if needed > self.max_length:
                raise InvalidRequest(f"request {i} needs {needed} positions but the model holds "
                                     f"{self.max_length}: too many frames or too long a prompt")
        embed = self.llm.get_input_embeddings()
        return build_batch(segments, self.media.video_id, embed, self._newline_embedding(),
                           placeholders=self._placeholders)

    def _positions(self, segment: Segment) -> int:
        if segment.video is not None:
            frames, tokens, _ = segment.video.shape
            return len(segment.ids) - 1 + frames * (tokens + len(self._newline_ids))
        slots = sum(1 for i in segment.ids if i < 0 or i in self._placeholders)
        return len(segment.ids) - slots + sum(int(b.shape[0]) for b in segment.blocks)

    def _encode_windows(self, windows: Sequence[Sequence[Image.Image]]) -> list[torch.Tensor]:
        """Projected features per window, (frames, visual tokens, hidden), untiled (first-cut helper)."""
        frames: list[Image.Image] = []
        for w, window in enumerate(windows):
            _check_window(w, window)
            frames.extend(window)
        pixels = self.processor(frames)
        chunks = []
        for start in range(0, len(frames), self.vision_batch):
            part = pixels[start:start + self.vision_batch].to(self.device, self.dtype)
            chunks.append(self.encoder._project(self.encoder._widen(self.tower(part))))
        features = torch.cat(chunks, dim=0)
        return list(torch.split(features, [len(w) for w in windows], dim=0))

    def _decode(self, batch: Batch, max_new_tokens: int, sampling: Sampling | None = None) -> list[str]:
        stop_text = None
        if self._multi_stops:
            def stop_text(ids: list[int]) -> bool:
                text = self.tokenizer.decode(ids)
                return any(s in text for s in self._multi_stops)
        rows = greedy_generate(self.llm, batch, max_new_tokens=max_new_tokens, stop_ids=self._stop_ids,
                               banned=self._banned, pad_id=self._pad_id, stop_text=stop_text, sampling=sampling)
        texts = []
        for ids in rows:
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            for stop in self._multi_stops:
                text = text.split(stop, 1)[0]
            texts.append(text.strip())
        return texts
