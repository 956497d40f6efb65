from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def num(value: Any, digits: int = 2) -> str:
    """A figure with ``digits`` decimals; a dash when undefined."""
    if value is None or value == "":  # missing keys render as ""
        return "–"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def pct(value: Any) -> str:
    """A share as a percentage; a dash when undefined."""
    if value is None or value == "":  # missing keys render as ""
        return "–"
    return f"{100 * float(value):.0f}%"


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """``mapping[key]``, or ``None`` when there is no such key (or no mapping)."""
    if not isinstance(mapping, dict):
        return None
    return mapping.get(key)


@register.filter
def words(name: Any) -> str:
    """A snake_case name as words (``high_agreement_tie`` -> ``high agreement tie``)."""
    return str(name).replace("_", " ")
