"""``VilaModel``: captions, label scores, answers and text from a loaded VILA checkpoint.

Every operation takes a batch (several windows of PIL frames) and runs one
forward pass over all of it: the vision tower over the frames of all windows,
then the LLM over the left-padded prompts. Decoding is greedy and therefore
deterministic; a batch gives the same output as its windows one by one.

Failure modes: ``InvalidRequest`` for an empty window, a frame that is not a
PIL image, mismatched argument lengths, or a prompt longer than the model's
context ("too many frames").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from PIL import Image

from services.core.errors import InvalidRequest
from services.core.types import ActionScore
from workers.runtime.decoding import greedy_generate, mean_logprobs
from workers.runtime.inputs import Batch, Segment, build_batch
from workers.runtime.media import MEDIA_TOKENS, VIDEO, MediaTokens
from workers.runtime.projectors import Projector
from workers.runtime.templates import Template
from workers.runtime.vision import ImageProcessor, VisionTower

CAPTION_PROMPT = "Describe what happens in this video in one sentence."
SCORE_QUESTION = "Which of these best describes what happens in the video: {options}? Answer with one of them."


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded. ``tokens_per_frame`` counts LLM positions per frame (visual tokens + newline)."""

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


def _strip_media(text: str) -> str:
    # The reference deletes literal media placeholders from user text.
    for token in MEDIA_TOKENS:
        text = text.replace(token, "")
    return text


def _check_budget(max_new_tokens: int) -> None:
    if max_new_tokens < 0:
        raise InvalidRequest(f"max_new_tokens must be >= 0, got {max_new_tokens}")


class VilaModel:
    """A loaded checkpoint. Build it with ``workers.runtime.load_model``; not thread-safe."""

    def __init__(self, *, llm: torch.nn.Module, tokenizer: Any, tower: VisionTower, projector: Projector,
                 processor: ImageProcessor, template: Template, media: MediaTokens, model_id: str, path: str,
                 family: str, vision_batch: int = 64) -> None:
        self.llm, self.tokenizer, self.tower, self.projector = llm, tokenizer, tower, projector
        self.processor, self.template, self.media = processor, template, media
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
        visual = projector.num_tokens(tower.num_tokens)
        params = sum(p.numel() for m in (llm, tower, projector) for p in m.parameters())
        self._info = ModelInfo(
            model_id=model_id, path=path, family=family, vision_tower=tower.name, projector=projector.type_name,
            template=template.name, tokens_per_frame=visual + len(self._newline_ids), parameters=params,
            dtype=str(self.dtype).removeprefix("torch."), device=str(self.device),
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    # ----------------------------------------------------------------- public operations
    @torch.inference_mode()
    def caption(self, windows: Sequence[Sequence[Image.Image]], *, prompt: str | None = None,
                max_new_tokens: int = 48) -> list[str]:
        """One caption per window (greedy, at most ``max_new_tokens`` tokens)."""
        return self._answer(windows, [prompt or CAPTION_PROMPT] * len(windows), max_new_tokens)

    @torch.inference_mode()
    def ask(self, windows: Sequence[Sequence[Image.Image]], questions: Sequence[str], *,
            max_new_tokens: int = 48) -> list[str]:
        """Answer ``questions[i]`` about ``windows[i]``; a single question applies to every window."""
        if len(questions) == 1 and len(windows) != 1:
            questions = list(questions) * len(windows)
        if len(questions) != len(windows):
            raise InvalidRequest(f"{len(questions)} questions for {len(windows)} windows")
        return self._answer(windows, list(questions), max_new_tokens)

    @torch.inference_mode()
    def generate_text(self, prompts: Sequence[str], *, max_new_tokens: int = 128) -> list[str]:
        """Text-only answers to ``prompts`` (rendered through the conversation template)."""
        segments = [Segment(self._prompt_ids(_strip_media(p))) for p in prompts]
        return self._generate(segments, max_new_tokens)

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

    def _prompt_ids(self, message: str) -> list[int]:
        return list(self.tokenizer(self.template.render(self.tokenizer, message)).input_ids)

    def _answer(self, windows: Sequence[Sequence[Image.Image]], questions: list[str], max_new_tokens: int) -> list[str]:
        _check_budget(max_new_tokens)
        if not windows:
            return []
        batch = self._video_batch(windows, questions, extra_tokens=max_new_tokens)
        return self._decode(batch, max_new_tokens)

    def _video_batch(self, windows: Sequence[Sequence[Image.Image]], questions: list[str], extra_tokens: int) -> Batch:
        videos = self._encode_windows(windows)
        segments = [Segment(self._prompt_ids(VIDEO + _strip_media(q)), v) for q, v in zip(questions, videos)]
        return self._batch(segments, extra_tokens)

    def _batch(self, segments: list[Segment], extra_tokens: int) -> Batch:
        embed = self.llm.get_input_embeddings()
        newline = embed(torch.tensor(self._newline_ids, dtype=torch.long, device=self.device))
        for i, segment in enumerate(segments):
            needed = self._positions(segment) + extra_tokens
            if needed > self.max_length:
                frames = segment.video.shape[0] if segment.video is not None else 0
                raise InvalidRequest(f"request {i} needs {needed} positions ({frames} frames) but the model holds "
                                     f"{self.max_length}: too many frames or too long a prompt")
        return build_batch(segments, self.media.video_id, embed, newline)

    def _positions(self, segment: Segment) -> int:
        if segment.video is None:
            return len(segment.ids)
        frames, tokens, _ = segment.video.shape
        return len(segment.ids) - 1 + frames * (tokens + len(self._newline_ids))

    def _generate(self, segments: list[Segment], max_new_tokens: int) -> list[str]:
        _check_budget(max_new_tokens)
        if not segments:
            return []
        return self._decode(self._batch(segments, max_new_tokens), max_new_tokens)

    def _decode(self, batch: Batch, max_new_tokens: int) -> list[str]:
        stop_text = None
        if self._multi_stops:
            def stop_text(ids: list[int]) -> bool:
                text = self.tokenizer.decode(ids)
                return any(s in text for s in self._multi_stops)
        rows = greedy_generate(self.llm, batch, max_new_tokens=max_new_tokens, stop_ids=self._stop_ids,
                               banned=self._banned, pad_id=self._pad_id, stop_text=stop_text)
        texts = []
        for ids in rows:
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            for stop in self._multi_stops:
                text = text.split(stop, 1)[0]
            texts.append(text.strip())
        return texts

    def _encode_windows(self, windows: Sequence[Sequence[Image.Image]]) -> list[torch.Tensor]:
        """Projected features per window, (frames, visual tokens, hidden); the tower runs on all frames at once."""
        frames: list[Image.Image] = []
        for w, window in enumerate(windows):
            if len(window) == 0:
                raise InvalidRequest(f"window {w} has no frames")
            for f, frame in enumerate(window):
                if not isinstance(frame, Image.Image):
                    raise InvalidRequest(f"window {w} frame {f} is not an image ({type(frame).__name__})")
            frames.extend(window)
        pixels = self.processor(frames)
        chunks = []
        for start in range(0, len(frames), self.vision_batch):
            part = pixels[start:start + self.vision_batch].to(self.device, self.dtype)
            chunks.append(self.projector(self.tower(part)))
        features = torch.cat(chunks, dim=0)
        return list(torch.split(features, [len(w) for w in windows], dim=0))
