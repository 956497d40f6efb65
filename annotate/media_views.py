"""Item files (e.g. the images of visual arguments), served only to members of the item's project.

Files live in Django's default storage, never under a public ``MEDIA_URL``: each request is checked
against the project membership, and the storage path comes from the item's task type, never from
the request.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from annotate import selectors
from annotate.images import CONTENT_TYPES
from annotate.models import Item
from annotate.tasktypes import get_task_type
from core.errors import NotFound


@login_required
@require_GET
def item_file(request: HttpRequest, item_id: int, key: str) -> FileResponse:
    item = Item.objects.select_related("project").filter(pk=item_id).first()
    if item is None:
        raise Http404("no such file")
    assert isinstance(request.user, User)
    try:
        selectors.project_get(project_id=item.project_id, user=request.user)
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
