"""``manage.py demo_setup``: a demo project, a lead and three annotators, ready to label.

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
from annotate.demo_data import DEMO_INSTRUCTIONS, DEMO_PROJECT_NAME, demo_pairs_jsonl
from annotate.demo_data_more import demo_more_projects
from annotate.models import Membership, Project

if TYPE_CHECKING:
    from django.contrib.auth.models import User

LEAD_USERNAME = "lead"
ANNOTATOR_USERNAMES = ("alice", "bob", "carol")


def _user_with_new_password(username: str) -> tuple[User, str]:
    user, _ = get_user_model().objects.get_or_create(username=username)
    password = secrets.token_urlsafe(9)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user, password


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo: a preference-pair project with demo items, a lead and "
        "the annotators alice, bob and carol, each with a new random password, printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            help="login address to print; default http://127.0.0.1:$PORT/login/ (PORT or 8000)",
        )

    def handle(self, *args: Any, url: str | None, **options: Any) -> None:
        url = url or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/login/"
        with transaction.atomic():
            lead, lead_password = _user_with_new_password(LEAD_USERNAME)
            lead.user_permissions.add(
                Permission.objects.get(content_type__app_label="annotate", codename="add_project")
            )
            project = Project.objects.filter(name=DEMO_PROJECT_NAME).order_by("pk").first()
            if project is None:
                project = services.project_create(
                    name=DEMO_PROJECT_NAME,
                    task_type="preference_pair",
                    created_by=lead,
                    overlap=3,
                    instructions=DEMO_INSTRUCTIONS,
                )
            services.membership_add(project=project, user=lead, role=Membership.Role.LEAD)
            accounts = [(lead, "lead", lead_password)]
            for username in ANNOTATOR_USERNAMES:
                user, password = _user_with_new_password(username)
                services.membership_add(project=project, user=user, role=Membership.Role.ANNOTATOR)
                accounts.append((user, "annotator", password))
            result = services.items_import(
                project=project, stream=io.BytesIO(demo_pairs_jsonl()), fmt="jsonl"
            )
            # One more demo project per task type (derailment, tom, visual_argument).
            more = demo_more_projects(lead=lead, annotators=[user for user, *_ in accounts[1:]])

        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo project {project.pk}: {project.name}"))
        write(
            f"  items: {result.created} created, {result.updated} updated "
            f"(overlap {project.overlap})"
        )
        for extra, extra_result in more:
            write(self.style.SUCCESS(f"Demo project {extra.pk}: {extra.name}"))
            write(f"  items: {extra_result.created} created, {extra_result.updated} updated")
        write("")
        write(f"Log in at {url} as one of:")
        write("")
        write(f"  {'username':<10}{'role':<11}password")
        write(f"  {'-' * 10}{'-' * 11}{'-' * 12}")
        for user, role, password in accounts:
            write(f"  {user.get_username():<10}{role:<11}{password}")
        write("")
        write("Passwords are new on every run of demo_setup; the ones above replace earlier ones.")
