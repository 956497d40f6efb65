"""The ``tom`` task type (SPEC 2)."""

from .plugin import Tom

__all__ = ["Tom"]
