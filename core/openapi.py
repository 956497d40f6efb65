"""The OpenAPI schema's error responses, said once for every operation (a drf-spectacular
post-processing hook).

Every operation can answer 400 (invalid input), 401 (no or a wrong token), 403 (not allowed),
404 (no such object, or not visible to the caller) and 429 (throttled), and those with a body
415 (an unsupported content type), all with the API's ``{code, message, errors?}`` body
(``core.api_errors``). An operation that documents one of these itself keeps its own.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["code", "message"],
}
COMMON = {
    "400": "The request is invalid; `errors` names each field.",
    "401": "No credentials, or wrong ones.",
    "403": "Not allowed for this user.",
    "404": "No such object, or not visible to this user.",
    "429": "Too many requests; try again later.",
}
WITH_BODY = {"415": "The content type is not one this operation reads."}
METHODS = {"get", "post", "put", "patch", "delete"}


def error_responses_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["ApiError"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/ApiError"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            wanted = {**COMMON, **(WITH_BODY if "requestBody" in operation else {})}
            for status, description in wanted.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
