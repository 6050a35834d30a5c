"""``python -m services.dispatcher``: Kafka windows -> gRPC workers -> Kafka results (see ``app``)."""
from __future__ import annotations

import asyncio
import logging
import sys

from core.errors import VilaError
from services.dispatcher.app import serve
from services.dispatcher.settings import parse_settings


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    try:
        settings = parse_settings(argv)
        return asyncio.run(serve(settings))
    except VilaError as exc:
        print(f"vila-dispatcher: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
