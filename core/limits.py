"""Bounds on hostile input, checked before (or instead of) trusting a parser with it.

- ``json_too_deep``: JSON nested deeper than ``DISSENSUS_MAX_JSON_DEPTH``, found by a linear scan of
  the raw text (brackets outside strings), so a parser never recurses into 100,000 levels.
- ``unstorable_text``: strings (values and keys, at any depth) that PostgreSQL cannot store: the
  NUL character (U+0000) and lone surrogates (which have no UTF-8 form).
- ``LineBoundedReader``: a byte stream that refuses a line longer than ``DISSENSUS_MAX_LINE_BYTES``
  as soon as it has read that much of it, so a one-line 400 MB manifest never sits in memory.
- ``zip_check_uncompressed``: a zip archive's members add up to at most the archive limit counted
  in uncompressed bytes (what extraction costs), not the bytes on the wire.

This module imports nothing from the rest of the project except the error types, so every
package may use it.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import numpy as np
from django.conf import settings

from core.errors import FieldError, ImportFailed, InvalidInput

DEFAULT_MAX_JSON_DEPTH = 64
DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024
MAX_TEXT_ERRORS = 20

# A JSON string (the unrolled loop, linear on long strings).
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def max_json_depth() -> int:
    return int(getattr(settings, "DISSENSUS_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH))


def max_line_bytes() -> int:
    return int(getattr(settings, "DISSENSUS_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES))


def json_too_deep(data: bytes | str, *, limit: int | None = None) -> bool:
    """Whether the JSON text ``data`` nests arrays and objects deeper than ``limit``.

    Linear in the length of ``data``; brackets inside strings do not count. Text that is not
    valid JSON may be judged too deep where a parser would have called it invalid: both are 4xx.
    """
    limit = max_json_depth() if limit is None else limit
    # The quick answer for almost every record: too few brackets to nest that deep (counted on
    # the text as it comes, without encoding it).
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= limit:
            return False
        raw = data.encode("utf-8", "surrogatepass")
    else:
        raw = bytes(data)
        if raw.count(b"[") + raw.count(b"{") <= limit:
            return False
    # Strings out (brackets in them do not nest), then the running depth in C: linear, and fast
    # on bodies that hold millions of brackets.
    codes = np.frombuffer(_STRINGS.sub(b"", raw), dtype=np.uint8)
    opening = (codes == 0x5B) | (codes == 0x7B)  # [ {
    closing = (codes == 0x5D) | (codes == 0x7D)  # ] }
    steps = opening.astype(np.int32) - closing
    return bool(steps.size) and int(np.cumsum(steps).max()) > limit


def depth_message(limit: int | None = None) -> str:
    return f"nested deeper than {max_json_depth() if limit is None else limit} levels"


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (U+0000), which cannot be stored; remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate character, which cannot be stored; remove it"
    return None


def _all_storable(value: Any) -> bool:
    """Whether every string in ``value`` (keys included) can be stored: the strings gathered
    without their paths, joined, and searched once. ``False`` also when unsure (a key that is not
    a string): the caller then walks ``value`` the slow way, which names the paths."""
    strings: list[str] = []
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            strings.append(current)
        elif isinstance(current, dict):
            strings.extend(current)
            stack.extend(current.values())
        elif isinstance(current, list | tuple):
            stack.extend(current)
    try:
        text = "".join(strings)
    except TypeError:  # a key that is not a string
        return False
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")  # lone surrogates have no UTF-8 form
    except UnicodeEncodeError:
        return False
    return True


def unstorable_text(value: Any, *, prefix: str = "") -> list[FieldError]:
    """A ``FieldError`` for each string in ``value`` (a parsed JSON value: dicts, lists, strings
    and scalars, keys included) that PostgreSQL cannot store, named by its dotted path.

    Iterative, so any depth is safe; stops after ``MAX_TEXT_ERRORS``. Storable values (nearly all)
    are told apart in one pass that only gathers the strings and tests them at once in C; the
    paths are built only when something is wrong.
    """
    if _all_storable(value):
        return []
    errors: list[FieldError] = []
    stack: list[tuple[str, Any]] = [(prefix.rstrip("."), value)]
    while stack and len(errors) < MAX_TEXT_ERRORS:
        path, current = stack.pop()
        if isinstance(current, str):
            if (problem := _text_problem(current)) is not None:
                errors.append(FieldError(path or "(value)", problem))
        elif isinstance(current, dict):
            for key, item in reversed(list(current.items())):
                name = str(key)
                if (problem := _text_problem(name)) is not None:
                    errors.append(FieldError(path or "(value)", f"a key {problem}"))
                    continue
                stack.append((f"{path}.{name}" if path else name, item))
        elif isinstance(current, list | tuple):
            for index in range(len(current) - 1, -1, -1):
                stack.append((f"{path}.{index}" if path else str(index), current[index]))
    return errors


def text_is_storable(text: str) -> bool:
    return _text_problem(text) is None


class LineTooLong(ImportFailed):
    """A line of an upload is longer than the limit: nothing is imported."""

    def __init__(self, *, line: int, limit: int):
        message = f"nothing was imported: line {line} is longer than {limit} bytes"
        detail = [
            {
                "line": line,
                "errors": [FieldError("(line)", f"the line is longer than {limit} bytes")],
            }
        ]
        super().__init__(message, detail=detail)


class LineBoundedReader(io.RawIOBase):
    """Raw stream over ``source`` (anything with ``read(n)``) that raises ``LineTooLong`` once a
    line exceeds ``limit`` bytes, having read at most one chunk past the limit."""

    def __init__(self, source: Any, *, limit: int | None = None, chunk: int = 1 << 16):
        self.source = source
        self.limit = max_line_bytes() if limit is None else limit
        self.chunk = chunk
        self.line = 1  # the line the next byte belongs to
        self.current = 0  # bytes of that line read so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # Chunks no longer than the limit + 1, so a line wholly inside one chunk is within it.
        data = self.source.read(min(len(buffer), self.chunk, self.limit + 1))
        if not data:
            return 0
        first = data.find(b"\n")
        if first == -1:
            self.current += len(data)
        else:
            if self.current + first > self.limit:
                raise LineTooLong(line=self.line, limit=self.limit)
            self.line += data.count(b"\n")
            self.current = len(data) - data.rfind(b"\n") - 1
        if self.current > self.limit:
            raise LineTooLong(line=self.line, limit=self.limit)
        buffer[: len(data)] = data
        return len(data)


def line_bounded(source: Any, *, limit: int | None = None) -> io.BufferedReader:
    """A buffered stream over ``source`` whose lines are at most ``limit`` bytes, read in chunks
    of 1 MiB (fewer calls through the reader layers, each of which may wait for the GIL while a
    writer thread holds it)."""
    return io.BufferedReader(
        LineBoundedReader(source, limit=limit, chunk=1 << 20), buffer_size=1 << 20
    )


def zip_check_uncompressed(archive: zipfile.ZipFile, *, limit: int) -> None:
    """Refuse an archive whose members add up to more than ``limit`` uncompressed bytes.

    Python's zip reader never yields more than a member's declared size, so the declared sizes
    bound what extracting the archive can cost."""
    total = sum(info.file_size for info in archive.infolist())
    if total > limit:
        raise InvalidInput(
            f"the archive holds {total} bytes uncompressed, more than the limit of {limit}",
            detail=[FieldError("file", "archive too large once uncompressed")],
        )
