"""Scene plans: everything about one synthetic clip, drawn from a seed (pure, no pixels).

The distribution follows issue 5's text:

* 2 to 8 s at 8 to 30 fps; any size from 160x120 to 640x480 with aspect 4:3 to 16:9;
* a flat grey background or a low-contrast grey texture, Gaussian sensor noise with
  sigma up to 8/255, a global brightness drift up to +-20 % over the clip (not an action);
* one or two objects, each a filled circle, square or triangle in red, green, blue,
  yellow or white (never two with the same shape and colour), 10 to 25 % of the frame height;
* each object does one of seven actions: moving left/right/up/down (travels at least
  30 % of the frame width or height), staying still (moves less than 3 %), appearing
  (absent in the first quarter of the frames, present from the middle on),
  disappearing (present in the first half, absent in the last quarter).

Positions are fractions of the frame (x of the width, y of the height) of the
object's centre; ``ObjectPlan.position(i)`` and ``visible(i)`` give them per frame.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Iterable

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 35, 35), "green": (40, 180, 60), "blue": (40, 70, 225),
    "yellow": (235, 215, 40), "white": (240, 240, 240),
}
SHAPES = ("circle", "square", "triangle")
MOTIONS = {"moving left": (-1, 0), "moving right": (1, 0), "moving up": (0, -1), "moving down": (0, 1)}
ACTIONS = ("moving left", "moving right", "moving up", "moving down", "staying still", "appearing", "disappearing")
STILL_ACTIONS = ("staying still", "appearing", "disappearing")  # the actions without motion
OBJECTS: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLOURS for s in SHAPES)

MIN_TRAVEL, MAX_STILL = 0.30, 0.03
MIN_SIZE, MAX_SIZE = 0.10, 0.25
MAX_NOISE, MAX_DRIFT = 8 / 255, 0.20
COLOUR_JITTER = 18


@dataclass(frozen=True)
class ObjectPlan:
    """One object. ``start``/``end`` are centre positions (fractions); ``size`` is a fraction of the height.

    ``appear``/``vanish`` are the first/last visible frame indices; ``fade`` frames of
    alpha ramp end at ``appear`` (or start after ``vanish``); ``ease`` shapes the motion.
    """

    colour: str
    shape: str
    action: str
    rgb: tuple[int, int, int]
    size: float
    start: tuple[float, float]
    end: tuple[float, float]
    appear: int
    vanish: int
    fade: int
    ease: str
    orientation: int  # triangle: 0 up, 1 right, 2 down, 3 left
    wobble: float

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"

    def alpha(self, i: int) -> float:
        """Opacity at frame ``i`` (0 absent, 1 fully present)."""
        if i > self.vanish:
            return 0.0 if i > self.vanish + self.fade else 1.0 - (i - self.vanish) / (self.fade + 1)
        if i < self.appear:
            return 0.0 if i < self.appear - self.fade else 1.0 - (self.appear - i) / (self.fade + 1)
        return 1.0

    def visible(self, i: int) -> bool:
        return self.appear <= i <= self.vanish

    def position(self, i: int, frames: int) -> tuple[float, float]:
        t = i / max(1, frames - 1)
        if self.ease == "smooth":
            t = t * t * (3 - 2 * t)
        wob = self.wobble * math.sin(2 * math.pi * t)
        return (self.start[0] + (self.end[0] - self.start[0]) * t + wob,
                self.start[1] + (self.end[1] - self.start[1]) * t + wob / 2)


@dataclass(frozen=True)
class ScenePlan:
    seed: int
    duration: float
    fps: int
    width: int
    height: int
    grey: int
    texture: str  # "flat", "blobs", "stripes"
    texture_amp: float
    noise: float  # sigma in [0, 1] units
    drift: float  # brightness factor at the last frame is 1 + drift
    objects: tuple[ObjectPlan, ...]

    @property
    def frames(self) -> int:
        return max(2, round(self.duration * self.fps))

    def brightness(self, i: int) -> float:
        return 1.0 + self.drift * i / max(1, self.frames - 1)


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _size(rng: random.Random) -> tuple[int, int]:
    height = rng.uniform(120, 480)
    aspect = rng.uniform(4 / 3, 16 / 9)
    width = min(640.0, max(160.0, height * aspect))
    height = min(480.0, max(120.0, width / aspect))
    return _even(width), _even(height)


def _object(rng: random.Random, colour: str, shape: str, action: str, frames: int, aspect: float) -> ObjectPlan:
    size = rng.uniform(MIN_SIZE, MAX_SIZE)
    half_y = size / 2 + 0.01
    half_x = size / 2 / aspect + 0.01
    cx, cy = rng.uniform(half_x, 1 - half_x), rng.uniform(half_y, 1 - half_y)
    start = end = (cx, cy)
    wobble = 0.0
    if action in MOTIONS:
        dx, dy = MOTIONS[action]
        half = half_x if dx else half_y
        room = 1 - 2 * half
        travel = rng.uniform(MIN_TRAVEL + 0.02, max(MIN_TRAVEL + 0.03, room))
        first = rng.uniform(half, 1 - half - travel) if room > travel else half
        a, b = (first, first + travel) if (dx or dy) > 0 else (first + travel, first)
        start, end = ((a, cy), (b, cy)) if dx else ((cx, a), (cx, b))
    else:
        wobble = rng.uniform(0.0, 0.008)
    appear, vanish, fade = 0, frames - 1, 0
    if action == "appearing":
        appear = rng.randint(math.ceil(frames / 4), math.ceil(frames / 2))
        fade = rng.choice([0, 0, rng.randint(0, max(0, appear - math.ceil(frames / 4)))])
    elif action == "disappearing":
        vanish = rng.randint(math.ceil(frames / 2) - 1, math.ceil(3 * frames / 4) - 1)
        fade = rng.choice([0, 0, rng.randint(0, max(0, math.ceil(3 * frames / 4) - 1 - vanish - 1))])
    base = COLOURS[colour]
    rgb = tuple(min(255, max(0, c + rng.randint(-COLOUR_JITTER, COLOUR_JITTER))) for c in base)
    orientation = 0 if rng.random() < 0.7 else rng.randint(1, 3)
    return ObjectPlan(colour=colour, shape=shape, action=action, rgb=rgb, size=size, start=start, end=end,
                      appear=appear, vanish=vanish, fade=fade, ease=rng.choice(["linear", "smooth"]),
                      orientation=orientation, wobble=wobble)


def at_most(plan: ScenePlan, side: int | None) -> ScenePlan:
    """``plan`` rendered no larger than ``side`` pixels on its long edge (the same scene: positions and
    sizes are fractions of the frame). Training renders smaller frames to save time; the model only
    ever sees a small square resize of them."""
    if side is None or max(plan.width, plan.height) <= side:
        return plan
    scale = side / max(plan.width, plan.height)
    return replace(plan, width=_even(plan.width * scale), height=_even(plan.height * scale))


MIRRORED_ACTIONS = {"moving left": "moving right", "moving right": "moving left"}
REVERSED_ACTIONS = {**MIRRORED_ACTIONS, "moving up": "moving down", "moving down": "moving up",
                    "appearing": "disappearing", "disappearing": "appearing"}


def mirrored(plan: ScenePlan) -> ScenePlan:
    """The scene seen in a mirror (frames flipped left to right): x -> 1 - x, left <-> right.

    Exact for everything the captions and labels read; the wobble of a still object keeps its vertical
    sign (it is under 0.4 % of the height)."""
    flip = {1: 3, 3: 1}
    objects = tuple(replace(o, action=MIRRORED_ACTIONS.get(o.action, o.action), start=(1 - o.start[0], o.start[1]),
                            end=(1 - o.end[0], o.end[1]), wobble=-o.wobble,
                            orientation=flip.get(o.orientation, o.orientation)) for o in plan.objects)
    return replace(plan, objects=objects)


def reversed_plan(plan: ScenePlan) -> ScenePlan:
    """The scene played backwards (frame i shows what frame ``frames - 1 - i`` showed): motions reverse,
    appearing <-> disappearing. Positions and opacities are exact (both easings are symmetric); the
    brightness runs from ``1 + drift`` down to 1, which a plan, starting at 1, writes as the relative drift
    ``-drift / (1 + drift)``."""
    last = plan.frames - 1
    objects = tuple(replace(o, action=REVERSED_ACTIONS.get(o.action, o.action), start=o.end, end=o.start,
                            wobble=-o.wobble, appear=last - o.vanish, vanish=last - o.appear)
                    for o in plan.objects)
    return replace(plan, objects=objects, drift=-plan.drift / (1 + plan.drift))


def view_plan(plan: ScenePlan, *, mirror: bool, reverse: bool) -> ScenePlan:
    """The scene a view of its clip shows: mirrored first, then played backwards."""
    seen = mirrored(plan) if mirror else plan
    return reversed_plan(seen) if reverse else seen


def both_visible_frame(plan: ScenePlan) -> int | None:
    """First frame where every object is visible (None when there is none)."""
    for i in range(plan.frames):
        if all(o.visible(i) for o in plan.objects):
            return i
    return None


def apart(a: ObjectPlan, b: ObjectPlan, aspect: float, frame: int, frames: int) -> bool:
    """Whether the boxes of ``a`` and ``b`` are apart in ``frame`` (a margin of 2 % of the height between them)."""
    (ax, ay), (bx, by) = a.position(frame, frames), b.position(frame, frames)
    return max(abs(ax - bx) * aspect, abs(ay - by)) >= (a.size + b.size) / 2 + 0.02


def separated(plan: ScenePlan) -> bool:
    """Two objects apart horizontally where the caption orders them, so the order is well defined; more
    objects (the vision warm-up's crowded frames of still objects, never captioned) all apart from each
    other at the start, middle and end of the clip."""
    if len(plan.objects) < 2:
        return True
    if len(plan.objects) > 2:
        aspect = plan.width / plan.height
        return all(apart(a, b, aspect, i, plan.frames) for i in {0, plan.frames // 2, plan.frames - 1}
                   for k, a in enumerate(plan.objects) for b in plan.objects[k + 1:])
    i = both_visible_frame(plan)
    if i is None:
        return False
    (a, b), aspect = plan.objects, plan.width / plan.height
    gap = abs(a.position(i, plan.frames)[0] - b.position(i, plan.frames)[0])
    return gap >= 0.6 * (a.size + b.size) / 2 / aspect + 0.03


def plan_scene(seed: int, *, count: int | None = None,
               objects: Iterable[tuple[str, str]] | None = None,
               actions: Iterable[str] | None = None,
               drift: float | None = None, allowed_pair=None) -> ScenePlan:
    """The scene for ``seed`` (same seed, same plan).

    ``count`` fixes the number of objects, ``objects`` their (colour, shape),
    ``actions`` their actions, ``drift`` the brightness drift; ``allowed_pair(a, b)`` filters two-object choices
    (a held-out split). Anything not fixed is drawn from the seed.
    """
    rng = random.Random(seed)
    duration = rng.uniform(2.0, 8.0)
    fps = rng.randint(8, 30)
    width, height = _size(rng)
    frames = max(2, round(duration * fps))
    grey = rng.randint(40, 200)
    texture = rng.choice(["flat", "blobs", "stripes"])
    texture_amp = rng.uniform(0.02, 0.07) if texture != "flat" else 0.0
    noise = rng.uniform(0.0, MAX_NOISE)
    drift = rng.uniform(-MAX_DRIFT, MAX_DRIFT) if drift is None else drift
    fixed = [tuple(o) for o in objects] if objects is not None else None
    n = len(fixed) if fixed else (count or rng.choice([1, 2]))
    acts = list(actions) if actions is not None else None
    for _ in range(200):
        chosen = fixed or rng.sample(OBJECTS, n)
        if n == 2 and allowed_pair is not None and not fixed and not allowed_pair(*chosen):
            continue
        todo = acts or [rng.choice(ACTIONS) for _ in range(n)]
        plan = ScenePlan(
            seed=seed, duration=duration, fps=fps, width=width, height=height, grey=grey, texture=texture,
            texture_amp=texture_amp, noise=noise, drift=drift,
            objects=tuple(_object(rng, c, s, a, frames, width / height) for (c, s), a in zip(chosen, todo)),
        )
        if separated(plan):
            return plan
    raise ValueError(f"seed {seed}: no valid scene for objects={fixed} actions={acts}")
