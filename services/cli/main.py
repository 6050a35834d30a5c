"""``vila-stream``: the command line. Each sub-command lives in its own module.

Every expected error (``VilaError``) is printed as one line on stderr with the
error's exit code; an unexpected one is printed as one line too (``--debug``
shows the traceback), so users never see a stack dump for bad input. A bad
option is one line too, naming the sub-command (``vila-stream analyze: error:
... (see vila-stream analyze --help)``), exit code 2.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
import traceback

from services.cli import analyze, cluster_cmd, ingest_cmd, model_cmd, timeline_cmd, train_cmd
from core.errors import VilaError

COMMANDS = (analyze, model_cmd, timeline_cmd, cluster_cmd, train_cmd, ingest_cmd)  # each has register(subparsers) that sets func


class CliParser(argparse.ArgumentParser):
    """argparse, with a bad option reported as one line (not the usage block) that says where help is."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _CommandParser(CliParser):
    """A sub-command's parser. argparse hands options a sub-command does not know back to the top level,
    which would blame ``vila-stream`` and point at its help; the sub-command owns them instead."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def version() -> str:
    """The installed package's version (its metadata), or "unknown" when run from a checkout never installed."""
    try:
        return importlib.metadata.version("vila-stream")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
        prog="vila-stream",
        description="Video analytics with VILA vision-language models: timelines, actions, summaries.",
    )
    parser.add_argument("--version", action="version", version=f"vila-stream {version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    # Nested sub-commands (`model export`, `cluster up`) inherit the parser class from their parent.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`vila-stream timeline X --json | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except VilaError as exc:
        print(f"vila-stream: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vila-stream: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"vila-stream: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
