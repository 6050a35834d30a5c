"""Generates the Python code of the vila.v1 protobuf package (the install step).

Usage: python protos/build.py [--out DIR] [--check]

Writes ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` beside the ``.proto``
sources (``protos/vila/v1/``), where the ``vila`` package is installed from.
``--out DIR`` writes into another directory instead (the staleness test uses it);
``--check`` exits 1 when the files on disk differ from a fresh generation.
Generated code is never committed (.gitignore) and never hand-edited.
"""
from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = PROTO_ROOT / "vila" / "v1"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files() -> list[Path]:
    return sorted(PACKAGE_DIR.glob("*.proto"))


def generated_names() -> list[str]:
    return [p.stem + s for p in proto_files() for s in SUFFIXES]


def generate(out_root: Path) -> None:
    """Runs protoc (from grpcio-tools) over every proto into ``out_root/vila/v1``."""
    from grpc_tools import protoc  # imported here: only the install step needs it
    import grpc_tools

    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *[str(p.relative_to(PROTO_ROOT)) for p in proto_files()],
    ]
    (out_root / "vila" / "v1").mkdir(parents=True, exist_ok=True)
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed on " + ", ".join(p.name for p in proto_files()))


def stale_files() -> list[str]:
    """Names of generated files that are missing or differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / "vila" / "v1"
        return [
            name
            for name in generated_names()
            if not (PACKAGE_DIR / name).exists()
            or not filecmp.cmp(fresh / name, PACKAGE_DIR / name, shallow=False)
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROTO_ROOT)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print("stale generated protobuf code: " + ", ".join(stale) + " (run make protos)")
            return 1
        return 0
    generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
