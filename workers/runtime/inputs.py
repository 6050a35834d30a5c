"""Build the LLM's input embeddings for a batch: text ids with media spliced in, left-padded.

A sequence is a list of token ids in which media placeholders are replaced by
embeddings. Two forms:

- ``Segment.blocks``: ready (n_i, H) embedding blocks, one per placeholder in
  order; a placeholder is any negative id (the legacy ``IMAGE_TOKEN_INDEX = -200``)
  or an id in ``placeholders`` (the NVILA ``<image>``/``<vila/video>`` ids).
- ``Segment.video``: (frames, tokens, H) features for the single ``<vila/video>``
  id: for every frame its tokens followed by the embedding of the newline ids
  (``tokenizer("\\n")``), frames in order (the NVILA ``BasicVideoEncoder`` layout).

Sequences are left-padded with
zero vectors and attention mask 0, and positions count only real tokens, so a
sequence gives the same logits alone or in a batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

import torch


@dataclass(frozen=True)
class Segment:
    """One sequence: prompt ids and its media (see the module docstring)."""

    ids: list[int]
    video: torch.Tensor | None = None
    blocks: tuple[torch.Tensor, ...] = ()


@dataclass(frozen=True)
class Batch:
    embeds: torch.Tensor  # (B, L, H)
    mask: torch.Tensor  # (B, L) long, 1 for real tokens
    positions: torch.Tensor  # (B, L) long

    @property
    def last_positions(self) -> torch.Tensor:
        return self.positions[:, -1]


def splice(ids: list[int], video: torch.Tensor | None, video_id: int, embed: torch.nn.Module,
           newline: torch.Tensor, *, blocks: Sequence[torch.Tensor] = (),
           placeholders: Collection[int] = ()) -> torch.Tensor:
    """(L, H) embeddings of ``ids`` with media spliced in (see the module docstring).

    ``newline`` is the (n, H) embedding appended after every video frame.
    ValueError when placeholders and media do not pair up one to one.
    """
    device = newline.device
    tensor = torch.tensor(ids, dtype=torch.long, device=device)
    text = embed(tensor.clamp(min=0))
    if video is None and (blocks or any(i < 0 or i in placeholders for i in ids)):
        return _splice_blocks(ids, text, blocks, placeholders)
    slots = [i for i, token in enumerate(ids) if token == video_id]
    if video is None:
        if slots:
            raise ValueError("prompt holds a video token but no frames were given")
        return text
    if len(slots) != 1:
        raise ValueError(f"prompt must hold exactly one video token, found {len(slots)}")
    frames, tokens, hidden = video.shape
    per_frame = torch.cat([video, newline.unsqueeze(0).expand(frames, -1, -1)], dim=1)
    block = per_frame.reshape(-1, hidden).to(text.dtype)
    slot = slots[0]
    return torch.cat([text[:slot], block, text[slot + 1:]], dim=0)


def _splice_blocks(ids: list[int], text: torch.Tensor, blocks: Sequence[torch.Tensor],
                   placeholders: Collection[int]) -> torch.Tensor:
    slots = [i for i, token in enumerate(ids) if token < 0 or token in placeholders]
    if len(slots) != len(blocks):
        raise ValueError(f"prompt holds {len(slots)} media placeholders but {len(blocks)} media were given")
    pieces, start = [], 0
    for slot, block in zip(slots, blocks):
        pieces += [text[start:slot], block.to(text.dtype)]
        start = slot + 1
    pieces.append(text[start:])
    return torch.cat(pieces, dim=0)


def left_pad(sequences: list[torch.Tensor]) -> Batch:
    """Stack (L_i, H) sequences into a left-padded :class:`Batch`."""
    longest = max(seq.shape[0] for seq in sequences)
    hidden = sequences[0].shape[1]
    first = sequences[0]
    embeds = first.new_zeros((len(sequences), longest, hidden))
    mask = torch.zeros((len(sequences), longest), dtype=torch.long, device=first.device)
    for row, seq in enumerate(sequences):
        embeds[row, longest - seq.shape[0]:] = seq
        mask[row, longest - seq.shape[0]:] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return Batch(embeds=embeds, mask=mask, positions=positions)


def build_batch(segments: list[Segment], video_id: int, embed: torch.nn.Module, newline: torch.Tensor, *,
                placeholders: Collection[int] = ()) -> Batch:
    """Embed and left-pad ``segments``; see :func:`splice` for the failure modes."""
    return left_pad([splice(s.ids, s.video, video_id, embed, newline, blocks=s.blocks, placeholders=placeholders)
                     for s in segments])
