"""Score a checkpoint on held-out synthetic scenes (the ``synthetic`` suite).

The suite (``suite_jobs``) draws scenes from the evaluation seed range, which
training never uses: 45 % single-object clips, 45 % two-object clips (half of
them an object pair held out of training), 10 % clips where nothing moves under
the strongest brightness drift (+-15..20 %). Each clip goes through the ingest
frame path and the runtime exactly as ``vila-stream analyze`` runs a window
(4 frames, greedy caption, ``score_labels`` over the seven actions), then:

* per-attribute accuracy (colour, shape, action) of the caption's clauses, in order;
* single-object / two-object "all correct" rates and caption exact match;
* action recognition top-1 (``score_labels``; the truth is the scene's main action);
* question answering accuracy, per question type;
* drift false motions: clips where nothing moves but the caption or the top label says moving;
* confusion matrices (caption action, top-1 action) as a PNG.
"""
from __future__ import annotations

import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workers.runtime.model import VilaModel
from workers.training.scenes.dataset import main_action
from workers.training.scenes.frames import window_images
from workers.training.scenes.spec import ACTIONS, MOTIONS, OBJECTS, plan_scene
from workers.training.scenes.split import EVAL_SEEDS, all_pairs, held_out_pairs, still_scene
from workers.training.scenes.text import VERBS, caption, ordered, questions

CLAUSE = re.compile(r"a (\w+) (\w+) (" + "|".join(VERBS.values()) + r")\b")
ACTION_OF_VERB = {v: k for k, v in VERBS.items()}
THRESHOLDS = {"single_all_correct": 0.95, "two_all_correct": 0.90, "action_top1": 0.95}


@dataclass(frozen=True)
class Job:
    seed: int
    options: dict
    kind: str  # single, two, two-held-out, drift


def suite_jobs(count: int = 500, *, seed: int = 0, held_out: int = 20) -> list[Job]:
    """The clips of the synthetic suite (deterministic for ``seed``)."""
    held = sorted(held_out_pairs(held_out, seed))
    others = [p for p in all_pairs() if tuple(sorted(p)) not in set(held)]
    jobs = []
    for i in range(count):
        scene = EVAL_SEEDS + seed * 1_000_000 + i
        rng = random.Random(scene)
        slot = i % 20
        if slot < 9:
            jobs.append(Job(scene, {"count": 1}, "single"))
        elif slot < 18:
            pool, kind = (held, "two-held-out") if slot % 2 else (others, "two")
            pair = list(rng.choice(pool))
            rng.shuffle(pair)
            jobs.append(Job(scene, {"objects": [list(o) for o in pair]}, kind))
        else:
            n = rng.choice([1, 2])
            jobs.append(Job(scene, still_scene(rng, [list(o) for o in rng.sample(OBJECTS, n)], 0.15, 0.20), "drift"))
    return jobs


def parse_caption(text: str) -> list[tuple[str, str, str]]:
    """(colour, shape, action) of each clause of a caption in the canonical grammar."""
    return [(c, s, ACTION_OF_VERB[v]) for c, s, v in CLAUSE.findall(text)]


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def evaluate(model: VilaModel, jobs: list[Job], *, batch: int = 16, frames: int = 4, max_new_tokens: int = 32,
             labels: tuple[str, ...] = ACTIONS, progress: Callable[[int, int], None] | None = None,
             rows: list[dict] | None = None) -> dict:
    """Run ``jobs`` through ``model``; returns the report dict (see the module docstring).

    ``rows``, when given, receives one dict per clip (seed, kind, truth, caption, objects, main action, top-1,
    and each question with its answer and the model's): what the report's figures are computed from
    (``summarise(rows)``), written beside the report as ``clips.jsonl``.
    """
    began = time.perf_counter()
    rows = [] if rows is None else rows
    for start in range(0, len(jobs), batch):
        part = jobs[start:start + batch]
        plans = [plan_scene(j.seed, **j.options) for j in part]
        windows = [window_images(p, frames) for p in plans]
        captions = model.caption(windows, max_new_tokens=max_new_tokens)
        tops = [scores[0].label for scores in model.score_labels(windows, list(labels))]
        qa_items = [(w, q, a) for w, p in zip(range(len(part)), plans) for q, a in questions(p)]
        answers = model.ask([windows[w] for w, _, _ in qa_items], [q for _, q, _ in qa_items],
                            max_new_tokens=8) if qa_items else []
        qa = defaultdict(list)
        for (w, q, a), got in zip(qa_items, answers):
            qa[w].append((q, a, got))
        for w, (job, plan) in enumerate(zip(part, plans)):
            rows.append({"seed": job.seed, "kind": job.kind, "truth": caption(plan), "caption": captions[w],
                         "objects": [(o.colour, o.shape, o.action) for o in ordered(plan)],
                         "main_action": main_action(plan), "top1": tops[w], "qa": qa[w]})
        if progress:
            progress(min(start + batch, len(jobs)), len(jobs))
    report = summarise(rows)
    report["seconds"] = round(time.perf_counter() - began, 1)
    return report


