"""Training batches through the runtime's own input path, plus the label mask.

A training example is one video (its frames, already PIL images) and one
question/answer turn. The prompt is rendered with the checkpoint's template
exactly as ``VilaModel`` renders it at inference (``<vila/video>`` + question),
the answer is tokenized exactly as ``VilaModel.score_labels`` tokenizes a label
(``answer_prefix`` + text, then the first stop id), and the embeddings come
from the runtime's ``build_batch`` splice, so training and inference cannot
diverge. Only answer tokens carry a label; everything else is ``IGNORE``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from PIL import Image
from transformers import DynamicCache

from workers.runtime.inputs import Batch, Segment, build_batch
from workers.runtime.media import VIDEO
from workers.runtime.model import VilaModel

IGNORE = -100
# A probe's loss from the decoder's hidden states (embeddings, then every layer's output) and the batch's
# per-position targets (``token_probe.TokenProbe``).
Probe = Callable[[Sequence[torch.Tensor], torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Turn:
    """One supervised turn: the video it is about (index into the batch's clips), question and answer."""

    clip: int
    question: str
    answer: str


@dataclass(frozen=True)
class TrainBatch:
    batch: Batch
    labels: torch.Tensor  # (B, L) next-token targets aligned with batch positions, IGNORE elsewhere
    token_labels: torch.Tensor | None = None  # (B, L, ...) a probe's targets at video positions, IGNORE elsewhere


@dataclass(frozen=True)
class SharedBatch:
    """Turns about the same clip sharing its prompt head (the template's start and the video), which runs once.

    ``head`` holds one head per clip (left-padded); ``rows`` names each turn's row of ``head``; ``tail`` is
    each turn's rest of the prompt and its answer, right-padded: pads come after every real token, so under
    causal attention no real token sees one. ``labels`` are aligned with ``tail`` as in :class:`TrainBatch`.
    """

    head: Batch
    rows: torch.Tensor  # (T,) long
    tail: torch.Tensor  # (T, S, H)
    tail_mask: torch.Tensor  # (T, S) long
    labels: torch.Tensor  # (T, S)
    head_token_labels: torch.Tensor | None = None  # (C, Lh, ...) a probe's targets at the heads' video positions


class TurnEncoder:
    """Turns clips and turns into a :class:`TrainBatch` for one loaded :class:`VilaModel`."""

    def __init__(self, model: VilaModel) -> None:
        self.model = model
        tok = model.tokenizer
        self.newline_ids = list(tok("\n").input_ids)
        self.end_id = model._stop_ids[0]
        self._prompts: dict[str, list[int]] = {}
        self._answers: dict[str, list[int]] = {}

    def prompt_ids(self, question: str) -> list[int]:
        if question not in self._prompts:
            text = self.model.template.render(self.model.tokenizer, VIDEO + question)
            self._prompts[question] = list(self.model.tokenizer(text).input_ids)
        return self._prompts[question]

    def answer_ids(self, answer: str) -> list[int]:
        if answer not in self._answers:
            text = self.model.template.answer_prefix + answer
            ids = self.model.tokenizer(text, add_special_tokens=False).input_ids
            self._answers[answer] = list(ids) + [self.end_id]
        return self._answers[answer]

    def tower_outputs(self, clips: Sequence[Sequence[Image.Image]]) -> list[torch.Tensor]:
        """The vision tower's output per clip, (frames, tokens, width), with gradients where the tower trains."""
        return self.tower_outputs_of(self.model.processor([f for clip in clips for f in clip]), [len(c) for c in clips])

    def tower_outputs_of(self, pixels: torch.Tensor, counts: Sequence[int]) -> list[torch.Tensor]:
        """As :meth:`tower_outputs`, from the clips' processed frames stacked (N, 3, H, W) and their frame counts."""
        model = self.model
        return list(torch.split(model.tower(pixels.to(model.device, model.dtype)), list(counts), dim=0))

    def encode_clips(self, clips: Sequence[Sequence[Image.Image]]) -> list[torch.Tensor]:
        """Projected features per clip, (frames, tokens, hidden), with gradients where parameters train."""
        return self.project(self.tower_outputs(clips))

    def project(self, tower_outputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Projected features per clip from the tower's outputs per clip (a frozen tower's, computed once)."""
        features = self.model.projector(torch.cat(list(tower_outputs)))
        return list(torch.split(features, [len(t) for t in tower_outputs], dim=0))

    def build(self, clips: Sequence[Sequence[Image.Image]], turns: Sequence[Turn]) -> TrainBatch:
        """Embeddings (runtime splice, left-padded) and labels for ``turns`` about ``clips``."""
        return self.build_projected(self.encode_clips(clips), turns)

    def build_projected(self, videos: Sequence[torch.Tensor], turns: Sequence[Turn],
                        token_targets: Sequence[torch.Tensor] | None = None) -> TrainBatch:
        """As :meth:`build`, from each clip's projected features (frames, tokens, hidden); ``token_targets``
        (one (frames, tokens, ...) long tensor per clip) become the batch's ``token_labels``."""
        embed = self.model.llm.get_input_embeddings()
        newline = embed(torch.tensor(self.newline_ids, dtype=torch.long, device=self.model.device))
        segments, targets, token_rows = [], [], []
        for turn in turns:
            prompt, answer = self.prompt_ids(turn.question), self.answer_ids(turn.answer)
            video = videos[turn.clip]
            segments.append(Segment(prompt + answer, video))
            block = video.shape[0] * (video.shape[1] + len(self.newline_ids))
            spliced_prompt = len(prompt) - 1 + block
            # logits at position p predict token p + 1: the last prompt position predicts answer[0].
            targets.append([IGNORE] * (spliced_prompt - 1) + answer + [IGNORE])
            if token_targets is not None:
                start = prompt.index(self.model.media.video_id)
                token_rows.append((start, self.video_labels(token_targets[turn.clip])))
        batch = build_batch(segments, self.model.media.video_id, embed, newline)
        longest = batch.embeds.shape[1]
        labels = torch.full((len(turns), longest), IGNORE, dtype=torch.long)
        for row, target in enumerate(targets):
            labels[row, longest - len(target):] = torch.tensor(target)
        token_labels = None
        if token_targets is not None:
            token_labels = torch.full((len(turns), longest, *token_targets[0].shape[2:]), IGNORE, dtype=torch.long)
            for row, (target, (start, block)) in enumerate(zip(targets, token_rows)):
                begin = longest - len(target) + start
                token_labels[row, begin:begin + len(block)] = block
            token_labels = token_labels.to(self.model.device)
        return TrainBatch(batch=batch, labels=labels.to(self.model.device), token_labels=token_labels)

    def video_labels(self, targets: torch.Tensor) -> torch.Tensor:
        """(frames * (tokens + newline), ...): a clip's (frames, tokens, ...) probe targets laid out as the
        splice lays out its video (every frame's tokens, then the newline ids, which get IGNORE)."""
        gap = torch.full((targets.shape[0], len(self.newline_ids), *targets.shape[2:]), IGNORE, dtype=torch.long)
        return torch.cat([targets.long(), gap], dim=1).flatten(0, 1)

    def build_shared(self, videos: Sequence[torch.Tensor], turns: Sequence[Turn],
                     token_targets: Sequence[torch.Tensor] | None = None) -> SharedBatch:
        """As :meth:`build_projected`, with each clip's head shared by its turns (:class:`SharedBatch`).

        ValueError when turns about one clip differ before the video, or a prompt ends with the video.
        """
        model = self.model
        embed = model.llm.get_input_embeddings()
        newline = embed(torch.tensor(self.newline_ids, dtype=torch.long, device=model.device))
        heads: dict[int, list[int]] = {}
        clips, tails, targets = [], [], []
        for turn in turns:
            prompt, answer = self.prompt_ids(turn.question), self.answer_ids(turn.answer)
            cut = prompt.index(model.media.video_id) + 1
            if heads.setdefault(turn.clip, prompt[:cut]) != prompt[:cut] or cut == len(prompt):
                raise ValueError("turns about one clip must share the prompt up to the video, which must not end it")
            clips.append(turn.clip)
            tails.append(prompt[cut:] + answer)
            # tail position p predicts token p + 1: the prompt's last position predicts answer[0].
            targets.append([IGNORE] * (len(prompt) - cut - 1) + answer + [IGNORE])
        order = sorted(heads)
        head = build_batch([Segment(heads[c], videos[c]) for c in order], model.media.video_id, embed, newline)
        longest = max(len(t) for t in tails)
        ids = torch.zeros((len(tails), longest), dtype=torch.long)
        mask = torch.zeros((len(tails), longest), dtype=torch.long)
        labels = torch.full((len(tails), longest), IGNORE, dtype=torch.long)
        for row, (tail, target) in enumerate(zip(tails, targets)):
            ids[row, :len(tail)] = torch.tensor(tail)
            mask[row, :len(tail)] = 1
            labels[row, :len(target)] = torch.tensor(target)
        rows = torch.tensor([order.index(c) for c in clips], dtype=torch.long, device=model.device)
        head_token_labels = None
        if token_targets is not None:
            # A head ends with its video (the prompt goes on after it), so its video is its last positions.
            head_token_labels = torch.full((*head.mask.shape, *token_targets[0].shape[2:]), IGNORE, dtype=torch.long)
            for row, c in enumerate(order):
                block = self.video_labels(token_targets[c])
                head_token_labels[row, head.mask.shape[1] - len(block):] = block
            head_token_labels = head_token_labels.to(model.device)
        return SharedBatch(head=head, rows=rows, tail=embed(ids.to(model.device)), tail_mask=mask.to(model.device),
                           labels=labels.to(model.device), head_token_labels=head_token_labels)


def answer_loss(llm: torch.nn.Module, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the labelled (answer) positions of the decoder's ``hidden`` states: the LM
    head runs on those positions only (about a tenth of them), the others' logits are never needed."""
    keep = labels != IGNORE
    logits = llm.get_output_embeddings()(hidden[keep])
    return torch.nn.functional.cross_entropy(logits.float(), labels[keep])


def turn_loss(llm: torch.nn.Module, train: TrainBatch, probe: Probe | None = None) -> torch.Tensor:
    """Mean cross-entropy over the labelled (answer) positions, plus ``probe``'s loss on ``token_labels``."""
    b = train.batch
    use_probe = probe is not None and train.token_labels is not None
    out = llm.get_decoder()(inputs_embeds=b.embeds, attention_mask=b.mask, position_ids=b.positions,
                            use_cache=False, output_hidden_states=use_probe)
    loss = answer_loss(llm, out.last_hidden_state, train.labels)
    return loss + probe(out.hidden_states, train.token_labels) if use_probe else loss


def shared_turn_loss(llm: torch.nn.Module, train: SharedBatch, probe: Probe | None = None) -> torch.Tensor:
    """:func:`turn_loss` of a :class:`SharedBatch`: the heads run once, every turn's tail attends to its
    clip's head through the key/value cache (gradients flow back into the heads); ``probe`` reads the heads."""
    decoder = llm.get_decoder()
    heads = DynamicCache()
    use_probe = probe is not None and train.head_token_labels is not None
    head_out = decoder(inputs_embeds=train.head.embeds, attention_mask=train.head.mask,
                       position_ids=train.head.positions, past_key_values=heads, use_cache=True,
                       output_hidden_states=use_probe)
    turns = DynamicCache()
    for index, layer in enumerate(heads.layers):
        turns.update(layer.keys[train.rows], layer.values[train.rows], index)
    mask = torch.cat([train.head.mask[train.rows], train.tail_mask], dim=1)
    positions = train.head.positions[train.rows, -1:] + 1 + torch.arange(train.tail.shape[1], device=mask.device)
    hidden = decoder(inputs_embeds=train.tail, attention_mask=mask, position_ids=positions, past_key_values=turns,
                     use_cache=True).last_hidden_state
    loss = answer_loss(llm, hidden, train.labels)
    return loss + probe(head_out.hidden_states, train.head_token_labels) if use_probe else loss


def text_batch(encoder: TurnEncoder, pairs: Sequence[tuple[str, str]]) -> TrainBatch:
    """A text-only batch (no video): the question rendered by the template, then the answer."""
    model = encoder.model
    embed = model.llm.get_input_embeddings()
    newline = embed(torch.tensor(encoder.newline_ids, dtype=torch.long, device=model.device))
    segments, targets = [], []
    for question, answer in pairs:
        text = model.template.render(model.tokenizer, question)
        prompt = list(model.tokenizer(text).input_ids)
        ans = encoder.answer_ids(answer)
        segments.append(Segment(prompt + ans))
        targets.append([IGNORE] * (len(prompt) - 1) + ans + [IGNORE])
    batch = build_batch(segments, model.media.video_id, embed, newline)
    longest = batch.embeds.shape[1]
    labels = torch.full((len(pairs), longest), IGNORE, dtype=torch.long)
    for row, target in enumerate(targets):
        labels[row, longest - len(target):] = torch.tensor(target)
    return TrainBatch(batch=batch, labels=labels.to(model.device))
