"""Write synthetic scenes as LLaVA-style JSON datasets (what ``workers.training.data`` reads).

``write_datasets(root, seeds, ...)`` renders every scene's sampled frames through
the ingest path (``frames.window_images``), stores them as PNG in
``root/frames/<id>/<k>.png`` and writes three datasets next to them:

* ``image_text.json``: one frame and the objects it shows (``a red circle and a blue square``);
* ``video_text.json``: the clip and its canonical caption;
* ``conversations.json``: the clip and its instruction turns (caption prompts, the
  action question over the seven actions, and the QA of ``text.questions``).

With ``views`` each clip is also described as it looks mirrored and/or played
backwards (records with ``"mirror": true`` / ``"reverse": true``, which
``workers.training.data`` applies to the stored frames): new clips for the price
of the text.

Each record is ``{"id", "image" | "video", "conversations": [{"from": "human",
"value": "<video>\\n..."}, {"from": "gpt", "value": "..."}, ...]}`` (paths relative
to ``root``). ``scenes.json`` keeps the plans' seeds and ground truth. Rendering
runs in ``workers`` processes; the output does not depend on their number.
"""
from __future__ import annotations

import json
import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Sequence

from PIL import Image

from workers.training.scenes.frames import window_images
from workers.training.scenes.render import sample_times
from workers.training.scenes.spec import ACTIONS, ScenePlan, plan_scene, separated, view_plan
from workers.training.scenes.text import CAPTION_PROMPTS, caption, ordered, questions

ACTION_QUESTION = "Which of these best describes what happens in the video: {options}? Answer with one of them."
IMAGE_QUESTION = "What objects are in this image?"


def main_action(plan: ScenePlan) -> str:
    """The scene's action for the action question: the first object (caption order) that does more
    than stay still, else ``staying still``."""
    for obj in ordered(plan):
        if obj.action != "staying still":
            return obj.action
    return "staying still"


def frame_objects(plan: ScenePlan, frame: int) -> str:
    """The objects visible (alpha > 0.5) in ``frame``, left to right, or ``nothing``."""
    shown = [o for o in plan.objects if o.alpha(frame) > 0.5]
    shown.sort(key=lambda o: o.position(frame, plan.frames)[0])
    return " and ".join(f"a {o.colour} {o.shape}" for o in shown) or "nothing"


def action_turns(plan: ScenePlan, rng: random.Random, labels: Sequence[str] = ACTIONS) -> list[tuple[str, str]]:
    """The action question with the labels in their default order and once shuffled."""
    answer = main_action(plan)
    shuffled = list(labels)
    rng.shuffle(shuffled)
    return [(ACTION_QUESTION.format(options=", ".join(o)), answer) for o in (labels, shuffled)]


def _turn(question: str, answer: str, media: str | None) -> list[dict]:
    tag = f"<{media}>\n" if media else ""
    return [{"from": "human", "value": tag + question}, {"from": "gpt", "value": answer}]


def _render(job: tuple[int, dict, int, int, str, int | None]) -> dict:
    seed, options, frames, image_size, folder, max_side = job
    plan = plan_scene(seed, **options)
    images = window_images(plan, frames, lambda im: im.resize((image_size, image_size), Image.Resampling.BICUBIC),
                           max_side=max_side)
    out = Path(folder) / f"{seed:08d}"
    out.mkdir(parents=True, exist_ok=True)
    for k, image in enumerate(images):
        image.save(out / f"{k}.png", optimize=False, compress_level=1)
    return {"seed": seed, "options": options}


def _render_all(todo: list[tuple], workers: int, progress: Callable[[int], None] | None) -> None:
    """:func:`_render` every job in ``workers`` processes, reporting the count done to ``progress``.

    The workers are spawned, not forked: a fork copies whatever the caller's other threads hold (a gRPC
    server's or torch's), and a forked worker of a test process that had run gRPC calls spun forever
    collecting gRPC objects it had inherited."""
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        for done, _ in enumerate(pool.map(_render, todo, chunksize=32), 1):
            if progress:
                progress(done)


VIEWS = ("mirror", "reverse")


def views_of(plan: ScenePlan, views: Sequence[str]) -> list[tuple[dict, ScenePlan]]:
    """The scene as stored, then as each combination of ``views`` shows it (``mirror``: frames flipped left
    to right; ``reverse``: frames in reverse order), as (record flags, the plan that view shows). A view whose
    two objects are too close to order where both are first visible is left out (its caption would be
    ambiguous), as ``plan_scene`` leaves such scenes out."""
    unknown = set(views) - set(VIEWS)
    if unknown:
        raise ValueError(f"unknown views {sorted(unknown)}; views are {', '.join(VIEWS)}")
    out = [({}, plan)]
    for mirror in (False, True) if "mirror" in views else (False,):
        for reverse in (False, True) if "reverse" in views else (False,):
            if mirror or reverse:
                seen = view_plan(plan, mirror=mirror, reverse=reverse)
                if separated(seen):
                    flags = ({"mirror": True} if mirror else {}) | ({"reverse": True} if reverse else {})
                    out.append((flags, seen))
    return out


