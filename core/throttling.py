"""Rate limits: DRF throttles for the API and a lockout for the browser login form.

Rates and limits are settings read when a request comes (not when a class is defined), so a
deployment sets them through the environment and a test through ``settings``. Counters live in
Django's default cache: set ``DJANGO_CACHE_URL`` to a Redis URL where more than one web process
serves, so that every process counts the same requests.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _RateFromSettings:
    scope: str

    def get_rate(self) -> str | None:
        return dict(getattr(settings, "DISSENSUS_API_THROTTLE_RATES", {})).get(self.scope)


class ApiAnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Requests without a signed-in user or a valid token, per client address."""


class ApiUserThrottle(_RateFromSettings, UserRateThrottle):
    """Requests of one signed-in user (session or token)."""


# --- the browser login form


def _failure_key(request: HttpRequest, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


def login_locked(*, request: HttpRequest, username: str) -> bool:
    """Whether ``username`` from this address has failed ``DISSENSUS_LOGIN_MAX_FAILURES`` times
    within the window; while locked, even the right password is not checked."""
    limit = int(settings.DISSENSUS_LOGIN_MAX_FAILURES)
    return limit > 0 and int(cache.get(_failure_key(request, username), 0)) >= limit


def login_failure_record(*, request: HttpRequest, username: str) -> None:
    """Count a failed login; the window starts at the first failure and lasts
    ``DISSENSUS_LOGIN_FAILURE_WINDOW_SECONDS``."""
    key = _failure_key(request, username)
    cache.add(key, 0, timeout=int(settings.DISSENSUS_LOGIN_FAILURE_WINDOW_SECONDS))
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=int(settings.DISSENSUS_LOGIN_FAILURE_WINDOW_SECONDS))


def login_failures_clear(*, request: HttpRequest, username: str) -> None:
    cache.delete(_failure_key(request, username))
