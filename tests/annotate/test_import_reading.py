"""JSON Lines read a block at a time (``core.records._jsonl_lines``) give the records, line
numbers and problems that reading line by line gave, wherever the blocks are cut: the reference
below is the line-by-line reader as it was."""

import codecs
import io
import json

import pytest

from core import records as records_module
from core.errors import SchemaError
from core.limits import LineTooLong, line_bounded
from core.records import ParseProblem, _checked, _loads_plain, _utf8_text, json_loads_bounded


def reference_records(stream):
    """The line-by-line JSON Lines reader that block reading replaced."""
    for number, raw in enumerate(line_bounded(stream), start=1):
        line = raw.strip()
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if not line:
            continue
        text = _utf8_text(line)
        plain = text is not None and "\\u" not in text
        try:
            if text is not None and plain:
                record = _loads_plain(text)
            else:
                record = json_loads_bounded(line if text is None else text)
        except (ValueError, UnicodeDecodeError) as exc:
            yield number, ParseProblem(f"not valid JSON: {exc}")
            continue
        if plain:
            yield number, record
            continue
        yield _checked(number, record)


def comparable(entries):
    out = []
    for number, value in entries:
        if isinstance(value, SchemaError):
            value = ("schema", value.as_list())
        elif isinstance(value, ParseProblem):
            value = ("problem", value.message)
        else:
            value = ("record", json.dumps(value))
        out.append((number, value))
    return out


HOSTILE = b"".join(
    [
        codecs.BOM_UTF8 + b'  {"a": "first, after a BOM"}\r\n',
        b"\n",
        b"   \t \n",
        b'{"b": "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x8e\x89", "n": [1, 2.5, null]}\n',
        b'{"bad utf-8": "\xff\xfe"}\n',
        b'{"c": "latin-1 \xe9"}\r\n',
        codecs.BOM_UTF8 + b'{"bom": "not on the first line"}\n',
        b'\x00{"nul": 1}\n',
        b'{"nul escape": "a\\u0000b"}\n',
        b'{"lone": "\\ud800"}\n',
        b'{"pair": "\\ud83d\\ude00", "slash": "a\\\\b\\n"}\n',
        b'{"not json",}\n',
        b"[" * 70 + b"]" * 70 + b"\n",
        b'{"deep but fine": ' + b"[" * 10 + b"]" * 10 + b"}\n",
        b"\x0b\x0c" + b'{"ascii space": 1}' + b" \xc2\xa0\n",  # a no-break space is not stripped
        "\u3000".encode() + b'{"ideographic space": 1}\n',
        b'{"e": "' + "é".encode() * 300 + b'"}\n',
        b'{"last": "no newline at the end"}',
    ]
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64, 1000, 1 << 20])
def test_block_reading_gives_the_line_by_line_records(monkeypatch, chunk):
    expected = comparable(reference_records(io.BytesIO(HOSTILE)))
    monkeypatch.setattr(records_module, "_CHUNK", chunk)
    got = comparable(records_module.parse_records(io.BytesIO(HOSTILE), fmt="jsonl"))
    assert got == expected
    assert [number for number, _ in got] == [
        1,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
    ]


@pytest.mark.parametrize("chunk", [3, 1 << 20])
@pytest.mark.parametrize("tail", [b"", b"\n", b"\n\n", b"\r\n  \n"])
def test_line_numbers_and_endings(monkeypatch, chunk, tail):
    data = b'{"a": 1}\n\n{"a": 2}' + tail
    monkeypatch.setattr(records_module, "_CHUNK", chunk)
    got = comparable(records_module.parse_records(io.BytesIO(data), fmt="jsonl"))
    assert got == comparable(reference_records(io.BytesIO(data)))
    assert [number for number, _ in got] == [1, 3]


def test_a_line_over_the_limit_still_stops_the_import(settings):
    settings.DISSENSUS_MAX_LINE_BYTES = 100
    data = b'{"a": 1}\n' + b'{"b": "' + b"x" * 200 + b'"}\n'
    with pytest.raises(LineTooLong) as exc:
        list(records_module.parse_records(io.BytesIO(data), fmt="jsonl"))
    assert exc.value.detail[0]["line"] == 2
