"""The ``visual_argument`` task type (SPEC 2)."""

from .plugin import VisualArgument

__all__ = ["VisualArgument"]
