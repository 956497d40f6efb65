"""Item files (e.g. the images of visual arguments), served only to members of the item's project.

Files live in Django's default storage (the local disk, or an S3-compatible bucket shared by every
web server and worker), never under a public ``MEDIA_URL``: each request is checked against the
project membership, and the storage path comes from the item's task type, never from the request.
A browser is known by its session; an API client by its token (``Authorization: Token ...``), as
on the API.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from annotate import selectors
from annotate.images import CONTENT_TYPES
from annotate.models import Item
from annotate.tasktypes import get_task_type
from core.errors import NotFound


def _token_user(request: HttpRequest) -> User | None:
    """The user of a valid ``Authorization: Token`` header; ``AuthenticationFailed`` if the
    header is there but wrong."""
    found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    return found[0] if found else None


@require_GET
def item_file(request: HttpRequest, item_id: int, key: str) -> HttpResponse | FileResponse:
    user = request.user if request.user.is_authenticated else None
    if user is None and get_authorization_header(request):
        try:
            user = _token_user(request)
        except AuthenticationFailed as exc:
            return JsonResponse({"code": "authentication_failed", "message": str(exc)}, status=401)
    if user is None:
        return redirect_to_login(request.get_full_path())
    assert isinstance(user, User)
    item = Item.objects.select_related("project").filter(pk=item_id).first()
    if item is None:
        raise Http404("no such file")
    try:
        selectors.project_get(project_id=item.project_id, user=user)
    except NotFound:
        raise Http404("no such file") from None
    path = get_task_type(item.project.task_type).item_files(item.payload).get(key)
    if not path or not default_storage.exists(path):
        raise Http404("no such file")
    extension = path.rsplit(".", 1)[-1].lower()
    response = FileResponse(
        default_storage.open(path, "rb"),
        content_type=CONTENT_TYPES.get(extension, "application/octet-stream"),
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response
