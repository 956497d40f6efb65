"""Token authentication for the hot endpoints: the same ``Authorization: Token <key>`` scheme
(and OpenAPI security scheme) as DRF's, without a query per request
(``annotate.services.tokens.token_user_cached``)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from annotate.services.tokens import token_user_cached


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        found = token_user_cached(key=key)
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return found
