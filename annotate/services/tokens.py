"""A user's API token (DRF authtoken): create or replace it, and revoke it (issue 10, point 7).

Checking a token costs a query; the two hot endpoints (``next`` and ``submit``, issue 11) ask
``token_user_cached`` instead, which remembers a key's user in this process for
``TOKEN_CACHE_SECONDS``. Replacing or revoking a token forgets it here at once; another web
process stops accepting a revoked token within ``TOKEN_CACHE_SECONDS``.
"""

from __future__ import annotations

import copy
import threading
import time

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token

TOKEN_CACHE_SECONDS = 3.0
TOKEN_CACHE_MAX = 10_000

_cache: dict[str, tuple[float, User, Token]] = {}
_cache_lock = threading.Lock()


def api_token_create(*, user: User) -> Token:
    """A new token for ``user``; any earlier one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
    token_cache_forget(user_id=user.pk)
    return token


def api_token_revoke(*, user: User) -> bool:
    """Delete ``user``'s token; ``True`` when there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    token_cache_forget(user_id=user.pk)
    return deleted > 0


def token_user_cached(*, key: str) -> tuple[User, Token] | None:
    """The active user of token ``key`` and the token, from this process's memory when it was
    checked in the last ``TOKEN_CACHE_SECONDS``, else from the database; ``None`` when there is
    no such token or its user is inactive. Each call gets its own copy of the user (nothing a
    request caches on it leaks into another)."""
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is None or hit[0] <= now:
        token = Token.objects.select_related("user").filter(key=key).first()
        if token is None or not token.user.is_active:
            _cache.pop(key, None)
            return None
        with _cache_lock:
            if len(_cache) >= TOKEN_CACHE_MAX:
                _cache.clear()
            _cache[key] = hit = (now + TOKEN_CACHE_SECONDS, token.user, token)
    return copy.copy(hit[1]), hit[2]


def token_cache_forget(*, user_id: int | None = None) -> None:
    """Forget the cached tokens of ``user_id`` (all of them when ``None``)."""
    with _cache_lock:
        if user_id is None:
            _cache.clear()
            return
        for key in [k for k, (_, user, _t) in _cache.items() if user.pk == user_id]:
            _cache.pop(key, None)
