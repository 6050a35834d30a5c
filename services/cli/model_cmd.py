"""``vila-stream model ...``: model utilities."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("model", help="model utilities (make-tiny)")
    msub = parser.add_subparsers(dest="model_command", metavar="MODEL_COMMAND", required=True)
    tiny = msub.add_parser(
        "make-tiny",
        help="write a tiny random-weight checkpoint in the released VILA layout",
        description="Writes a tiny random-weight checkpoint in the released VILA layout "
        "(config.json, llm/, vision_tower/, mm_projector/), deterministically from a seed.",
    )
    tiny.add_argument("out", type=Path, metavar="OUT", help="output directory (must not exist or be empty)")
    tiny.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    tiny.set_defaults(func=make_tiny)


def make_tiny(args: argparse.Namespace) -> int:
    from workers.runtime.tiny import make_tiny as build

    path = build(args.out, seed=args.seed)
    print(f"wrote a tiny VILA checkpoint (seed {args.seed}) to {path}")
    return 0
