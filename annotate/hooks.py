"""Hooks through which ``annotate`` tells the apps built on it about events, or asks them for data,
without importing them (STYLE.md: dependencies run one way, core → stats → annotate →
models_runtime → analysis).

A higher app connects its receivers in its ``AppConfig.ready()``; annotate calls the hook, which
calls every receiver in the order they were connected. A hook nobody connected does nothing (the
annotate app works on its own: a project without the analysis app simply has no figures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Hook(Generic[P, R]):
    """A named list of receivers with one signature."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Callable[P, R]] = []

    def connect(self, receiver: Callable[P, R]) -> Callable[P, R]:
        """Add ``receiver`` (once; connecting it again is a no-op). Usable as a decorator."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Callable[P, R]) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> list[R]:
        """Call every receiver; their results, in connection order."""
        return [receiver(*args, **kwargs) for receiver in self._receivers]

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._receivers)} receiver(s)>"


def _declare(name: str) -> Hook[..., Any]:
    return Hook(name)


# A project's annotations changed (a submit, an import of labels): figures built from them are
# stale. Receivers take ``project_id=`` and return nothing.
annotations_changed: Hook[..., Any] = _declare("annotations_changed")

# Extra columns of the ``items`` export, one batch of items at a time: receivers take
# ``item_ids=`` (a list) and return ``{column: {item_id: value}}``.
item_export_columns: Hook[..., Any] = _declare("item_export_columns")

# Each annotator's agreement with the consensus in a project, for the crowd lead page: receivers
# take ``project=`` and return ``{user_id: float | None}``.
annotator_consensus_agreement: Hook[..., Any] = _declare("annotator_consensus_agreement")
