"""core.records: JSON Lines records read the fast way (strict UTF-8, pydantic-core's parser, no
text walk without a \\u escape) are the records the slow way gives, problems included."""

import io
import json

import pytest

from core.errors import SchemaError
from core.records import ParseProblem, parse_records


def records(data: bytes) -> list:
    return list(parse_records(io.BytesIO(data), fmt="jsonl"))


@pytest.mark.parametrize(
    "line",
    [
        '{"a": 1e400, "b": NaN, "c": -Infinity, "d": 123456789012345678901234567890}',
        '{"a": 1, "a": 2, "b": [1.0, -0, -0.0, 1E5, 0.1, 1e-400], "c": {"": null}}',
        '{"text": "tab\\tquote\\" slash\\/ é 中", "t": true, "f": false}',
        '{"escaped": "\\u00e9\\ud83d\\ude00"}',  # escapes: parsed by json.loads, then walked
        "[1, 2, 3]",
        '"a string"',
    ],
)
def test_values_are_those_of_json_loads(line):
    [(number, record)] = records(line.encode() + b"\n")
    assert number == 1
    assert json.dumps(record) == json.dumps(json.loads(line))


@pytest.mark.parametrize(
    "line",
    [b'{"a": 1,}', b'{"a": "x\ty"}', b"{} {}", b'{"a": 01}', b'{"a": ' + b"1" * 5000 + b"}"],
)
def test_invalid_lines_keep_json_loads_message(line):
    [(number, problem)] = records(b'{"ok": 1}\n' + line + b"\n")[1:]
    assert number == 2 and isinstance(problem, ParseProblem)
    try:
        json.loads(line)
    except ValueError as exc:
        assert problem.message == f"not valid JSON: {exc}"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b'{"a": "x\\u0000y"}', "a"),  # a NUL by escape
        (b'{"b": ["\\ud800"]}', "b.0"),  # a lone surrogate by escape
        (b'{"c": "\xed\xa0\x80"}', "c"),  # a surrogate's UTF-8 bytes (json.loads lets them by)
    ],
)
def test_unstorable_text_is_found_on_every_path(line, field):
    [(number, problem)] = records(line + b"\n")
    assert number == 1 and isinstance(problem, SchemaError)
    assert [e.field for e in problem.errors] == [field]


def test_byte_order_marks_are_read_as_json_loads_reads_them():
    got = records(b'\xef\xbb\xbf{"a": 1}\n\xef\xbb\xbf{"b": 2}\n\xff\xfe{\x00}\x00\n')
    assert got == [(1, {"a": 1}), (2, {"b": 2}), (3, {})]  # the last line is UTF-16


def test_too_deep_lines_are_problems():
    deep = b'{"a": ' * 70 + b"1" + b"}" * 70
    [(number, problem)] = records(deep + b"\n")
    assert number == 1 and isinstance(problem, ParseProblem)
    assert "nested deeper than" in problem.message
