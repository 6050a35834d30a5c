"""Write synthetic scenes as LLaVA-style JSON datasets (what ``workers.training.data`` reads).

``write_datasets(root, seeds, ...)`` renders every scene's sampled frames through
the ingest path (``frames.window_images``), stores them as PNG in
``root/frames/<id>/<k>.png`` and writes three datasets next to them:

* ``image_text.json``: one frame and the objects it shows (``a red circle and a blue square``);
* ``video_text.json``: the clip and its canonical caption;
* ``conversations.json``: the clip and its instruction turns (caption prompts, the
  action question over the seven actions, and the QA of ``text.questions``).

Each record is ``{"id", "image" | "video", "conversations": [{"from": "human",
"value": "<video>\\n..."}, {"from": "gpt", "value": "..."}, ...]}`` (paths relative
to ``root``). ``scenes.json`` keeps the plans' seeds and ground truth. Rendering
runs in ``workers`` processes; the output does not depend on their number.
"""
from __future__ import annotations

import json
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Sequence

from PIL import Image

from workers.training.scenes.frames import window_images
from workers.training.scenes.render import sample_times
from workers.training.scenes.spec import ACTIONS, ScenePlan, plan_scene
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


def write_datasets(root: Path, jobs: Iterable[tuple[int, dict]], *, frames: int, image_size: int,
                   max_side: int | None = None, workers: int = 2,
                   progress: Callable[[int], None] | None = None) -> dict[str, Path]:
    """Render ``jobs`` (seed, plan_scene keyword options) into ``root``; returns the dataset paths by kind.

    Frames are stored at ``image_size`` (the model's square input); ``max_side`` renders scenes smaller.
    """
    root = Path(root)
    (root / "frames").mkdir(parents=True, exist_ok=True)
    todo = [(seed, options, frames, image_size, str(root / "frames"), max_side) for seed, options in jobs]
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, _ in enumerate(pool.map(_render, todo, chunksize=32), 1):
            if progress:
                progress(done)
    image_text, video_text, conversations, scenes = [], [], [], []
    for seed, options, *_ in todo:
        plan = plan_scene(seed, **options)
        rng = random.Random(seed)
        cid = f"{seed:08d}"
        picked = sample_times(plan, frames)
        k = rng.randrange(len(picked))
        image_text.append({"id": f"{cid}-i", "image": f"frames/{cid}/{k}.png",
                           "conversations": _turn(IMAGE_QUESTION, frame_objects(plan, picked[k]), "image")})
        text = caption(plan)
        video_text.append({"id": f"{cid}-v", "video": f"frames/{cid}",
                           "conversations": _turn(rng.choice(CAPTION_PROMPTS), text, "video")})
        turns = [(CAPTION_PROMPTS[0], text)] + action_turns(plan, rng) + questions(plan, rng)
        conversations.append({"id": f"{cid}-c", "video": f"frames/{cid}",
                              "conversations": [m for i, (q, a) in enumerate(turns)
                                                for m in _turn(q, a, "video" if i == 0 else None)]})
        scenes.append({"id": cid, "seed": seed, "options": options, "caption": text,
                       "objects": [[o.colour, o.shape, o.action] for o in ordered(plan)]})
    paths = {}
    for name, records in (("image_text", image_text), ("video_text", video_text),
                          ("conversations", conversations), ("scenes", scenes)):
        paths[name] = root / f"{name}.json"
        paths[name].write_text(json.dumps(records, indent=1) + "\n")
    return paths
