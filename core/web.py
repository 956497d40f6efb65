"""Helpers shared by the browser views of every app that need no domain model."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


def request_user(request: HttpRequest) -> User:
    """The logged-in user; only for views behind ``login_required``."""
    assert isinstance(request.user, User)
    return request.user


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
