"""The fuzzers with more inputs than ``make test`` gives them: ``python -m bench.fuzz [--examples N]``.

The fuzz targets are tests (``tests/fuzz``, and the Kafka-level ones beside the dispatcher's and the
summarizer's consumer tests); this runs them under pytest with ``VILA_FUZZ_EXAMPLES=N`` (``make test``
uses 200) and prints each target's count of inputs and outcome classes. Exit status: pytest's.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

TARGETS = (
    "tests/fuzz",
    "tests/services/dispatcher/test_dispatcher_kafka.py::test_fuzzed_records_each_end_in_a_result_or_the_dlq",
    "tests/services/summarizer/test_consumer.py::test_fuzzed_result_records_are_stored_or_dead_lettered_with_a_reason",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="inputs per parser (default 2000)")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    began = time.monotonic()
    env = {**os.environ, "VILA_FUZZ_EXAMPLES": str(args.examples)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *TARGETS],
                         env=env, capture_output=True, text=True)
    lines = [line[line.index("fuzz "):] for line in run.stdout.splitlines() if "fuzz " in line and " inputs" in line]
    print("\n".join(lines) or run.stdout[-3000:])
    tail = run.stdout.strip().splitlines()[-1:] or [run.stderr[-500:]]
    print(f"{tail[0]} ({args.examples} inputs per parser, {time.monotonic() - began:.0f} s)")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
