"""A token probe: dense supervision of the LLM at the video tokens of the synthetic clips.

A caption supervises an object at a few answer tokens, and only through the whole chain of finding the
object, keeping its colour and shape together and comparing its positions across frames. The probe asks
one of the LLM's layers (``Recipe.probe_layer``), at every video token an object covers, for that object's
colour and shape and, from the second frame on, what it has done so far (``scenes.token_targets``): the
motion is worked out at the object's own tokens, next to its colour and shape, and the caption has only
to read the three there. Without the colour and shape targets the probe taught motion (action top-1
0.958 -> 0.986) but the caption bound shapes to the wrong object more often (docs/journal/ training
investigation 11). The probe (a norm and a linear layer on that layer's hidden states) is training glue:
it is not saved, and the checkpoint keeps VILA's layout and forward pass.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from workers.training.batching import IGNORE
from workers.training.data import Sample
from workers.training.scenes.spec import plan_scene, view_plan
from workers.training.scenes.token_targets import COLUMNS, token_targets, view_frames


class TokenProbe(nn.Module):
    """``weight`` x the summed cross-entropies of linear read-outs of ``layer``'s hidden states against each
    token's (colour, shape, action) targets (``token_targets.COLUMNS``)."""

    def __init__(self, hidden: int, *, layer: int, weight: float) -> None:
        super().__init__()
        self.layer, self.weight = layer, weight
        self.sizes = [len(classes) for classes in COLUMNS.values()]
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False)
        self.head = nn.Linear(hidden, sum(self.sizes))

    def logits(self, hidden_states: Sequence[torch.Tensor], keep: torch.Tensor) -> list[torch.Tensor]:
        """Each column's logits at the ``keep`` positions."""
        return list(torch.split(self.head(self.norm(hidden_states[self.layer][keep])).float(), self.sizes, dim=-1))

    def forward(self, hidden_states: Sequence[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        keep = (labels != IGNORE).any(dim=-1)
        if not bool(keep.any()):
            return hidden_states[self.layer].sum() * 0.0
        loss = hidden_states[self.layer].new_zeros(())
        kept = labels[keep]
        for column, logits in enumerate(self.logits(hidden_states, keep)):
            target = kept[:, column]
            if bool((target != IGNORE).any()):
                loss = loss + nn.functional.cross_entropy(logits, target, ignore_index=IGNORE)
        return self.weight * loss


class TokenTargets:
    """Each training sample's (frames, tokens, 3) probe targets, from the scene its clip folder was rendered
    from (``scenes.json``: the folder name is the clip id) and its view's flags; computed once per sample."""

    def __init__(self, root: Path, *, frames: int, side: int) -> None:
        scenes = json.loads((Path(root) / "scenes.json").read_text())
        self.scenes = {scene["id"]: scene for scene in scenes}
        self.frames, self.side = frames, side
        self._cache: dict[tuple[str, bool, bool], torch.Tensor] = {}

    def of(self, sample: Sample) -> torch.Tensor:
        """(frames, tokens, 3) long targets of ``sample`` as its view shows it; a single frame has none."""
        if len(sample.frames) < 2:
            return torch.full((len(sample.frames), self.side * self.side, len(COLUMNS)), IGNORE, dtype=torch.long)
        clip = sample.frames[0].parent.name
        key = (clip, sample.mirror, sample.reverse)
        if key not in self._cache:
            scene = self.scenes[clip]
            plan = plan_scene(scene["seed"], **scene["options"])
            seen = view_plan(plan, mirror=sample.mirror, reverse=sample.reverse)
            picked = view_frames(plan, self.frames, reverse=sample.reverse)
            # The reversed view's plan counts frames as the stored plan does (same length).
            self._cache[key] = torch.from_numpy(token_targets(seen, picked, self.side))
        return self._cache[key]
