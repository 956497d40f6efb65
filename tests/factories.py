import factory
from django.contrib.auth import get_user_model

from annotate.models import Membership, Project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-123")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    task_type = "preference_pair"
    overlap = 3
    instructions = "Pick the better response."


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ANNOTATOR


def pair_record(n: int, **overrides):
    """One preference-pair import record in the platform's own JSONL format."""
    record = {
        "external_id": f"pair-{n}",
        "prompt": f"Question number {n}?",
        "response_a": f"Answer A to {n}.",
        "response_b": f"Answer B to {n}, longer and with **markdown**.",
        "model_a": "model-x",
        "model_b": "model-y",
    }
    record.update(overrides)
    return record
