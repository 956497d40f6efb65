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
def cell(value: Any) -> str:
    """A table cell of a type's own table: three decimals for a float, a dash when undefined."""
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
