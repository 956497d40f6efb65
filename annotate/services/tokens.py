"""A user's API token (DRF authtoken): create or replace it, and revoke it (issue 10, point 7)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.authtoken.models import Token


def api_token_create(*, user: User) -> Token:
    """A new token for ``user``; any earlier one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def api_token_revoke(*, user: User) -> bool:
    """Delete ``user``'s token; ``True`` when there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
