"""Projects and their members: create, change settings (one validation path), add members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotate.models import Membership, Project
from annotate.services.adaptive import adaptive_extend_items
from annotate.tasktypes import get_task_type
from core.errors import FieldError, InvalidInput, SchemaError


def _validated(project: Project) -> Project:
    try:
        plugin = get_task_type(project.task_type)
    except SchemaError as exc:
        raise InvalidInput(str(exc), detail=exc.as_list()) from None
    try:
        project.config = plugin.validate_config(project.config or {})
    except ValueError as exc:
        raise InvalidInput(str(exc), detail=[FieldError("config", str(exc))]) from None
    detail: list[FieldError] = []
    try:
        project.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        detail = [
            FieldError(name, message)
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    detail += [
        error
        for error in _adaptive_errors(project)
        if not any(found.field == error.field for found in detail)
    ]
    if detail:
        raise InvalidInput("invalid project", detail=detail)
    return project


def _adaptive_errors(project: Project) -> list[FieldError]:
    """Adaptive overlap compares an item's first ``k`` labels, 2 or more, and no more than the
    overlap: an item gets no more labels than that before it is extended."""
    if not project.adaptive_extra or not isinstance(project.overlap, int):
        return []
    if project.adaptive_first_k is None:
        if project.overlap < 2:
            return [
                FieldError(
                    "adaptive_extra",
                    f"adaptive overlap compares at least 2 first labels, and the overlap is "
                    f"{project.overlap}: raise the overlap or set adaptive_first_k",
                )
            ]
        return []
    if isinstance(project.adaptive_first_k, int) and project.adaptive_first_k > project.overlap:
        return [
            FieldError(
                "adaptive_first_k",
                f"must be at most the overlap ({project.overlap}): an item gets no more labels "
                "than that before adaptive overlap extends it",
            )
        ]
    return []


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
    adaptive_extra: int = 0,
    adaptive_first_k: int | None = None,
    adaptive_threshold: float = 1.0,
) -> Project:
    """Create a project; its creator becomes its lead."""
    project = Project(
        name=name,
        task_type=task_type,
        overlap=overlap,
        instructions=instructions,
        gold_rate=gold_rate,
        config=config or {},
        adaptive_extra=adaptive_extra,
        adaptive_first_k=adaptive_first_k,
        adaptive_threshold=adaptive_threshold,
        created_by=created_by,
    )
    if reservation_seconds is not None:
        project.reservation_seconds = reservation_seconds
    _validated(project).save()
    if created_by is not None:
        Membership.objects.create(project=project, user=created_by, role=Membership.Role.LEAD)
    return project


UPDATABLE_FIELDS = (
    "name",
    "overlap",
    "instructions",
    "reservation_seconds",
    "gold_rate",
    "config",
    # onboarding and gold (the lead's crowd page)
    "instructions_required",
    "qualification_pass_mark",
    "gold_min_answers",
    "gold_min_accuracy",
    # adaptive overlap (annotate.services.adaptive)
    "adaptive_extra",
    "adaptive_first_k",
    "adaptive_threshold",
)

ADAPTIVE_INPUTS = frozenset({"overlap", "adaptive_extra", "adaptive_first_k", "adaptive_threshold"})
"""The settings adaptive overlap's rule reads: changing one applies the rule to the items that
already have their first labels."""


def project_update(*, project: Project, **changes: Any) -> Project:
    """Change a project's settings; every change is checked before anything is saved.

    The one path for every settings change (the API, the project and crowd pages): the task
    type's config schema and the model's validators. The task type is fixed once created. On
    a refusal ``project`` is left as it was in the database. A change of the adaptive overlap
    settings (or of the overlap, its default ``k``) applies the rule to the items that already
    have their first labels, in the same transaction.
    """
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise InvalidInput(
            "these fields cannot be changed",
            detail=[FieldError(f, "cannot be changed") for f in sorted(unknown)],
        )
    before = {field: getattr(project, field) for field in changes}
    for field, value in changes.items():
        setattr(project, field, value)
    try:
        _validated(project)
    except InvalidInput:
        if changes and project.pk is not None:
            project.refresh_from_db(fields=list(changes))
        raise
    with transaction.atomic():
        project.save(update_fields=list(changes) or None)
        if any(before[f] != getattr(project, f) for f in ADAPTIVE_INPUTS & set(changes)):
            adaptive_extend_items(project=project)
    return project


def membership_add(*, project: Project, user: User, role: str) -> Membership:
    """Give ``user`` a role in ``project``; an existing membership changes role."""
    if role not in Membership.Role.values:
        raise InvalidInput(
            f"role must be one of {', '.join(Membership.Role.values)}",
            detail=[FieldError("role", f"unknown role {role!r}")],
        )
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


def membership_add_by_reference(*, project: Project, reference: str, role: str) -> Membership:
    """Give the account named by ``reference`` (a username or an e-mail) a role in ``project``.

    An unknown reference is refused with nothing more than what the lead typed, so the answer
    tells no more about other accounts than the lead already knew.
    """
    user = _user_by_username_or_email(reference)
    if user is None:
        raise InvalidInput(
            "no such user",
            detail=[FieldError("user", f"no user {reference!r}")],
        )
    return membership_add(project=project, user=user, role=role)


def _user_by_username_or_email(reference: str) -> User | None:
    # Numeric ids are not looked up: a lead names people, not rows. An e-mail shared by
    # several accounts names none of them.
    reference = reference.strip()
    if not reference:
        return None
    user = User.objects.filter(username=reference).first()
    if user is not None or "@" not in reference:
        return user
    matches = list(User.objects.filter(email__iexact=reference)[:2])
    return matches[0] if len(matches) == 1 else None