def summarise(rows: list[dict]) -> dict:
    """Metrics from per-clip rows (see ``evaluate``)."""
    attr = Counter()
    attr_total = 0
    all_correct = {"single": [0, 0], "two": [0, 0]}
    exact = [0, 0]
    top1 = [0, 0]
    top1_single = [0, 0]
    qa_type = defaultdict(lambda: [0, 0])
    drift_clips = drift_false = 0
    strong = [0, 0]  # the suite's "drift" clips: nothing moves, the strongest drift
    confusion_caption = Counter()
    confusion_top1 = Counter()
    failures = []
    for row in rows:
        truth, got = row["objects"], parse_caption(row["caption"])
        group = "single" if len(truth) == 1 else "two"
        ok = len(got) == len(truth)
        for i, (colour, shape, action) in enumerate(truth):
            guess = got[i] if i < len(got) else ("", "", "none")
            attr["colour"] += guess[0] == colour
            attr["shape"] += guess[1] == shape
            attr["action"] += guess[2] == action
            attr_total += 1
            ok = ok and guess == (colour, shape, action)
            if group == "single":
                confusion_caption[(action, guess[2] if guess[2] in ACTIONS else "none")] += 1
        all_correct[group][0] += ok
        all_correct[group][1] += 1
        exact[0] += row["caption"] == row["truth"]
        exact[1] += 1
        top1[0] += row["top1"] == row["main_action"]
        top1[1] += 1
        confusion_top1[(row["main_action"], row["top1"])] += 1
        if group == "single":
            top1_single[0] += row["top1"] == row["main_action"]
            top1_single[1] += 1
        for question, answer, given in row["qa"]:
            kind = question.split(" the ")[0].split(" are ")[0]
            qa_type[kind][0] += given == answer
            qa_type[kind][1] += 1
        if all(a not in MOTIONS for _, _, a in truth):
            drift_clips += 1
            moved = "moves" in row["caption"] or row["top1"] in MOTIONS
            drift_false += moved
            if row["kind"] == "drift":
                strong[0] += moved
                strong[1] += 1
        if not ok and len(failures) < 20:
            failures.append({"seed": row["seed"], "kind": row["kind"], "truth": row["truth"],
                             "caption": row["caption"], "top1": row["top1"]})
    qa_hits = sum(v[0] for v in qa_type.values())
    qa_total = sum(v[1] for v in qa_type.values())
    held = [r for r in rows if r["kind"] == "two-held-out"]
    report = {
        "clips": len(rows),
        "single_all_correct": _rate(*all_correct["single"]),
        "two_all_correct": _rate(*all_correct["two"]),
        "two_held_out_pairs_all_correct": _rate(sum(r["caption"] == r["truth"] for r in held), len(held)),
        "caption_exact_match": _rate(*exact),
        "attribute_accuracy": {k: _rate(attr[k], attr_total) for k in ("colour", "shape", "action")},
        "action_top1": _rate(*top1),
        "action_top1_single": _rate(*top1_single),
        "qa_accuracy": _rate(qa_hits, qa_total),
        "qa_questions": qa_total,
        "qa_accuracy_by_type": {k: _rate(*v) for k, v in sorted(qa_type.items())},
        "no_motion_clips": drift_clips,
        "no_motion_clips_said_moving": drift_false,
        "strong_drift_clips": strong[1],
        "strong_drift_clips_said_moving": strong[0],
        "confusion_caption": [[a, b, n] for (a, b), n in sorted(confusion_caption.items())],
        "confusion_top1": [[a, b, n] for (a, b), n in sorted(confusion_top1.items())],
        "failures": failures,
    }
    report["passed"] = bool(
        all((report[k] or 0) >= v for k, v in THRESHOLDS.items()) and report["no_motion_clips_said_moving"] == 0
    )
    return report


def plot_confusion(report: dict, out: Path) -> Path:
    """Confusion matrices (caption action on single-object clips, top-1 action on all clips) into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    for ax, key, title in ((axes[0], "confusion_caption", "caption action (single-object clips)"),
                           (axes[1], "confusion_top1", "score_labels top-1 (all clips)")):
        cols = list(ACTIONS) + (["none"] if key == "confusion_caption" else [])
        grid = [[0] * len(cols) for _ in ACTIONS]
        for truth, guess, n in report[key]:
            if truth in ACTIONS and guess in cols:
                grid[ACTIONS.index(truth)][cols.index(guess)] += n
        ax.imshow(grid, cmap="Blues")
        for i, row in enumerate(grid):
            for j, n in enumerate(row):
                if n:
                    ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                            color="white" if n > max(map(max, grid)) / 2 else "black")
        ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(ACTIONS)), ACTIONS, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def markdown(report: dict, model_id: str) -> str:
    """The report as a short Markdown page."""
    a = report["attribute_accuracy"]
    lines = [
        f"# Synthetic suite: {model_id}", "",
        f"{report['clips']} held-out clips (evaluation seeds; some object pairs never seen together in training)"
        + (f"; {report['tier']} tier profile, LLM quantization {report['quantization']}" if "tier" in report
           else "") + ".", "",
        "| metric | value | threshold |", "|---|---|---|",
        f"| single-object clips, colour+shape+action all correct | {report['single_all_correct']} | >= 0.95 |",
        f"| two-object clips, all correct | {report['two_all_correct']} | >= 0.90 |",
        f"| two-object clips with held-out pairs, all correct | {report['two_held_out_pairs_all_correct']} | |",
        f"| caption exact match | {report['caption_exact_match']} | |",
        f"| attribute accuracy colour / shape / action | {a['colour']} / {a['shape']} / {a['action']} | |",
        f"| action recognition top-1 (score_labels) | {report['action_top1']} | >= 0.95 |",
        f"| question answering accuracy | {report['qa_accuracy']} | |",
        f"| clips where nothing moves (drift up to 20 %) said moving | {report['no_motion_clips_said_moving']} "
        f"of {report['no_motion_clips']} | 0 |",
        f"| of which the still clips with a 15–20 % drift | {report.get('strong_drift_clips_said_moving')} "
        f"of {report.get('strong_drift_clips')} | |",
        "", f"Passed: **{report['passed']}**. QA by type: {report['qa_accuracy_by_type']}.", "",
    ]
    return "\n".join(lines)
