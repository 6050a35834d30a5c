"""Output paths a command will write, checked before the work starts.

An analysis can take minutes; finding out only at its end that ``--json`` points into a missing folder loses
it. Each command that writes a file checks its output paths first: the folder that will hold the output must
exist (it is never created for the user: a typo should not become a new folder), must be a folder, and must
accept a new file; an output file must not be an existing folder. Root ignores permission bits, so writability
is probed by creating (and removing) a hidden temporary file there, which is what the writers do too (they write
a temporary file and rename it).

Failures raise ``InvalidInput`` (exit code 2) with one line naming the option, the path and why, e.g.
``--json /x/y.json: directory /x does not exist``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from core.errors import InvalidInput


def check_output_file(flag: str, path: Path) -> None:
    """``path`` can be written as a file (created or replaced); ``flag`` names the option in the message.

    Raises InvalidInput when ``path`` is a folder, or its folder is missing, not a folder or not writable.
    """
    if path.is_dir():
        raise InvalidInput(f"{flag} {path}: is a directory (give a file name)")
    _check_folder(flag, path, path.parent)


def check_output_dir(flag: str, path: Path) -> None:
    """``path`` is a folder that exists, or that can be created in an existing folder; either way writable.

    Raises InvalidInput when ``path`` is a file, its parent is missing or not a folder, or it is not writable.
    """
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{flag} {path}: exists and is not a directory")
    _check_folder(flag, path, path if path.is_dir() else path.parent)


def _check_folder(flag: str, path: Path, folder: Path) -> None:
    if not folder.exists():
        missing = folder
        while not missing.parent.exists() and missing.parent != missing:
            missing = missing.parent  # name the first folder that is missing, not the deepest
        raise InvalidInput(f"{flag} {path}: directory {missing} does not exist")
    if not folder.is_dir():
        raise InvalidInput(f"{flag} {path}: {folder} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vila-stream-check-"):
            pass
    except OSError as exc:
        raise InvalidInput(f"{flag} {path}: cannot write in {folder} ({exc.strerror or exc})") from None
