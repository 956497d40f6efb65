from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ServiceError


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested ``{field: [messages]}`` as the API's ``[{field, message}]`` list."""
    if isinstance(detail, dict):
        return [
            error
            for key, value in detail.items()
            for error in _flatten(value, f"{prefix}{key}." if key != "non_field_errors" else prefix)
        ]
    if isinstance(detail, list):
        return [error for value in detail for error in _flatten(value, prefix)]
    return [{"field": prefix.rstrip(".") or "(body)", "message": str(detail)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every 4xx body is ``{code, message, errors?}``: service errors and DRF's own alike."""
    if isinstance(exc, ServiceError):
        return Response(exc.as_dict(), status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        errors = _flatten(exc.detail)
        response.data = {"code": "invalid", "message": "the request is invalid", "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(response.data["detail"], "code", "error")
        response.data = {"code": str(code), "message": str(response.data["detail"])}
    return response
