"""core.limits: the depth scan, the storable-text walk and the line-bounded reader."""

import io

import pytest

from core.limits import LineTooLong, json_too_deep, line_bounded, unstorable_text


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ('{"a": ' * 65 + "1" + "}" * 65, True),
        ('{"a": "' + "[" * 500 + '"}', False),  # brackets inside a string do not nest
        ('["\\"' + "[" * 100 + '"]', False),  # nor after an escaped quote
        ('["\\\\", ' + "[" * 64 + "]" * 64 + "]", True),  # an escaped backslash ends no string
        ('{"value": ' + "[" * 100_000 + "]" * 100_000 + "}", True),
        ("", False),
    ],
)
def test_json_too_deep(text, too_deep):
    assert json_too_deep(text, limit=64) is too_deep
    assert json_too_deep(text.encode(), limit=64) is too_deep


def test_unstorable_text_names_every_path_keys_included():
    value = {"a": ["ok", "x\x00"], "b": {"c\x00": 1}, "d": "\ud800", "e": 3}
    errors = {(e.field, e.message.split(",")[0]) for e in unstorable_text(value, prefix="value.")}
    assert errors == {
        ("value.a.1", "contains a NUL character (U+0000)"),
        ("value.b", "a key contains a NUL character (U+0000)"),
        ("value.d", "contains a lone surrogate character"),
    }


@pytest.mark.parametrize("chunk_line", [10, 11])
def test_the_line_bound_is_exact(chunk_line):
    ok = b"a" * 10 + b"\n" + b"b" * 10 + b"\n"
    assert list(line_bounded(io.BytesIO(ok), limit=10)) == [b"a" * 10 + b"\n", b"b" * 10 + b"\n"]
    long = b"a" * 10 + b"\n" + b"b" * chunk_line + b"\n" if chunk_line == 11 else b"c" * 11
    with pytest.raises(LineTooLong) as exc:
        list(line_bounded(io.BytesIO(long), limit=10))
    assert exc.value.detail[0]["line"] == (2 if chunk_line == 11 else 1)


@pytest.mark.parametrize(
    "value",
    [
        {"a": "ok", "b": ["é", {"c": "中"}], 1: "int key", "n": None, "f": 1.5},
        ("tuple", ["nested", ("deep",)]),
        "",
        {},
    ],
)
def test_storable_values_have_no_errors(value):
    assert unstorable_text(value) == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({1: "x\x00"}, "1"),  # a key that is not a string: the slow walk names the path
        ({"a": ("ok", "\udfff")}, "a.1"),
        ({"\ud800\udc00": 1}, "(value)"),  # two surrogates in Python are still lone ones
        (["é", "\x00"], "1"),
    ],
)
def test_unstorable_values_are_found_whatever_their_shape(value, field):
    assert [e.field for e in unstorable_text(value)] == [field]
