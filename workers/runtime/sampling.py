"""Token choice during generation: greedy by default, seeded sampling on request.

``Sampling(temperature, top_p, seed)``: temperature > 0 samples from the
softmax of logits / temperature restricted to the smallest set of tokens whose
probability reaches ``top_p``. Every row of a batch draws from its own
``torch.Generator`` seeded with ``seed``, so a request samples the same tokens
alone or in a batch (same logits, same draws).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.errors import InvalidRequest


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.2
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise InvalidRequest(f"temperature must be > 0 for sampling, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise InvalidRequest(f"top_p must be in (0, 1], got {self.top_p}")


class Chooser:
    """Picks the next token of every row from masked float32 logits (rows, vocab)."""

    def __init__(self, sampling: Sampling | None, rows: int, device: torch.device) -> None:
        self.sampling = sampling
        self.generators = []
        if sampling is not None:
            for _ in range(rows):
                gen = torch.Generator(device=device)
                gen.manual_seed(sampling.seed)
                self.generators.append(gen)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        if self.sampling is None:
            return logits.argmax(dim=-1)
        probs = (logits / self.sampling.temperature).softmax(dim=-1)
        if self.sampling.top_p < 1:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            before = sorted_probs.cumsum(dim=-1) - sorted_probs
            sorted_probs[before >= self.sampling.top_p] = 0
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        picks = [torch.multinomial(row, 1, generator=gen) for row, gen in zip(probs, self.generators)]
        return torch.cat(picks)
