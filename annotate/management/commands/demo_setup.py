"""``manage.py demo_setup``: a demo project per task type, a lead and three annotators, ready to
label. Each task type supplies its demo (``TaskType.demo``); the registry's order is kept.

Idempotent: users and the project are reused by name, items by ``external_id`` (they go through
the real import path, so re-running updates them and never duplicates). Every run gives the demo
users fresh random passwords and prints them.
"""

from __future__ import annotations

import io
import os
import secrets
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from annotate import services
from annotate.models import Membership, Project
from annotate.services.importing import ImportResult
from annotate.tasktypes import task_types

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ADMIN_USERNAME = "admin"
LEAD_USERNAME = "lead"
# The lead may register predictors (and so start model runs) in the demo. Named by app label and
# codename, not imported: the models runtime sits above this app (issue 9).
LEAD_PERMISSIONS = (("annotate", "add_project"), ("models_runtime", "add_predictor"))
ANNOTATOR_USERNAMES = ("alice", "bob", "carol")


def _user_with_new_password(username: str) -> tuple[User, str]:
    user, _ = get_user_model().objects.get_or_create(username=username)
    password = secrets.token_urlsafe(9)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user, password


def _demo_projects(*, lead: User, annotators: list[User]) -> list[tuple[Project, ImportResult]]:
    """Create (or refresh) the demo project of every task type that has one."""
    done = []
    for plugin in task_types():
        demo = plugin.demo()
        if demo is None:
            continue
        project = Project.objects.filter(name=demo.project_name).order_by("pk").first()
        if project is None:
            project = services.project_create(
                name=demo.project_name,
                task_type=plugin.name,
                created_by=lead,
                overlap=3,
                instructions=demo.instructions,
            )
        services.membership_add(project=project, user=lead, role=Membership.Role.LEAD)
        for user in annotators:
            services.membership_add(project=project, user=user, role=Membership.Role.ANNOTATOR)
        result = services.items_import(
            project=project, stream=io.BytesIO(demo.data()), fmt=demo.fmt, adapter=demo.adapter
        )
        done.append((project, result))
    return done


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo: a project per task type with demo items, an admin (staff "
        "superuser, for /admin/), a lead and the annotators alice, bob and carol, each with a "
        "new random password, printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            help="login address to print; default http://127.0.0.1:$PORT/login/ (PORT or 8000)",
        )

    def handle(self, *args: Any, url: str | None, **options: Any) -> None:
        url = url or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/login/"
        with transaction.atomic():
            admin, admin_password = _user_with_new_password(ADMIN_USERNAME)
            admin.is_staff = admin.is_superuser = True
            admin.save(update_fields=["is_staff", "is_superuser"])
            lead, lead_password = _user_with_new_password(LEAD_USERNAME)
            for app_label, codename in LEAD_PERMISSIONS:
                lead.user_permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
            accounts = [(lead, "lead", lead_password)]
            for username in ANNOTATOR_USERNAMES:
                user, password = _user_with_new_password(username)
                accounts.append((user, "annotator", password))
            projects = _demo_projects(lead=lead, annotators=[user for user, *_ in accounts[1:]])
            accounts.append((admin, "admin", admin_password))

        write = self.stdout.write
        for project, result in projects:
            write(self.style.SUCCESS(f"Demo project {project.pk}: {project.name}"))
            write(
                f"  items: {result.created} created, {result.updated} updated "
                f"(overlap {project.overlap})"
            )
        write("")
        write(f"Log in at {url} as one of:")
        write("")
        write(f"  {'username':<10}{'role':<11}password")
        write(f"  {'-' * 10}{'-' * 11}{'-' * 12}")
        for user, role, password in accounts:
            write(f"  {user.get_username():<10}{role:<11}{password}")
        write("")
        admin_url = url.replace("/login/", "/admin/")
        write(f"The admin (staff superuser) manages users and predictors at {admin_url}.")
        write("Passwords are new on every run of demo_setup; the ones above replace earlier ones.")
