"""Run a :class:`Recipe`: data, base checkpoint, then the three stages, resumable.

Layout of ``OUT``::

    data/              rendered scenes and the LLaVA-style datasets (scenes.dataset)
    base/              the from-scratch checkpoint after the LLM's text and the tower's vision warm-ups
    stage1-align/      released-layout checkpoint after each stage (loads with load_model)
    stage2-pretrain/
    stage3-sft/        the trained model
    state/stageN.pt    mid-stage state (weights, optimizer, step), removed once the stage is saved
    losses.jsonl, loss_curves.png, recipe.json

Every step of every stage draws its batch from a generator seeded by (recipe
seed, stage, step, rank), so a resumed run sees the same batches as an uninterrupted
one. A finished part (a ``DONE`` marker) is skipped on the next run.
"""
from __future__ import annotations

import functools
import json
import math
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from core.errors import InvalidInput
from workers.runtime import load_model
from workers.runtime.model import CAPTION_PROMPT, SCORE_QUESTION, VilaModel
from workers.training.base import build_base
from workers.training.batching import Turn, TurnEncoder, shared_turn_loss, text_batch, turn_loss
from workers.training.checkpoint import save_checkpoint
from workers.training.curves import plot_losses
from workers.training.data import Sample, read_dataset, text_pairs
from workers.training.feature_cache import FrameStore, TowerCache
from workers.training.parallel import Ranks, run_ranks
from workers.training.recipe import Recipe, Stage, trainable_components
from workers.training.scenes.dataset import ACTION_QUESTION, IMAGE_QUESTION, write_crowded, write_datasets
from workers.training.scenes.render import sample_times
from workers.training.scenes.spec import ACTIONS, plan_scene
from workers.training.scenes.split import crowded_jobs, held_out_pairs, training_jobs
from workers.training.scenes.text import CAPTION_PROMPTS, vocabulary
from workers.training.token_probe import TokenProbe, TokenTargets
from workers.training.vision_warmup import WarmupFrame, patch_grid, warm_up_tower

DONE = "DONE"
DATASETS = ("image_text", "video_text", "conversations")


def corpus() -> list[str]:
    """Text the tokenizer is trained on: prompts, questions, answers and their words (bare and after a space)."""
    words = vocabulary() + list(ACTIONS)
    texts = [CAPTION_PROMPT, *CAPTION_PROMPTS, IMAGE_QUESTION, "nothing",
             ACTION_QUESTION.format(options=", ".join(ACTIONS)), SCORE_QUESTION.format(options=", ".join(ACTIONS))]
    return texts + words + [" " + w for w in words]


def component(model: VilaModel, name: str) -> torch.nn.Module:
    return {"llm": model.llm, "vision_tower": model.tower, "mm_projector": model.projector}[name]


def set_trainable(model: VilaModel, names: tuple[str, ...]) -> list[torch.nn.Parameter]:
    """Freeze everything but ``names``; returns the trainable parameters."""
    return [p for group in param_groups(model, names) for p in group["params"]]


def param_groups(model: VilaModel, names: tuple[str, ...], tower_lr_scale: float = 1.0) -> list[dict]:
    """Freeze everything but ``names``; optimizer groups of the trainable parameters, each with its
    ``lr_scale`` (``tower_lr_scale`` for the vision tower, 1 otherwise)."""
    groups = []
    for name in ("llm", "vision_tower", "mm_projector"):
        module = component(model, name)
        module.train(name in names)
        for p in module.parameters():
            p.requires_grad_(name in names)
        if name in names:
            groups.append({"params": list(module.parameters()),
                           "lr_scale": tower_lr_scale if name == "vision_tower" else 1.0})
    return groups


def choose_turns(sample: Sample, stage: Stage, rng: random.Random) -> list[tuple[str, str]]:
    """The turns of ``sample`` one step trains: its first ``lead_turns``, then the rest of
    ``turns_per_clip`` drawn from its other turns."""
    lead = list(sample.turns[:stage.lead_turns])
    rest = list(sample.turns[stage.lead_turns:])
    return lead + rng.sample(rest, min(max(0, stage.turns_per_clip - len(lead)), len(rest)))


