"""``manage.py create_annotators PROJECT_ID --count N``: accounts for a batch of annotators."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from annotate import services
from annotate.models import Membership, Project
from core.errors import InvalidInput

MAX_COUNT = 10_000


def new_password() -> str:
    """A random password of about 96 bits, easy to copy (URL-safe characters only)."""
    return secrets.token_urlsafe(12)


def _positive_count(raw: str) -> int:
    try:
        count = int(raw)
    except ValueError:
        raise CommandError(f"--count must be a whole number, not {raw!r}") from None
    if not 1 <= count <= MAX_COUNT:
        raise CommandError(f"--count must be between 1 and {MAX_COUNT}")
    return count


class Command(BaseCommand):
    help = (
        "Create N users with random passwords and API tokens and add them to a project. "
        "Usernames are PREFIX1, PREFIX2, ... skipping names already taken. The passwords are "
        "printed once and stored only as hashes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--count", type=_positive_count, required=True)
        parser.add_argument("--prefix", default="annotator", help="username prefix")
        parser.add_argument(
            "--role", choices=Membership.Role.values, default=Membership.Role.ANNOTATOR
        )

    def handle(
        self, *args: Any, project_id: int, count: int, prefix: str, role: str, **options: Any
    ) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"no project with id {project_id}")
        if not prefix or len(prefix) > 100:
            raise CommandError("--prefix must have between 1 and 100 characters")
        users = get_user_model()
        try:
            users.username_validator(f"{prefix}1")
        except ValidationError as exc:
            raise CommandError(f"--prefix {prefix!r}: {' '.join(exc.messages)}") from None
        created: list[tuple[str, str, str]] = []
        with transaction.atomic():
            taken = set(
                users.objects.filter(username__startswith=prefix).values_list("username", flat=True)
            )
            number = 0
            while len(created) < count:
                number += 1
                username = f"{prefix}{number}"
                if username in taken:
                    continue
                password = new_password()
                user = users.objects.create_user(username=username, password=password)
                try:
                    services.membership_add(project=project, user=user, role=role)
                except InvalidInput as exc:
                    raise CommandError(exc.message) from None
                token = Token.objects.create(user=user)
                created.append((username, password, token.key))

        width = max(len("username"), *(len(name) for name, _, _ in created))
        self.stdout.write(
            f"Created {count} {role} account(s) in project {project.pk} ({project.name}). "
            "The passwords are not shown again."
        )
        self.stdout.write(f"{'username':<{width}}  {'password':<16}  api token")
        for username, password, key in created:
            self.stdout.write(f"{username:<{width}}  {password:<16}  {key}")
