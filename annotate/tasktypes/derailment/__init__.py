"""The ``derailment`` task type (SPEC 2)."""

from .plugin import Derailment

__all__ = ["Derailment"]
