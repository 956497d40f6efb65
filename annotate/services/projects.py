from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotate.models import Membership, Project
from annotate.tasktypes import get_task_type
from core.errors import InvalidInput, SchemaError


def _validated(project: Project) -> Project:
    try:
        plugin = get_task_type(project.task_type)
    except SchemaError as exc:
        raise InvalidInput(str(exc), detail=exc.as_list()) from None
    try:
        project.config = plugin.validate_config(project.config or {})
    except ValueError as exc:
        raise InvalidInput(str(exc), detail=[{"field": "config", "message": str(exc)}]) from None
    try:
        project.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        detail = [
            {"field": name, "message": message}
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
        raise InvalidInput("invalid project", detail=detail) from None
    return project


@transaction.atomic
def project_create(
    *,
    name: str,
    task_type: str,
    created_by: User | None,
    overlap: int = 3,
    instructions: str = "",
    reservation_seconds: int | None = None,
    gold_rate: float = 0.0,
    config: dict[str, Any] | None = None,
) -> Project:
    """Create a project; its creator becomes its lead."""
    project = Project(
        name=name,
        task_type=task_type,
        overlap=overlap,
        instructions=instructions,
        gold_rate=gold_rate,
        config=config or {},
        created_by=created_by,
    )
    if reservation_seconds is not None:
        project.reservation_seconds = reservation_seconds
    _validated(project).save()
    if created_by is not None:
        Membership.objects.create(project=project, user=created_by, role=Membership.Role.LEAD)
    return project


def project_update(*, project: Project, **changes: Any) -> Project:
    """Change a project's settings; the task type is fixed once items exist."""
    allowed = {"name", "overlap", "instructions", "reservation_seconds", "gold_rate", "config"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(
            "these fields cannot be changed",
            detail=[{"field": f, "message": "cannot be changed"} for f in sorted(unknown)],
        )
    for field, value in changes.items():
        setattr(project, field, value)
    _validated(project).save(update_fields=list(changes) or None)
    return project


def membership_add(*, project: Project, user: User, role: str) -> Membership:
    """Give ``user`` a role in ``project``; an existing membership changes role."""
    if role not in Membership.Role.values:
        raise InvalidInput(
            f"role must be one of {', '.join(Membership.Role.values)}",
            detail=[{"field": "role", "message": f"unknown role {role!r}"}],
        )
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership
