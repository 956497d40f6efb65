"""What the import commands share: reading a file or standard input, and an import's refusal as a
``CommandError`` with every bad line written to standard error."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError

from core.errors import ImportFailed, InvalidInput


@contextmanager
def input_stream(file: str) -> Iterator[IO[bytes]]:
    """The bytes of ``file``, or of standard input for ``-``."""
    if file == "-":
        yield sys.stdin.buffer
        return
    path = Path(file)
    if not path.is_file():
        raise CommandError(f"no such file: {file}")
    with path.open("rb") as stream:
        yield stream


def refused(exc: InvalidInput, stderr: Any) -> CommandError:
    """The command's error for a refused import; an ``ImportFailed`` lists its bad lines first."""
    if not isinstance(exc, ImportFailed):
        return CommandError(exc.message)
    bad_lines = exc.as_dict().get("errors") or []
    for bad in bad_lines:
        for error in bad["errors"]:
            stderr.write(f"line {bad['line']}: {error['field']}: {error['message']}")
    lines = ", ".join(str(bad["line"]) for bad in bad_lines)
    return CommandError(f"{exc.message}; bad lines: {lines}" if lines else exc.message)
