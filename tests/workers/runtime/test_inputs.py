"""Embedding splice and left padding."""
from __future__ import annotations

import pytest
import torch

from workers.runtime.inputs import Segment, build_batch, splice

VIDEO = 9


def embed_table(hidden: int = 4) -> torch.nn.Embedding:
    table = torch.nn.Embedding(16, hidden)
    with torch.no_grad():
        table.weight.copy_(torch.arange(16, dtype=torch.float32)[:, None].expand(16, hidden))
    return table


def test_splice_puts_frames_then_newline_at_the_media_token():
    embed = embed_table()
    video = torch.full((2, 3, 4), 100.0)
    video[1] = 200.0
    newline = torch.full((1, 4), -1.0)
    out = splice([5, VIDEO, 6], video, VIDEO, embed, newline)
    assert out[:, 0].tolist() == [5, 100, 100, 100, -1, 200, 200, 200, -1, 6]


def test_splice_rejects_missing_or_extra_media():
    embed, newline = embed_table(), torch.zeros(1, 4)
    with pytest.raises(ValueError):
        splice([5, VIDEO], None, VIDEO, embed, newline)
    with pytest.raises(ValueError):
        splice([5, 6], torch.zeros(1, 2, 4), VIDEO, embed, newline)


def test_left_padding_and_positions():
    embed, newline = embed_table(), torch.zeros(1, 4)
    batch = build_batch([Segment([1, 2, 3]), Segment([4])], VIDEO, embed, newline)
    assert batch.mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert batch.positions.tolist() == [[0, 1, 2], [0, 0, 0]]
    assert batch.embeds[1, :2].abs().sum() == 0 and batch.embeds[1, 2, 0] == 4
