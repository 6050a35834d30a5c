"""The error map's declarations: exit codes the README documents, reasons and DLQ texts in one form."""
from __future__ import annotations

import re
from pathlib import Path

from core.errors import EXIT_CODES, InvalidRequest, VilaError, WorkerCallFailed, describe, error_types, from_remote

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_exit_codes() -> dict[int, str]:
    """The rows of the README's ``| exit | meaning |`` table."""
    text = README.read_text()
    table = text[text.index("| exit | meaning |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        match = re.match(r"\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*$", line)
        if not match:
            break
        rows[int(match[1])] = match[2]
    return rows


def test_the_readme_table_is_the_codes_exit_table():
    rows = readme_exit_codes()
    assert sorted(rows) == sorted(EXIT_CODES)
    for code, meaning in EXIT_CODES.items():
        assert rows[code].startswith(meaning), (code, rows[code])


def test_every_error_type_exits_with_a_documented_code():
    assert {cls.exit_code for cls in error_types()} <= set(EXIT_CODES) - {0}


def test_reasons_are_unique_slugs():
    reasons = [cls.reason for cls in error_types() if "reason" in vars(cls)]
    assert len(reasons) == len(set(reasons))


def test_describe_is_one_line_reason_first():
    assert describe(InvalidRequest("frame 3\nis bad")) == "invalid-request: frame 3 is bad"
    assert describe(KeyError("k")) == "internal: KeyError: 'k'"
    failed = WorkerCallFailed(from_remote("INVALID_ARGUMENT", "invalid-request: window has no frames"), 1, "h:1")
    assert describe(failed) == "invalid-request: window has no frames (worker h:1, 1 attempt)"
    assert isinstance(failed, VilaError) and not failed.retryable and failed.grpc_code == "INVALID_ARGUMENT"
