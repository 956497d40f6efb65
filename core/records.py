"""Reading records from uploaded files: format detection, a buffered stream over any reader, and
JSON Lines, JSON array and CSV records numbered by their line (or record) so that every error can
name where it is. A record that cannot be read is yielded as a ``ParseProblem``, never raised, so
that an import can list every bad line at once; a record holding text PostgreSQL cannot store (NUL,
lone surrogates) is yielded as a ``SchemaError`` naming each such field.

Hostile input is bounded before it is parsed (``core.limits``): JSON Lines and CSV lines longer
than ``DISSENSUS_MAX_LINE_BYTES`` stop the import (``LineTooLong``) as soon as that much of the line
is read, and JSON nested deeper than ``DISSENSUS_MAX_JSON_DEPTH`` is a problem of its record, found
by a linear scan (JSON Lines, CSV JSON cells) or by counting the streaming parser's events (JSON
arrays), never by recursing into it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
from ijson.common import ObjectBuilder
from pydantic_core import from_json

from core.errors import FieldError, InvalidInput, SchemaError
from core.limits import depth_message, json_too_deep, line_bounded, max_json_depth, unstorable_text

FORMATS = ("jsonl", "json", "csv")

Record = tuple[int, Any]  # (line number, parsed record or a ParseProblem)


@dataclass(frozen=True)
class ParseProblem:
    message: str


def detect_format(*, filename: str | None = None, content_type: str | None = None) -> str | None:
    name = (filename or "").lower()
    kind = (content_type or "").split(";")[0].strip().lower()
    if name.endswith((".jsonl", ".ndjson")) or kind in {
        "application/x-ndjson",
        "application/jsonl",
    }:
        return "jsonl"
    if name.endswith(".csv") or kind in {"text/csv", "application/csv"}:
        return "csv"
    if name.endswith(".json") or kind == "application/json":
        return "json"
    return None


class _RawReader(io.RawIOBase):
    """Raw adapter over anything with ``read(n)`` (a request body, an upload)."""

    def __init__(self, source: Any):
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def finite_number(raw: Any) -> float | None:
    """A finite number from a JSON value or a CSV cell's text; ``None`` when it is not one (a
    boolean, a text that is no number, NaN, an infinity)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            return None
    if not isinstance(raw, int | float) or not math.isfinite(raw):
        return None
    return float(raw)


def as_buffered(source: Any) -> IO[bytes]:
    """A buffered binary stream over ``source``, so formats can be sniffed without seeking."""
    return io.BufferedReader(_RawReader(source), buffer_size=1 << 20)  # type: ignore[return-value]


def _sniff(stream: IO[bytes]) -> str:
    """JSON array if the first non-blank byte is '[', JSON Lines if '{'."""
    head = stream.peek(4096)  # type: ignore[attr-defined]
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    return "csv"


def json_loads_bounded(text: bytes | str) -> Any:
    """``json.loads`` that refuses (``ValueError``) JSON nested deeper than the limit, before
    parsing it."""
    if json_too_deep(text):
        raise ValueError(depth_message())
    try:
        return json.loads(text)
    except RecursionError:  # a limit set above what the interpreter's stack allows
        raise ValueError(depth_message()) from None


def _loads_plain(text: str) -> Any:
    """``json_loads_bounded`` for text without ``\\u`` escapes: pydantic-core's parser (Rust)
    gives the values ``json.loads`` gives on such text, two to three times faster. Text it
    refuses is parsed again by ``json.loads``, whose message names the problem as before."""
    if json_too_deep(text):
        raise ValueError(depth_message())
    try:
        return from_json(text)
    except ValueError:
        return json_loads_bounded(text)


def _checked(number: int, record: Any, *, prefix: str = "") -> Record:
    """``record``, or a ``SchemaError`` naming every field whose text cannot be stored."""
    errors = unstorable_text(record, prefix=prefix)
    return (number, SchemaError(errors)) if errors else (number, record)


_OTHER_ENCODINGS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)


def _utf8_text(line: bytes) -> str | None:
    """``line`` decoded as ``json.loads`` would decode it, when it is plain (strict) UTF-8; else
    ``None`` (another encoding, or bytes that only ``json.loads``'s lenient decoding accepts).
    Where ``json.detect_encoding`` might see another encoding (a BOM, a NUL byte among the first
    four), ``None`` as well."""
    if line.startswith(_OTHER_ENCODINGS) or b"\x00" in line[:4]:
        return None
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


# What ``bytes.strip()`` strips: ASCII whitespace only (``str.strip()`` strips more).
_ASCII_SPACE = " \t\n\r\x0b\x0c"
_CHUNK = 1 << 20


def _jsonl_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None, str | None]]:
    """The lines of ``stream``, numbered from 1, stripped of ASCII whitespace (and the first of a
    UTF-8 byte-order mark): ``(number, line, text)``, ``text`` as ``_utf8_text(line)`` gives it;
    ``line`` is ``None`` where ``text`` holds it all (``text.encode()`` is the line).

    Read a megabyte at a time and decoded a block of whole lines at once, which costs a fraction
    of reading and decoding line by line; a block that is not strict UTF-8 is taken line by
    line. Lines longer than the limit stop the import as they are read (``line_bounded``)."""
    reader = line_bounded(stream)
    number = 0
    pending: list[bytes] = []  # the start of a line that goes on in the next chunk
    while chunk := reader.read(_CHUNK):
        cut = chunk.rfind(b"\n")
        if cut == -1:
            pending.append(chunk)
            continue
        if pending:
            pending.append(chunk[:cut])
            block: bytes | memoryview = b"".join(pending)
        else:
            block = memoryview(chunk)[:cut]  # decoded without a copy
        pending = [chunk[cut + 1 :]] if cut + 1 < len(chunk) else []
        yield from _block_lines(block, number)
        number += chunk.count(b"\n", 0, cut) + 1  # the pending start held no newline
    if pending:
        yield from _block_lines(b"".join(pending), number)


