"""Training recipes: the three VILA stages, their freezing rules and the data they read.

VILA trains in three stages:

1. ``align``: projector alignment on image-text pairs, LLM and vision tower frozen;
2. ``pretrain``: multimodal pre-training on interleaved/video-text data, projector and LLM trained;
3. ``sft``: instruction tuning on conversations, everything trained.

``trainable_components`` applies these rules. No pretrained LLM or SigLIP
exists on the machines this project trains on, so the tiny recipe first builds
its own "pretrained" parts: the from-scratch LLM learns the answers' language
from text alone (``text_steps``) and the from-scratch tower learns per-patch
colour and shape (``vision_steps``, ``vision_warmup``). After that the stages
follow VILA's rules. ``tower_from_scratch`` trains the tower in every stage
instead (for a recipe without the vision warm-up).

``RECIPES`` holds the named recipes; ``tiny-synthetic`` trains the project's tiny
model (shipped as workers/models/tiny-synthetic-v1; its figures: docs/training.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.errors import InvalidInput


@dataclass(frozen=True)
class Dims:
    """Sizes of the from-scratch model (the tiny recipe's defaults fit 2 CPU cores and 25 MB)."""

    image_size: int = 64
    patch_size: int = 8
    vision_width: int = 96
    vision_layers: int = 3
    vision_heads: int = 4
    llm_width: int = 128
    llm_layers: int = 3
    llm_heads: int = 4
    llm_kv_heads: int = 2
    llm_ffn: int = 384
    projector: str = "mlp_downsample"
    num_video_frames: int = 4
    # A short RoPE wavelength range suits ~100-position prompts: attention can tell frames apart by distance.
    rope_theta: float = 1000.0


COMPONENTS = ("vision_tower", "mm_projector", "llm")
VILA_RULES: dict[str, tuple[str, ...]] = {
    "align": ("mm_projector",),
    "pretrain": ("mm_projector", "llm"),
    "sft": ("mm_projector", "llm", "vision_tower"),
}


def trainable_components(stage: str, *, tower_from_scratch: bool) -> tuple[str, ...]:
    """Components trained in ``stage`` (VILA's rules; a from-scratch tower always trains)."""
    if stage not in VILA_RULES:
        raise InvalidInput(f"unknown stage {stage!r}; stages are {', '.join(VILA_RULES)}")
    parts = set(VILA_RULES[stage]) | ({"vision_tower"} if tower_from_scratch else set())
    return tuple(c for c in COMPONENTS if c in parts)


@dataclass(frozen=True)
class Stage:
    """One stage: its datasets (by kind), steps and batch shape, and its learning rate."""

    name: str
    datasets: tuple[str, ...]
    steps: int
    clips_per_step: int
    turns_per_clip: int
    lr: float
    warmup: int = 50
    # The first ``lead_turns`` turns of every conversation are always trained (the caption and the
    # action question come first), the rest of ``turns_per_clip`` are sampled from the other turns.
    lead_turns: int = 0
    # The vision tower's learning rate as a fraction of ``lr`` where the stage trains it (a warmed-up
    # tower trained at the LLM's rate forgets what the warm-up taught it).
    tower_lr_scale: float = 1.0
    # Weight of the token probe's loss (token_probe.py: the colour, shape and action so far of the object
    # under each video token, read from the LLM's ``Recipe.probe_layer``); 0 leaves it out. It needs the
    # run's ``scenes.json`` (the synthetic recipe's datasets).
    probe_weight: float = 0.0


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained checkpoint (with the seed, it reproduces it)."""

    name: str
    dims: Dims = field(default_factory=Dims)
    seed: int = 0
    # 16,000 clips rather than 8,000: two-object clips 0.43 -> 0.53 at the same steps (docs/journal/ training 04).
    train_clips: int = 16000
    two_object_share: float = 0.6
    # Share of clips where nothing moves under a strong brightness drift (split.training_jobs): hard
    # negatives for motion; still clips said moving 16 -> 8 of 192, two-object clips 0.53 -> 0.67.
    still_share: float = 0.1
    held_out_pairs: int = 20
    # The held-out pairs are drawn with their own seed, the evaluation suite's (``suite_jobs``), so a run with
    # another ``seed`` (``vila-stream train --seed``) still never trains on the suite's held-out pairs.
    held_out_seed: int = 0
    # New views of every rendered clip (scenes.dataset.views_of): "mirror" (flipped left to right) and
    # "reverse" (played backwards): four clips' worth of captions per rendered clip. On one base, two-object
    # clips 0.51 -> 0.61 (docs/journal/ training 07).
    views: tuple[str, ...] = ("mirror", "reverse")
    frames: int = 4
    render_side: int | None = 224
    text_steps: int = 100
    text_batch: int = 64
    # The tower's shape accuracy jumps late: 0.58 of object patches after 800 steps, 0.85 after 1,600,
    # 0.93 after 2,400 (docs/journal/ training 03); 3,600 with two torch threads.
    vision_steps: int = 3600
    vision_batch: int = 64
    # 6e-3 rather than 3e-3 once every visible object had a label (scenes.labels): object shape by a linear
    # probe 0.916 -> 0.945, objects under 12 % of the height 0.76 -> 0.88 (docs/journal/ training 08).
    vision_lr: float = 6e-3
    # Weight of the warm-up's whole-frame target (vision_warmup.scene_descriptor); 0 leaves it out.
    vision_scene_weight: float = 0.0
    # Random brightness gain (1 +- this) on warm-up frames, so the features do not move with the exposure:
    # drift read as motion halved and two-object clips 0.11 -> 0.30 (docs/journal/ training 03).
    vision_gain_jitter: float = 0.25
    # Show half the warm-up's frames mirrored (as the "mirror" view does). One run with it ended its warm-up
    # at a higher loss (0.231 against 0.201) and scored lower (two-object 0.46): off.
    vision_mirror: bool = False
    # Frames of 3 to 5 still objects (split.crowded_jobs) the vision warm-up draws as often as clips' frames:
    # more objects, and more of them side by side, in every step (docs/journal/ training 08).
    crowded_frames: int = 16000
    tower_from_scratch: bool = False
    # The LLM layer whose output the token probe reads (hidden_states index: 0 the embeddings, 1 the first layer's).
    probe_layer: int = 2
    stages: tuple[Stage, ...] = ()
    save_every: int = 200

    def scaled(self, *, clips: int | None = None, steps: int | None = None) -> "Recipe":
        """The same recipe with fewer clips and at most ``steps`` steps per stage (for smoke tests)."""
        stages = tuple(replace(s, steps=min(s.steps, steps), warmup=min(s.warmup, max(1, steps // 4)))
                       for s in self.stages) if steps else self.stages
        text_steps = min(self.text_steps, steps) if steps else self.text_steps
        vision_steps = min(self.vision_steps, steps) if steps else self.vision_steps
        crowded = min(self.crowded_frames, clips) if clips else self.crowded_frames
        return replace(self, train_clips=clips or self.train_clips, crowded_frames=crowded, stages=stages,
                       text_steps=text_steps, vision_steps=vision_steps,
                       save_every=min(self.save_every, steps) if steps else self.save_every)


TINY_SYNTHETIC = Recipe(
    name="tiny-synthetic",
    stages=(
        Stage("align", ("image_text", "video_text"), steps=100, clips_per_step=16, turns_per_clip=1, lr=2e-3),
        # Captions of whole clips only: single-frame pairs teach no motion and halved its supervision.
        # At 2e-3 the loss sat near 0.45 until the cosine decay brought the rate near 1e-3 (step ~2,000); at
        # 5e-4 it falls from the start and ends at 0.05 instead of 0.09 (docs/journal/ training 10).
        # The token probe (token_probe.py) asks the LLM's second layer, at every video token an object
        # covers, for the object's colour, shape and action so far: two-object clips 0.769 -> 0.914, action
        # top-1 0.958 -> 0.990, still clips said moving 2 -> 0 of 192 (docs/journal/ training 11).
        Stage("pretrain", ("video_text",), steps=4500, clips_per_step=16, turns_per_clip=1, lr=5e-4,
              probe_weight=1.0),
        # Every clip trains its caption and both action questions plus one sampled QA turn; the warmed-up
        # tower trains at a tenth of the rate (at the full rate instruction tuning undid what it knew).
        Stage("sft", ("conversations",), steps=1800, clips_per_step=8, turns_per_clip=4, lr=5e-4, lead_turns=3,
              tower_lr_scale=0.1, probe_weight=1.0),
    ),
)
RECIPES: dict[str, Recipe] = {TINY_SYNTHETIC.name: TINY_SYNTHETIC}


def get_recipe(name: str) -> Recipe:
    """The named recipe; InvalidInput listing the known names otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise InvalidInput(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}") from None