def lr_factor(step: int, stage: Stage) -> float:
    """Linear warm-up, then cosine decay to 10 %."""
    if step < stage.warmup:
        return (step + 1) / stage.warmup
    progress = (step - stage.warmup) / max(1, stage.steps - stage.warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def training_clips(recipe: Recipe) -> list[tuple[int, dict]]:
    """The recipe's training clips as (seed, ``plan_scene`` options); none shows a held-out pair."""
    return training_jobs(recipe.train_clips, seed=recipe.seed, two_object_share=recipe.two_object_share,
                         held=held_out_pairs(recipe.held_out_pairs, recipe.held_out_seed),
                         still_share=recipe.still_share)


def train(recipe: Recipe, out: Path, *, ranks: int = 1, threads: int = 1, workers: int = 2,
          progress: bool = True) -> Path:
    """Run ``recipe`` into ``out`` over ``ranks`` data-parallel processes of ``threads`` torch threads each;
    returns the final checkpoint.

    The scenes are rendered (and the datasets checked) here first, so bad data is reported before any
    rank starts. Each part (the base, each stage) runs in fresh rank processes: in one process that had
    run the whole recipe, instruction tuning ran 2.9 times slower than in a fresh one (measured, cause
    not found); the parts hand over through their saved checkpoints anyway.
    """
    smallest = min(recipe.train_clips, recipe.text_batch, recipe.vision_batch, *(s.clips_per_step for s in recipe.stages))
    if ranks > smallest:
        raise InvalidInput(f"--ranks {ranks} is more than the smallest batch of the recipe ({smallest}): "
                           "every rank needs a share of every batch")
    out = Path(out)
    data = Trainer(recipe, out, progress=progress, workers=workers).prepare_data()
    for kind in DATASETS:
        data[kind]  # noqa: B018 -- reading checks it
    for part in range(len(recipe.stages) + 1):
        run_ranks(functools.partial(_train_rank, recipe, out, progress, part), ranks, threads=threads, spawn=True)
    return out / f"stage{len(recipe.stages)}-{recipe.stages[-1].name}"


def _train_rank(recipe: Recipe, out: Path, progress: bool, part: int, ranks: Ranks) -> None:
    Trainer(recipe, out, progress=progress, ranks=ranks).run(until=part)


class Trainer:
    """Runs ``recipe`` into ``out``; ``progress`` shows tqdm bars, ``log`` gets one-line messages.

    With ``ranks`` of a data-parallel run (``parallel.run_ranks``) every rank runs a Trainer on its shard of
    the clips, drawing its share of each batch from it; rank 0 alone writes, shows progress and logs.
    """

    def __init__(self, recipe: Recipe, out: Path, *, progress: bool = True,
                 log: Callable[[str], None] = print, workers: int = 2, max_steps: int | None = None,
                 ranks: Ranks = Ranks()) -> None:
        self.recipe, self.out, self.workers, self.ranks = recipe, Path(out), workers, ranks
        self.progress = progress and ranks.main
        self.log = log if ranks.main else (lambda _: None)
        self.losses: list[dict] = []
        # Frames as model-size pixels, read once and shared by the parts this Trainer runs (train() runs each
        # part in fresh processes, so there each part reads the frames it uses once).
        self.store: FrameStore | None = None
        # Stage steps this invocation may take before it saves its state and stops (None: no limit).
        self.budget = max_steps

    # ------------------------------------------------------------------ steps of the run
    def run(self, until: int | None = None) -> Path | None:
        """Everything up to part ``until`` (0 the base, i stage i; default all); returns that part's
        checkpoint, or None when ``max_steps`` stopped it first (its state is saved: run again to resume).
        Finished parts are skipped, so a later call goes on where an earlier one stopped."""
        last = len(self.recipe.stages) if until is None else until
        if self.ranks.main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "recipe.json").write_text(json.dumps(asdict(self.recipe), indent=2) + "\n")
        self.losses = self._read_losses()
        data = self.prepare_data()
        previous = self.prepare_base(data)
        for index, stage in enumerate(self.recipe.stages[:last], 1):
            previous = self.run_stage(index, stage, previous, data)
            if previous is None:
                self._write_losses()
                return None
        if self.ranks.main and last == len(self.recipe.stages):
            plot_losses(self.losses, self.out / "loss_curves.png")
        return previous

    def prepare_data(self) -> "Datasets":
        root = self.out / "data"
        if not (root / DONE).is_file() and self.ranks.main:
            r = self.recipe
            jobs = training_clips(r)
            began = time.perf_counter()
            bar = tqdm(total=len(jobs), desc="render scenes", disable=not self.progress, unit="clip")
            write_datasets(root, jobs, frames=r.frames, image_size=r.dims.image_size, max_side=r.render_side,
                           workers=self.workers, views=r.views,
                           progress=lambda done: bar.update(done - bar.n))
            bar.close()
            held = held_out_pairs(r.held_out_pairs, r.held_out_seed)
            crowd = crowded_jobs(r.crowded_frames, seed=r.seed, held=held)
            if crowd:
                bar = tqdm(total=len(crowd), desc="render warm-up frames", disable=not self.progress, unit="frame")
                write_crowded(root, crowd, image_size=r.dims.image_size, max_side=r.render_side,
                              workers=self.workers, progress=lambda done: bar.update(done - bar.n))
                bar.close()
            (root / DONE).write_text(f"{len(jobs)} clips\n")
            self.log(f"rendered {len(jobs)} training clips and {len(crowd)} crowded warm-up frames in "
                     f"{time.perf_counter() - began:.0f} s")
        self.ranks.barrier()
        return Datasets(root)

    def prepare_base(self, data: "Datasets") -> Path:
        base = self.out / "base"
        if (base / DONE).is_file():
            return base
        r = self.recipe
        began = time.perf_counter()
        if self.ranks.main:
            build_base(base, corpus(), r.dims, seed=r.seed)
        self.ranks.barrier()
        model = load_model(base)
        params = set_trainable(model, ("llm",))
        optimizer = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.01, fused=True)
        pairs = text_pairs([s for kind in DATASETS for s in data[kind]])
        encoder = TurnEncoder(model)
        bar = tqdm(range(r.text_steps), desc="base: LLM text warm-up", disable=not self.progress)
        for step in bar:
            rng = random.Random(f"{r.seed}-text-{step}")
            batch = text_batch(encoder, self.ranks.share(rng.sample(pairs, min(r.text_batch, len(pairs)))))
            loss = turn_loss(model.llm, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            mean = self.ranks.average(params, loss)
            optimizer.step()
            self._record("text", step, mean)
            bar.set_postfix(loss=f"{mean:.3f}")
        self._warm_up_vision(model)
        self.ranks.check_in_step(list(model.llm.parameters()) + list(model.tower.parameters()))
        if self.ranks.main:
            save_checkpoint(model, base, base, extra={"stage": "base", "text_steps": r.text_steps,
                                                      "vision_steps": r.vision_steps, **self._compute()})
            (base / DONE).write_text("ok\n")
            self._write_losses()
        self.ranks.barrier()
        self.log(f"base: text and vision warm-ups in {time.perf_counter() - began:.0f} s")
        return base

    def run_stage(self, index: int, stage: Stage, previous: Path, data: "Datasets") -> Path | None:
        target = self.out / f"stage{index}-{stage.name}"
        if (target / DONE).is_file():
            return target
        r = self.recipe
        model = load_model(previous)
        names = trainable_components(stage.name, tower_from_scratch=r.tower_from_scratch)
        groups = param_groups(model, names, stage.tower_lr_scale)
        params = [p for group in groups for p in group["params"]]
        optimizer = torch.optim.AdamW(groups, lr=stage.lr, weight_decay=0.01, fused=True)
        state_path = self.out / "state" / f"stage{index}.pt"
        encoder = TurnEncoder(model)
        # This rank's shard: it alone reads, and encodes, the frames of its clips.
        pool = self.ranks.shard([s for kind in stage.datasets for s in data[kind] if s.has_media], key=lambda sample: sample.media)
        store = self._frame_store(model)
        # A frozen tower's outputs are computed once per clip (feature_cache).
        cache = None if "vision_tower" in names else TowerCache(encoder, store)
        # Several turns per clip: each clip's prompt head (the video) runs once (batching.SharedBatch).
        build, loss_of = ((encoder.build_shared, shared_turn_loss) if stage.turns_per_clip > 1
                          else (encoder.build_projected, turn_loss))
        probe, targets = self._token_probe(model, stage, index)
        if probe is not None:
            groups.append({"params": list(probe.parameters()), "lr_scale": 1.0})
            optimizer.add_param_group(groups[-1])
            params += groups[-1]["params"]
        start = self._resume(state_path, model, optimizer, probe)
        bar = tqdm(range(start, stage.steps), initial=start, total=stage.steps, disable=not self.progress,
                   desc=f"stage {index} {stage.name} [{'+'.join(names)}]")
        began = time.perf_counter()
        for step in bar:
            if self.budget is not None and self.budget <= 0:
                if self.ranks.main:
                    self._save_state(state_path, model, optimizer, step, probe)
                self.ranks.barrier()
                bar.close()
                self.log(f"stopped in stage {index} ({stage.name}) at step {step}; run again to resume")
                return None
            if self.budget is not None:
                self.budget -= 1
            for group in optimizer.param_groups:
                group["lr"] = stage.lr * group.get("lr_scale", 1.0) * lr_factor(step, stage)
            picked, turns = self._batch(pool, stage, self.ranks.count(stage.clips_per_step),
                                        random.Random(f"{r.seed}-{stage.name}-{step}-{self.ranks.rank}"))
            outputs = cache.outputs(picked) if cache is not None else encoder.tower_outputs_of(*store.pixels(picked))
            clip_targets = [targets.of(sample) for sample in picked] if probe is not None else None
            loss = loss_of(model.llm, build(encoder.project(outputs), turns, clip_targets), probe)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            mean = self.ranks.average(params, loss)
            torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
            optimizer.step()
            self._record(stage.name, step, mean)
            bar.set_postfix(loss=f"{mean:.3f}")
            if (step + 1) % r.save_every == 0 and step + 1 < stage.steps and self.ranks.main:
                self._save_state(state_path, model, optimizer, step + 1, probe)
        bar.close()
        self.log(f"stage {index} ({stage.name}) trained {stage.steps - start} steps "
                 f"in {time.perf_counter() - began:.0f} s")
        self.ranks.check_in_step(params)
        if self.ranks.main:
            save_checkpoint(model, previous, target, extra={"stage": stage.name, "trainable": list(names),
                                                            "steps": stage.steps, "recipe": r.name, **self._compute()})
            (target / DONE).write_text("ok\n")
            self._write_losses()
            state_path.unlink(missing_ok=True)
        self.ranks.barrier()
        return target

    # ------------------------------------------------------------------ internals
    def _warm_up_vision(self, model: VilaModel) -> None:
        r = self.recipe
        if r.vision_steps <= 0:
            return
        root = self.out / "data"
        scenes = json.loads((root / "scenes.json").read_text())
        if (root / "crowded.json").is_file():
            scenes += [{**scene, "folder": "crowded", "frames": 1}
                       for scene in json.loads((root / "crowded.json").read_text())]
        store, grid = self._frame_store(model), patch_grid(model)

        frames = StoredFrames(root, self.ranks.shard(scenes, key=lambda scene: scene["id"]), store, grid, r.frames,
                              mirror=r.vision_mirror)

        bar = tqdm(total=r.vision_steps, desc="base: vision warm-up", disable=not self.progress)

        def on_step(step: int, loss: float) -> None:
            self._record("vision", step, loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")

        warm_up_tower(model, frames, steps=r.vision_steps, batch=r.vision_batch, lr=r.vision_lr, seed=r.seed,
                      scene_weight=r.vision_scene_weight, gain_jitter=r.vision_gain_jitter, on_step=on_step,
                      ranks=self.ranks)
        bar.close()

    def _token_probe(self, model: VilaModel, stage: Stage,
                     index: int) -> tuple[TokenProbe | None, TokenTargets | None]:
        """The stage's token probe and its targets (``Stage.probe_weight``; None when it has none); the probe
        is seeded by the recipe and the stage, so every rank starts it equal."""
        if stage.probe_weight <= 0:
            return None, None
        grid = patch_grid(model)
        side = math.isqrt(model.projector.num_tokens(grid * grid))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1000 * self.recipe.seed + index)
            probe = TokenProbe(model.llm.config.hidden_size, layer=self.recipe.probe_layer,
                               weight=stage.probe_weight)
        return probe, TokenTargets(self.out / "data", frames=self.recipe.frames, side=side)

    def _compute(self) -> dict:
        """What the weights depend on beyond the recipe: the float rounding of the threads and ranks."""
        return {"torch_threads": torch.get_num_threads(), "ranks": self.ranks.world}

    def _frame_store(self, model: VilaModel) -> FrameStore:
        """This Trainer's :class:`FrameStore` (every stage of the tiny recipe keeps the base's image processor)."""
        if self.store is None or self.store.processor != model.processor:
            self.store = FrameStore(model.processor, self.recipe.frames)
        return self.store

    @staticmethod
    def _batch(pool: list[Sample], stage: Stage, count: int,
               rng: random.Random) -> tuple[list[Sample], list[Turn]]:
        """``count`` clips of the step and their turns (each naming its clip by index)."""
        picked = rng.sample(pool, min(count, len(pool)))
        turns = [Turn(index, q, a) for index, sample in enumerate(picked) for q, a in choose_turns(sample, stage, rng)]
        return picked, turns

    def _record(self, stage: str, step: int, loss: float) -> None:
        self.losses.append({"stage": stage, "step": step, "loss": round(loss, 5)})

    def _write_losses(self) -> None:
        if not self.ranks.main:
            return
        lines = "".join(json.dumps(x) + "\n" for x in self.losses)
        (self.out / "losses.jsonl").write_text(lines)

    def _read_losses(self) -> list[dict]:
        path = self.out / "losses.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []

    def _save_state(self, path: Path, model: VilaModel, optimizer: torch.optim.Optimizer, step: int,
                    probe: torch.nn.Module | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"step": step, "optimizer": optimizer.state_dict(), "losses": self.losses,
                 **{name: component(model, name).state_dict() for name in ("llm", "vision_tower", "mm_projector")}}
        if probe is not None:
            state["probe"] = probe.state_dict()
        torch.save(state, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)

    def _resume(self, path: Path, model: VilaModel, optimizer: torch.optim.Optimizer,
                probe: torch.nn.Module | None = None) -> int:
        if not path.is_file():
            return 0
        state = torch.load(path, weights_only=False)
        for name in ("llm", "vision_tower", "mm_projector"):
            component(model, name).load_state_dict(state[name])
        if probe is not None:
            if "probe" not in state:
                raise InvalidInput(f"{path} was saved by a run without the token probe, which this recipe trains; "
                                   "remove it to start the stage again")
            probe.load_state_dict(state["probe"])
        optimizer.load_state_dict(state["optimizer"])
        self.losses = state["losses"]
        self.log(f"resuming {path.stem} at step {state['step']}")
        return int(state["step"])


class Datasets(dict):
    """A run's datasets by kind, each read on first use (a stage's ranks read only the stage's datasets)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, kind: str) -> list[Sample]:
        path = self.root / f"{kind}.json"
        self[kind] = read_dataset(path) if path.is_file() else []
        return self[kind]


class StoredFrames:
    """The vision warm-up's :class:`~workers.training.vision_warmup.FrameSource` over a run's rendered clips.

    The warm-up draws each stored frame many times (the recipe: 115,200 draws a rank, of the 32,000 frames of
    its shard): each scene is planned, and each frame read and labelled, once. With ``mirror`` half the
    draws, at random, show the frame flipped left to right.
    """

    def __init__(self, root: Path, scenes: list[dict], store: FrameStore, grid: int, frames: int,
                 mirror: bool = False) -> None:
        self.root, self.scenes, self.store, self.grid, self.frames = root, scenes, store, grid, frames
        self.mirror = mirror
        self._plans: dict[str, tuple] = {}
        self._loaded: dict[tuple[str, int], WarmupFrame] = {}

    def _plan(self, record: dict) -> tuple:
        if record["id"] not in self._plans:
            plan = plan_scene(record["seed"], **record["options"])
            self._plans[record["id"]] = (plan, sample_times(plan, record.get("frames", self.frames)))
        return self._plans[record["id"]]

    def draw(self, rng: random.Random, n: int) -> list[tuple[dict, int, bool]]:
        return [(record, rng.randrange(len(self._plan(record)[1])), self.mirror and rng.random() < 0.5)
                for record in rng.sample(self.scenes, min(n, len(self.scenes)))]

    def load(self, key: tuple[dict, int, bool]) -> WarmupFrame:
        record, k, mirror = key
        if (record["id"], k) not in self._loaded:
            plan, picked = self._plan(record)
            pixels = self.store.frame(self.root / record.get("folder", "frames") / record["id"] / f"{k}.png")
            self._loaded[record["id"], k] = WarmupFrame.of(pixels, plan, picked[k], self.grid)
        frame = self._loaded[record["id"], k]
        return frame.mirror() if mirror else frame
