"""Cheap signals that suggest why two responses split the annotators (SPEC 2.1).

Pure functions on two texts, no Django. Each signal names the taxonomy category it points to
(by the default taxonomy's names) and the evidence a lead can check at a glance. Suggestions are
only ever shown; a person decides whether they become tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LENGTH_RATIO_THRESHOLD = 1.5
"""Longer / shorter length (in characters) from which length suggests Verbosity."""

LENGTH_MIN_DIFFERENCE = 200
"""...and the longer must be at least this many characters longer (short answers vary a lot)."""

FORMAT_MIN_DIFFERENCE = 3
"""Markdown structure elements (headings, list items, code blocks, table rows) one response has
more than the other, for a Format suggestion."""

REFUSAL_WINDOW = 400
"""Refusal phrases are looked for in the opening characters only: a refusal comes first."""

REFUSAL_PATTERNS = (
    r"\bI(?:'m| am) sorry,? but\b",
    r"\bI(?: can(?:'|no)t| cannot| won't| will not| am unable to|'m unable to| am not able to"
    r"|'m not able to) (?:help|assist|provide|comply|do that|fulfil|fulfill|create|write|share"
    r"|generate|support|answer|engage)",
    r"\bI must (?:respectfully )?decline\b",
    r"\bAs an AI(?: language model)?,? I (?:can(?:'|no)t|cannot|don't|do not|am not)",
    r"\bI(?:'m| am) not (?:comfortable|going to)\b",
    r"\b(?:it|this) (?:would be|is) (?:inappropriate|unethical|illegal) (?:for me )?to\b",
)
_REFUSAL = re.compile("|".join(f"(?:{p})" for p in REFUSAL_PATTERNS), re.IGNORECASE)

_STRUCTURE = {
    "headings": re.compile(r"^\s{0,3}#{1,6}\s+\S", re.MULTILINE),
    "bullet items": re.compile(r"^\s*[-*+]\s+\S", re.MULTILINE),
    "numbered items": re.compile(r"^\s*\d{1,3}[.)]\s+\S", re.MULTILINE),
    "code blocks": re.compile(r"^\s*(?:```|~~~)", re.MULTILINE),
    "table rows": re.compile(r"^\s*\|.*\|\s*$", re.MULTILINE),
}


@dataclass(frozen=True)
class Suggestion:
    category: str
    signal: str
    evidence: str


def length_ratio(text_a: str, text_b: str) -> float | None:
    """Longer length over shorter length (characters, stripped); ``None`` if one is empty."""
    a, b = len(text_a.strip()), len(text_b.strip())
    if min(a, b) == 0:
        return None
    return max(a, b) / min(a, b)


def markdown_structure(text: str) -> dict[str, int]:
    """Counts of markdown structure elements; a fenced code block counts once (two fences)."""
    counts = {name: len(pattern.findall(text)) for name, pattern in _STRUCTURE.items()}
    counts["code blocks"] //= 2
    return counts


def refusal_phrase(text: str) -> str | None:
    """The refusal phrase in the opening of ``text``, if any."""
    match = _REFUSAL.search(text[:REFUSAL_WINDOW])
    return match.group(0) if match else None


def verbosity_signal(text_a: str, text_b: str) -> Suggestion | None:
    ratio = length_ratio(text_a, text_b)
    a, b = len(text_a.strip()), len(text_b.strip())
    if ratio is None or ratio < LENGTH_RATIO_THRESHOLD or abs(a - b) < LENGTH_MIN_DIFFERENCE:
        return None
    longer, shorter = ("A", "B") if a > b else ("B", "A")
    return Suggestion(
        category="Verbosity",
        signal="length ratio",
        evidence=f"{longer} is {ratio:.1f}x as long as {shorter} ({max(a, b):,} vs "
        f"{min(a, b):,} characters)",
    )


def _describe(counts: dict[str, int]) -> str:
    parts = [f"{n} {name}" for name, n in counts.items() if n]
    return ", ".join(parts) if parts else "no markdown structure"


def format_signal(text_a: str, text_b: str) -> Suggestion | None:
    a, b = markdown_structure(text_a), markdown_structure(text_b)
    difference = sum(abs(a[name] - b[name]) for name in a)
    if difference < FORMAT_MIN_DIFFERENCE:
        return None
    return Suggestion(
        category="Format",
        signal="markdown structure",
        evidence=f"A: {_describe(a)}; B: {_describe(b)}",
    )


def refusal_signal(text_a: str, text_b: str) -> Suggestion | None:
    a, b = refusal_phrase(text_a), refusal_phrase(text_b)
    if a and b:
        return Suggestion(
            category="Refuse vs. refuse",
            signal="refusal phrases",
            evidence=f"both refuse: A \u201c{a}\u201d, B \u201c{b}\u201d",
        )
    if a or b:
        side, phrase = ("A", a) if a else ("B", b)
        return Suggestion(
            category="Comply vs. refuse",
            signal="refusal phrases",
            evidence=f"{side} refuses (\u201c{phrase}\u201d), the other complies",
        )
    return None


SIGNALS = (verbosity_signal, format_signal, refusal_signal)


def suggest(text_a: str, text_b: str) -> list[Suggestion]:
    """Every signal that fires on the pair, in a fixed order."""
    found = (signal(text_a, text_b) for signal in SIGNALS)
    return [suggestion for suggestion in found if suggestion is not None]
