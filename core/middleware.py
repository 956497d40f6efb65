import select
from collections.abc import Callable

from django.db import connections
from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Pages whose third-party templates use inline scripts.
_CSP_EXEMPT = ("/api/v1/docs/", "/admin/")


class ContentSecurityPolicyMiddleware:
    """No inline or foreign scripts on our pages: a stored XSS that slipped past the sanitizer
    still would not run."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(_CSP_EXEMPT):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class DatabaseLivenessMiddleware:
    """Django's health check of a reused database connection (``CONN_HEALTH_CHECKS``:
    ``SELECT 1`` before a request's first query) without its round trip while the connection
    shows no sign of trouble (issue 11).

    A PostgreSQL server that drops a connection (restart, ``pg_terminate_backend``, an idle
    timeout, a pooler) sends its last words and closes the socket, so the socket turns
    readable; an idle, healthy connection has nothing to read. So: a socket with nothing to
    read, on a connection that is idle and not closed, counts as checked for this request;
    anything else (data waiting, an odd state, an error asking) leaves Django's ``SELECT 1``
    to decide, close and reconnect. A drop between this look and the first query fails that
    request, as one between ``SELECT 1`` and the first query does. First in ``MIDDLEWARE``,
    after ``request_started`` reset the check and before any view touches the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for connection in connections.all(initialized_only=True):
            if connection.vendor == "postgresql":
                _vouch_if_quiet(connection)
        return self.get_response(request)


def _vouch_if_quiet(connection: object) -> None:
    raw = getattr(connection, "connection", None)
    if raw is None or not getattr(connection, "health_check_enabled", False):
        return
    if getattr(connection, "health_check_done", True):
        return
    try:
        if raw.closed or raw.info.transaction_status != raw.info.transaction_status.IDLE:
            return
        poller = select.poll()
        poller.register(raw.pgconn.socket, select.POLLIN | select.POLLPRI)
        if poller.poll(0):
            return  # something arrived (an error, a notice, the end): SELECT 1 decides
    except Exception:  # noqa: BLE001 - any doubt: Django's own check runs
        return
    connection.health_check_done = True  # type: ignore[attr-defined]
