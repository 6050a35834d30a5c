"""Media placeholder tokens and the LLM vocabulary they need.

The runtime adds three special tokens to the tokenizer at load time, in the
reference order: ``<vila/sentinel>``, ``<image>``, ``<vila/video>``. A media token in
a prompt is replaced by the encoder output before the LLM sees it, so its own
embedding row is never trained; these ids (and any embedding row past the end of
the tokenizer) must never be generated, so decoding masks them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

SENTINEL = "<vila/sentinel>"
IMAGE = "<image>"
VIDEO = "<vila/video>"
MEDIA_TOKENS = (SENTINEL, IMAGE, VIDEO)


@dataclass(frozen=True)
class MediaTokens:
    """Ids of the media tokens and of every id decoding must never produce."""

    sentinel_id: int
    image_id: int
    video_id: int
    banned_ids: tuple[int, ...]


def add_media_tokens(tokenizer: Any, llm: torch.nn.Module) -> MediaTokens:
    """Add the media tokens to ``tokenizer`` and grow ``llm``'s embeddings to cover them.

    New embedding rows (input and, if untied, output) are set to the mean of the
    existing rows so that loading is deterministic. Returns the ids; mutates both
    arguments. Idempotent: tokens already present are reused.
    """
    tokenizer.add_special_tokens({"extra_special_tokens": list(MEDIA_TOKENS)}, replace_extra_special_tokens=False)
    ids = [tokenizer.convert_tokens_to_ids(token) for token in MEDIA_TOKENS]
    rows = llm.get_input_embeddings().num_embeddings
    needed = len(tokenizer)
    if rows < needed:
        _grow_embeddings(llm, needed)
        rows = needed
    banned = sorted(set(ids) | set(range(len(tokenizer), rows)))
    return MediaTokens(sentinel_id=ids[0], image_id=ids[1], video_id=ids[2], banned_ids=tuple(banned))


def _grow_embeddings(llm: torch.nn.Module, rows: int) -> None:
    old_in = llm.get_input_embeddings().num_embeddings
    old_out_weight = llm.get_output_embeddings().weight if llm.get_output_embeddings() is not None else None
    old_out = old_out_weight.shape[0] if old_out_weight is not None else old_in
    llm.resize_token_embeddings(rows, mean_resizing=False)
    with torch.no_grad():
        emb = llm.get_input_embeddings().weight
        emb[old_in:] = emb[:old_in].mean(dim=0, keepdim=True)
        out = llm.get_output_embeddings()
        if out is not None and out.weight.data_ptr() != emb.data_ptr():
            out.weight[old_out:] = out.weight[:old_out].mean(dim=0, keepdim=True)
            bias = getattr(out, "bias", None)
            if bias is not None:
                bias[old_out:] = bias[:old_out].mean()