def _block_lines(
    block: bytes | memoryview, before: int
) -> Iterator[tuple[int, bytes | None, str | None]]:
    """The lines of ``block`` (whole lines without their last newline), the first numbered
    ``before + 1``, as ``_jsonl_lines`` yields them."""
    try:
        text = str(block, "utf-8")
    except UnicodeDecodeError:
        for number, raw in enumerate(bytes(block).split(b"\n"), start=before + 1):
            line = raw.strip()
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            if line:
                yield number, line, _utf8_text(line)
        return
    for number, line_text in enumerate(text.split("\n"), start=before + 1):
        line_text = line_text.strip(_ASCII_SPACE)
        if number == 1:
            line_text = line_text.removeprefix("\ufeff")
        if not line_text:
            continue
        if line_text.startswith("\ufeff") or "\x00" in line_text[:4]:
            # Where _utf8_text sees another encoding (it looks at bytes, not characters).
            line = line_text.encode("utf-8")
            yield number, line, _utf8_text(line)
            continue
        yield number, None, line_text


def _jsonl_records(stream: IO[bytes]) -> Iterator[Record]:
    for number, line, text in _jsonl_lines(stream):
        # Strict UTF-8 decodes several times faster than json.loads's own decoding of bytes
        # (which lets lone surrogates through); lines it refuses take that slower way.
        # (A backslash first: one character is found several times faster than two.)
        plain = text is not None and ("\\" not in text or "\\u" not in text)
        try:
            if text is not None and plain:
                record = _loads_plain(text)
            else:
                source = line if text is None else text
                assert source is not None  # _jsonl_lines gives the bytes where it has no text
                record = json_loads_bounded(source)
        except (ValueError, UnicodeDecodeError) as exc:
            yield number, ParseProblem(f"not valid JSON: {exc}")
            continue
        if plain:
            # Valid UTF-8 holds no lone surrogate, and json.loads refuses raw control characters
            # in strings: without a \u escape no string of the record can be unstorable.
            yield number, record
            continue
        yield _checked(number, record)


_OPENING = {"start_map", "start_array"}
_CLOSING = {"end_map", "end_array"}


def _json_array_records(stream: IO[bytes]) -> Iterator[Record]:
    """Records of a JSON array, numbered from 1 (JSON arrays have no useful line numbers).

    Built from the parser's flat events (``ijson.items`` builds a path string per level, which
    makes deep nesting quadratic), with the depth counted as they come."""
    number = 0
    limit = max_json_depth()
    depth = 0
    builder: ObjectBuilder | None = None
    try:
        for event, value in ijson.basic_parse(stream, use_float=True):
            if depth == 0:
                if event != "start_array":
                    return  # not an array: no records (the import says the file holds none)
                depth = 1
                continue
            if depth == 1 and event == "end_array":
                depth = 0
                continue
            if event in _OPENING:
                depth += 1
                if depth > limit + 1:  # the top-level array is not part of a record
                    yield number + 1, ParseProblem(f"not a valid record: {depth_message()}")
                    return
            elif event in _CLOSING:
                depth -= 1
            builder = builder or ObjectBuilder()
            builder.event(event, value)
            if depth == 1:
                number += 1
                yield _checked(number, builder.value)
                builder = None
    except ijson.JSONError as exc:
        yield number + 1, ParseProblem(f"not a valid JSON array: {exc}")


def _csv_records(stream: IO[bytes], json_columns: frozenset[str]) -> Iterator[Record]:
    """Records of a CSV file with a header row, each numbered by the physical line it starts on
    (a quoted cell may span lines; blank lines are skipped but still counted)."""
    text = io.TextIOWrapper(line_bounded(stream), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            return
        line = reader.line_num + 1
        for row in reader:
            if not row:
                line = reader.line_num + 1
                continue
            if len(row) > len(header):
                yield line, ParseProblem("the row has more cells than the header")
            else:
                record: dict[str, Any] = {}
                problem = None
                for key, value in zip(header, row, strict=False):
                    if value == "":
                        continue
                    if key in json_columns:
                        try:
                            record[key] = json_loads_bounded(value)
                        except ValueError as exc:
                            problem = ParseProblem(f"column {key}: not valid JSON: {exc}")
                            break
                    else:
                        record[key] = value
                yield (line, problem) if problem else _checked(line, record)
            line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError) as exc:
        yield reader.line_num or 1, ParseProblem(f"not valid CSV: {exc}")
    finally:
        text.detach()


def parse_records(
    stream: IO[bytes], *, fmt: str | None, json_columns: frozenset[str] = frozenset()
) -> Iterator[Record]:
    """The records of ``stream`` in ``fmt`` (sniffed when ``None``): each ``(line, record)`` or
    ``(line, ParseProblem)``. ``json_columns`` are CSV columns holding JSON."""
    fmt = fmt or _sniff(stream)
    if fmt == "jsonl":
        return _jsonl_records(stream)
    if fmt == "json":
        return _json_array_records(stream)
    if fmt == "csv":
        return _csv_records(stream, json_columns)
    raise InvalidInput(
        f"unknown import format {fmt!r}; use one of {', '.join(FORMATS)}",
        detail=[FieldError("format", f"unknown format {fmt!r}")],
    )
