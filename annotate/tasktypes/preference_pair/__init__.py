"""The ``preference_pair`` task type (SPEC 2)."""

from .plugin import PreferencePair

__all__ = ["PreferencePair"]
