"""``vila-stream model ...``: model utilities."""
from __future__ import annotations

import argparse
from pathlib import Path

from services.cli import export_cmd


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("model", help="model utilities (inspect, make-tiny, export)")
    msub = parser.add_subparsers(dest="model_command", metavar="MODEL_COMMAND", required=True)
    tiny = msub.add_parser(
        "make-tiny",
        help="write a tiny random-weight checkpoint in the released VILA layout",
        description="Writes a tiny random-weight checkpoint in the released VILA layout "
        "(config.json, llm/, vision_tower/, mm_projector/), deterministically from a seed.",
    )
    tiny.add_argument("out", type=Path, metavar="OUT", help="output directory (must not exist or be empty; its parent must exist)")
    tiny.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    tiny.add_argument("--like", metavar="FAMILY", default=None,
                      help="shape it like a released checkpoint: config fields, files and key names of e.g. "
                      "vila1.5-3b, vila1.5-3b-s2, llama-3-vila1.5-8b, vila1.5-13b, vila1.5-40b, nvila-lite-2b/8b/15b, "
                      "nvila-8b/15b, nvila-8b-video, a '-hf-preview' variant or a flat '-hf' one (nvila-8b-hf, "
                      "nvila-lite-2b-hf, ...); default: the embedded tiny model's shape")
    tiny.set_defaults(func=make_tiny)
    inspect = msub.add_parser(
        "inspect",
        help="describe a checkpoint: family, tower, projector, template, tokens, parameters, dtype",
        description="Reads a checkpoint's configs, tokenizer and weight headers (no weights are loaded) and prints "
        "its family, vision tower, projector, template, visual tokens per image and per video frame, "
        "parameter counts and dtype.",
    )
    inspect.add_argument("path", type=Path, metavar="PATH", help="checkpoint directory")
    inspect.add_argument("--json", action="store_true", help="print the description as one JSON object")
    inspect.set_defaults(func=inspect_model)
    export_cmd.register(msub)


def make_tiny(args: argparse.Namespace) -> int:
    from services.cli.outputs import check_output_dir
    from workers.runtime.tiny import make_tiny as build

    check_output_dir("OUT", args.out)
    like = getattr(args, "like", None)
    path = build(args.out, seed=args.seed, like=like)
    shaped = f" shaped like {like}" if like else ""
    print(f"wrote a tiny VILA checkpoint{shaped} (seed {args.seed}) to {path}")
    return 0


def inspect_model(args: argparse.Namespace) -> int:
    import json

    from workers.runtime.inspect import describe

    info = describe(args.path)
    if args.json:
        print(json.dumps(info, sort_keys=True))
        return 0
    params = info["parameters"]
    rows = [
        ("family", info["family"]), ("vision tower", info["vision_tower"]), ("projector", info["projector"]),
        ("template", info["template"]), ("tokens per image", info["tokens_per_image"]),
        ("tokens per video frame", info["tokens_per_frame"]),
        ("parameters", f"{params['total']:,} (llm {params['llm']:,}, vision tower {params['vision_tower']:,}, "
                       f"projector {params['mm_projector']:,})"),
        ("dtype", info["dtype"]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0