def clip_records(plan: ScenePlan, frames: int, views: Sequence[str] = ()) -> dict[str, list[dict]]:
    """The records of one rendered clip (``frames/<id>/<k>.png``) by dataset kind, one per view.

    The stored view's records depend on the seed alone; another view draws its prompts from its own
    generator, and its text describes the scene that view shows. ``image_text`` holds the stored and the
    mirrored frame (a single frame has no direction of time)."""
    cid = f"{plan.seed:08d}"
    picked = sample_times(plan, frames)
    out: dict[str, list[dict]] = {"image_text": [], "video_text": [], "conversations": []}
    for flags, seen in views_of(plan, views):
        name = "".join(f"-{v}" for v in VIEWS if flags.get(v))
        rng = random.Random(plan.seed if not flags else f"{plan.seed}{name}")
        k = rng.randrange(len(picked))
        if not flags.get("reverse"):
            out["image_text"].append({"id": f"{cid}-i{name}", "image": f"frames/{cid}/{k}.png", **flags,
                                      "conversations": _turn(IMAGE_QUESTION, frame_objects(seen, picked[k]),
                                                             "image")})
        text = caption(seen)
        out["video_text"].append({"id": f"{cid}-v{name}", "video": f"frames/{cid}", **flags,
                                  "conversations": _turn(rng.choice(CAPTION_PROMPTS), text, "video")})
        turns = [(CAPTION_PROMPTS[0], text)] + action_turns(seen, rng) + questions(seen, rng)
        out["conversations"].append({"id": f"{cid}-c{name}", "video": f"frames/{cid}", **flags,
                                     "conversations": [m for i, (q, a) in enumerate(turns)
                                                       for m in _turn(q, a, "video" if i == 0 else None)]})
    return out


def write_datasets(root: Path, jobs: Iterable[tuple[int, dict]], *, frames: int, image_size: int,
                   max_side: int | None = None, workers: int = 2, views: Sequence[str] = (),
                   progress: Callable[[int], None] | None = None) -> dict[str, Path]:
    """Render ``jobs`` (seed, plan_scene keyword options) into ``root``; returns the dataset paths by kind.

    Frames are stored at ``image_size`` (the model's square input); ``max_side`` renders scenes smaller.
    ``views`` adds records that show each clip mirrored and/or reversed (:func:`views_of`).
    """
    root = Path(root)
    (root / "frames").mkdir(parents=True, exist_ok=True)
    todo = [(seed, options, frames, image_size, str(root / "frames"), max_side) for seed, options in jobs]
    _render_all(todo, workers, progress)
    return write_records(root, [(seed, options) for seed, options, *_ in todo], frames=frames, views=views)


def write_crowded(root: Path, jobs: Sequence[tuple[int, dict]], *, image_size: int, max_side: int | None = None,
                  workers: int = 2, progress: Callable[[int], None] | None = None) -> Path:
    """Render the middle frame of each crowded scene (``split.crowded_jobs``) into ``root/crowded/<id>/0.png``,
    as the clips' frames are rendered; returns ``crowded.json`` (id, seed and options of each). These frames
    serve the vision warm-up alone: no dataset describes them."""
    root = Path(root)
    (root / "crowded").mkdir(parents=True, exist_ok=True)
    _render_all([(seed, options, 1, image_size, str(root / "crowded"), max_side) for seed, options in jobs],
                workers, progress)
    path = root / "crowded.json"
    path.write_text("[\n" + ",\n".join(json.dumps({"id": f"{seed:08d}", "seed": seed, "options": options})
                                          for seed, options in jobs) + "\n]\n")
    return path


def write_records(root: Path, jobs: Sequence[tuple[int, dict]], *, frames: int,
                  views: Sequence[str] = ()) -> dict[str, Path]:
    """The datasets and ``scenes.json`` of clips already rendered into ``root`` (see :func:`write_datasets`)."""
    records: dict[str, list[dict]] = {"image_text": [], "video_text": [], "conversations": [], "scenes": []}
    for seed, options in jobs:
        plan = plan_scene(seed, **options)
        for kind, items in clip_records(plan, frames, views).items():
            records[kind].extend(items)
        records["scenes"].append({"id": f"{seed:08d}", "seed": seed, "options": options, "caption": caption(plan),
                                  "objects": [[o.colour, o.shape, o.action] for o in ordered(plan)]})
    paths = {}
    for name, items in records.items():
        paths[name] = root / f"{name}.json"
        # One record a line: readable, and written by json's C encoder (``indent`` would use the slow Python one).
        paths[name].write_text("[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n")
    return paths
