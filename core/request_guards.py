"""Refuse request parameters PostgreSQL cannot store, before any view sees them.

A query-string value (or name) holding a NUL character or a lone surrogate would reach a filter
or a saved field (``?model=`` of a predictions import) and make PostgreSQL fail: a 500. Here it
is a 400 naming the parameter, with the API's error body under ``/api/``. Bodies are checked
where they are parsed (``core.parsers``, ``core.records``, every schema through
``core.errors.validate_model``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from core.errors import FieldError
from core.limits import text_is_storable


class UnstorableQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            if not all(text_is_storable(text) for text in [name, *values]):
                return _refused(request, name)
        return self.get_response(request)


def _refused(request: HttpRequest, name: str) -> HttpResponse:
    message = "contains a character that cannot be stored (NUL or a lone surrogate)"
    field = name if text_is_storable(name) else "(query)"
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "invalid",
                "message": "the request is invalid",
                "errors": [FieldError(field, message).as_dict()],
            },
            status=400,
        )
    return HttpResponseBadRequest(f"The query parameter {field} {message}.")
