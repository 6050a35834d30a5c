"""``vila-stream train`` and ``vila-stream eval``: the training recipe and the synthetic evaluation suite.

``train --recipe tiny-synthetic OUT`` renders the scenes, builds the base
checkpoint and runs the three stages into OUT (resumable: run it again to
continue); the trained model is ``OUT/stage3-sft``. ``eval --model PATH
--suite synthetic`` scores a checkpoint on held-out scenes and writes
``report.json``, ``report.md``, ``confusion.png`` and ``clips.jsonl`` (each clip's answers) into ``--out``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

SUITES = ("synthetic",)


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train", help="train a VILA-layout checkpoint with a named recipe",
        description="Runs a training recipe (data, base checkpoint, the three VILA stages) into OUT; "
        "each stage is saved in the released layout. Run it again to resume.",
    )
    train.add_argument("out", type=Path, metavar="OUT", help="output directory (created in an existing folder; resumed when it exists)")
    train.add_argument("--recipe", default="tiny-synthetic", help="recipe name (default tiny-synthetic)")
    train.add_argument("--ranks", type=int, default=2,
                       help="data-parallel training processes, each on its share of every batch (default 2; the "
                            "shipped model was trained with 2 ranks of 1 thread, which reproduces it bit for bit)")
    train.add_argument("--threads", type=int,
                       help="torch threads in all, split over the ranks (default: the cores this process may use)")
    train.add_argument("--workers", type=int, default=2, help="processes rendering the scenes (default 2)")
    train.add_argument("--seed", type=int,
                       help="another draw of the recipe: its data, initial weights and batches from this seed "
                            "(default: the recipe's; the evaluation suite's held-out pairs stay held out)")
    train.add_argument("--clips", type=int, help="train on this many clips instead of the recipe's (smoke runs)")
    train.add_argument("--steps", type=int, help="at most this many steps per stage (smoke runs)")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=run_train)

    ev = sub.add_parser(
        "eval", help="score a checkpoint on a held-out evaluation suite",
        description="Scores a checkpoint on held-out synthetic scenes: per-attribute accuracy, caption exact "
        "match, action recognition top-1, question answering, drift false motions, confusion matrices.",
    )
    ev.add_argument("--model", type=Path, help="VILA checkpoint directory (default: the embedded default model)")
    ev.add_argument("--suite", default="synthetic", choices=SUITES, help="evaluation suite (default synthetic)")
    ev.add_argument("--clips", type=int, default=500, help="number of held-out clips (default 500)")
    ev.add_argument("--out", type=Path,
                    help="folder for report.json, report.md, confusion.png and clips.jsonl "
                         "(created in an existing folder)")
    ev.add_argument("--tier", default="edge",
                    help="run the model as this tier runs it: device, dtype, quantisation, frames per window and "
                         "caption length (default edge, as analyze and the edge worker)")
    ev.add_argument("--quantization", metavar="MODE", help="override the tier's quantisation (none for float)")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ev.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from services.cli.outputs import check_output_dir

    check_output_dir("OUT", args.out)
    if args.quiet:  # transformers' own loading bars too, here and in the ranks (they inherit the environment)
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    from core.errors import InvalidInput
    from workers.training.recipe import get_recipe

    if args.threads is None:
        args.threads = len(os.sched_getaffinity(0))
    if args.threads < 1 or args.workers < 1 or args.ranks < 1:
        raise InvalidInput("--threads, --workers and --ranks must be at least 1")
    if (args.clips is not None and args.clips < 1) or (args.steps is not None and args.steps < 1):
        raise InvalidInput("--clips and --steps must be at least 1")
    recipe = get_recipe(args.recipe)
    if args.clips or args.steps:
        recipe = recipe.scaled(clips=args.clips, steps=args.steps)
    if args.seed is not None:
        recipe = dataclasses.replace(recipe, seed=args.seed)
    import torch  # after the arguments are checked: a typo is answered at once
    from transformers.utils import logging as hf_logging

    from workers.training.trainer import train

    if args.quiet:
        hf_logging.disable_progress_bar()
    threads = max(1, args.threads // args.ranks)
    torch.set_num_threads(threads)
    path = train(recipe, args.out, ranks=args.ranks, threads=threads, workers=args.workers, progress=not args.quiet)
    print(f"trained {recipe.name}: the model is {path} (loss curves: {args.out / 'loss_curves.png'})")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from core.errors import InvalidInput
    from core.tiers import check_tier
    from services.cli.outputs import check_output_dir

    if args.out:
        check_output_dir("--out", args.out)
    if args.clips < 1:
        raise InvalidInput(f"--clips must be at least 1, got {args.clips}")
    check_tier(args.tier, "--tier")

    import torch  # after the arguments are checked: a typo is answered at once

    from services.cli.analyze import tier_from_args
    from services.cli.console import quiet_model_loading
    from workers.runtime.default import default_model_path
    from workers.tiers import load_for_tier
    from workers.training.evaluate import evaluate, markdown, plot_confusion, suite_jobs

    torch.set_num_threads(max(1, args.threads))
    tier = tier_from_args(args)
    quiet_model_loading()
    model = load_for_tier(args.model or default_model_path(), tier)
    tier = tier.fitted(model.info.video_frames)
    show = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\r{done}/{total} clips", end="", file=sys.stderr, flush=True)

    rows: list[dict] = []
    report = evaluate(model, suite_jobs(args.clips), frames=tier.frames_per_window,
                      max_new_tokens=tier.max_new_tokens, progress=progress, rows=rows)
    report.update(model=model.info.model_id, tier=tier.name, quantization=tier.quantization,
                  frames=tier.frames_per_window)
    if show:
        print(file=sys.stderr)
    if args.out:
        args.out.mkdir(exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / "report.md").write_text(markdown(report, model.info.model_id))
        (args.out / "clips.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        plot_confusion(report, args.out / "confusion.png")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(markdown(report, model.info.model_id))
        if args.out:
            print(f"report written to {args.out}")
    return 0
