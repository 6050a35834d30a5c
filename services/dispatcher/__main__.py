"""``python -m services.dispatcher``: Kafka windows -> gRPC workers -> Kafka results (see ``app``)."""
from __future__ import annotations

import sys

from core.startup import run_main
from services.dispatcher.app import serve
from services.dispatcher.settings import parse_settings


def main(argv: list[str] | None = None) -> int:
    return run_main("vila-dispatcher", parse_settings, serve, argv)


if __name__ == "__main__":
    sys.exit(main())
