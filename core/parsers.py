"""The API's JSON parser: DRF's, with hostile bodies refused before and after parsing.

Before: a body nested deeper than ``DISSENSUS_MAX_JSON_DEPTH`` (a linear scan; the standard parser
would recurse into it until ``RecursionError``). After: any string, key or value, that PostgreSQL
cannot store (NUL, lone surrogates), named by its path in the body. Both answer 400 with the
API's ``{code, message, errors}`` body.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from rest_framework.parsers import JSONParser

from core.errors import FieldError, InvalidInput
from core.limits import depth_message, json_too_deep, unstorable_text


class BoundedJSONParser(JSONParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        if json_too_deep(raw):
            raise InvalidInput(
                "the request body is nested too deeply",
                detail=[FieldError("(body)", depth_message())],
            )
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        errors = unstorable_text(data)
        if errors:
            raise InvalidInput("the request holds text that cannot be stored", detail=errors)
        return data
