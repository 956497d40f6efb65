import io
import json

import pytest
from rest_framework.test import APIClient

from annotate import services
from annotate.models import Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record
from tests.typebrowser import (  # noqa: F401  (the ``page`` and ``phone`` fixtures of browser tests)
    chromium_page,
    phone_page,
)


@pytest.fixture
def lead(db):
    return UserFactory(username="lead")


@pytest.fixture
def project(lead):
    project = ProjectFactory(created_by=lead)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    return project


@pytest.fixture
def make_annotator(project):
    def make(username: str, *, in_project=project):
        user = UserFactory(username=username)
        MembershipFactory(project=in_project, user=user, role=Membership.Role.ANNOTATOR)
        return user

    return make


def jsonl(records) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in records).encode())


@pytest.fixture
def import_pairs(project):
    def do(n: int, *, start: int = 0, into=project):
        return services.items_import(
            project=into, stream=jsonl(pair_record(i) for i in range(start, start + n)), fmt="jsonl"
        )

    return do


@pytest.fixture
def api():
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for
