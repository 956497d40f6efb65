"""Serializer pieces shared by the apps' APIs."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers


class NoUnknownFields(serializers.Serializer):
    """A body with a key the serializer does not declare is refused, each such key named, rather
    than the key being silently ignored with a 200 (a misspelt setting looks like success)."""

    unknown_field_message: ClassVar[str] = "not a field of this request"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({key: self.unknown_field_message for key in unknown})
        return super().validate(attrs)
