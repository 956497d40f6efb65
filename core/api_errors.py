"""The API's error bodies: DRF's exception handler and the JSON ``handler500`` for ``/api/``."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import FieldError, ServiceError


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
    return [FieldError(prefix.rstrip(".") or "(body)", str(detail)).as_dict()]


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


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``handler500``: under ``/api/`` the API's JSON error body, elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "server_error", "message": "an unexpected error happened on the server"},
            status=500,
        )
    return defaults.server_error(request, *args, **kwargs)


def bad_request(
    request: HttpRequest, exception: Exception, *args: Any, **kwargs: Any
) -> HttpResponse:
    """``handler400``: a request Django refuses before any view (too many query parameters, a
    bad Host) answers the API's JSON body under ``/api/``, naming the reason."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "invalid",
                "message": "the request is invalid",
                "errors": [{"field": "(request)", "message": str(exception) or "bad request"}],
            },
            status=400,
        )
    return defaults.bad_request(request, exception, *args, **kwargs)


def page_not_found(
    request: HttpRequest, exception: Exception, *args: Any, **kwargs: Any
) -> HttpResponse:
    """``handler404``: a path under ``/api/`` that matches no route (e.g. ``/projects/-1/``)
    answers the API's JSON body; elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": "no such API path"}, status=404)
    return defaults.page_not_found(request, exception, *args, **kwargs)
