"""Page helpers over annotate's models, shared by the browser views of every app: which project,
if the user may see it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from annotate import selectors
from annotate.models import Membership, Project
from core.errors import Forbidden, NotFound
from core.web import request_user


def project_for_page(request: HttpRequest, project_id: int, role: str | None = None) -> Project:
    """The project, if the user may see it in ``role``: 404 for non-members (ids do not leak),
    403 for members without the role."""
    try:
        return selectors.project_get(project_id=project_id, user=request_user(request), role=role)
    except NotFound:
        raise Http404("no such project") from None
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None


def lead_project_for_page(request: HttpRequest, project_id: int) -> Project:
    return project_for_page(request, project_id, role=Membership.Role.LEAD)
