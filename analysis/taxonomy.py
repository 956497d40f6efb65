"""Writes of the divergence review: the project's taxonomy of reasons for divergence, and a lead's
tag on an item (its categories and a note)."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotate.models import Item, Project
from core.errors import FieldError, InvalidInput, NotFound

from .models import DivergenceTag, TaxonomyCategory
from .selectors.divergence import taxonomy_categories, taxonomy_default

MAX_NAME_CHARS = 100
MAX_NOTE_CHARS = 5000


def taxonomy_ensure(*, project: Project) -> list[TaxonomyCategory]:
    """The project's taxonomy, seeded with its task type's default when it has none."""
    categories = taxonomy_categories(project=project)
    if categories:
        return categories
    rows = taxonomy_default(project=project)
    if not rows:
        return categories
    TaxonomyCategory.objects.bulk_create(rows, ignore_conflicts=True)
    return taxonomy_categories(project=project)


def _clean_name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"the {what} must be 1 to {MAX_NAME_CHARS} characters",
            detail=[FieldError(what, f"1 to {MAX_NAME_CHARS} characters")],
        )
    return value


def _exists_already(group: str, name: str) -> InvalidInput:
    return InvalidInput(
        f"{group} / {name} exists already", detail=[FieldError("name", "exists already")]
    )


def taxonomy_category_add(*, project: Project, group: str, name: str) -> TaxonomyCategory:
    """Add a category (a new group is made by naming it); names are unique within a group."""
    group, name = _clean_name(group, "group"), _clean_name(name, "name")
    taxonomy_ensure(project=project)
    if TaxonomyCategory.objects.filter(project=project, group=group, name=name).exists():
        raise _exists_already(group, name)
    last = TaxonomyCategory.objects.filter(project=project).order_by("-order").first()
    return TaxonomyCategory.objects.create(
        project=project, group=group, name=name, order=(last.order + 1) if last else 1
    )


def taxonomy_category_update(
    *, project: Project, category_id: int, group: str, name: str
) -> TaxonomyCategory:
    """Rename a category or move it to another group; names stay unique within a group."""
    category = TaxonomyCategory.objects.filter(project=project, pk=category_id).first()
    if category is None:
        raise NotFound("no such category in this project")
    group, name = _clean_name(group, "group"), _clean_name(name, "name")
    clash = TaxonomyCategory.objects.filter(project=project, group=group, name=name).exclude(
        pk=category.pk
    )
    if clash.exists():
        raise _exists_already(group, name)
    category.group, category.name = group, name
    category.save(update_fields=["group", "name"])
    return category


def taxonomy_category_delete(*, project: Project, category_id: int) -> None:
    """Delete a category; the items tagged with it keep their other categories and notes."""
    deleted, _ = TaxonomyCategory.objects.filter(project=project, pk=category_id).delete()
    if not deleted:
        raise NotFound("no such category in this project")


@transaction.atomic
def divergence_tag_set(
    *, project: Project, item_id: int, category_ids: Sequence[int], note: str, tagged_by: User
) -> DivergenceTag:
    """Record a lead's reading of one item: its categories (any number) and a note. Saving again
    replaces both; saving with neither still records that the item was reviewed."""
    item = Item.objects.filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("no such item in this project")
    wanted = {int(c) for c in category_ids}
    categories = list(TaxonomyCategory.objects.filter(project=project, pk__in=wanted))
    if len(categories) != len(wanted):
        raise InvalidInput(
            "unknown category for this project",
            detail=[FieldError("categories", "not in the taxonomy")],
        )
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(
            "the note is too long", detail=[FieldError("note", "at most 5,000 characters")]
        )
    tag, _ = DivergenceTag.objects.select_for_update().update_or_create(
        item=item,
        defaults={
            "project": project,
            "note": note,
            "tagged_by": tagged_by,
            "tagged_at": timezone.now(),
        },
    )
    tag.categories.set(categories)
    return tag


def divergence_tag_delete(*, project: Project, item_id: int) -> None:
    """Remove a lead's tag from an item (its categories and note); ``NotFound`` when the item is
    not the project's or has no tag."""
    if not Item.objects.filter(project=project, pk=item_id).exists():
        raise NotFound("no such item in this project")
    deleted, _ = DivergenceTag.objects.filter(project=project, item_id=item_id).delete()
    if not deleted:
        raise NotFound("this item has no tag")


def category_ids_for(*, project: Project, categories: Sequence[int | str]) -> list[int]:
    """The ids of ``categories`` given as ids or as names (``name`` or ``group / name``, case
    left aside) of the project's taxonomy, which is seeded first when it has none yet."""
    taxonomy = taxonomy_ensure(project=project)
    by_name: dict[str, list[TaxonomyCategory]] = {}
    for category in taxonomy:
        by_name.setdefault(category.name.casefold(), []).append(category)
        by_name.setdefault(f"{category.group} / {category.name}".casefold(), []).append(category)
    out = []
    for n, wanted in enumerate(categories):
        if isinstance(wanted, int):
            out.append(wanted)
            continue
        found = by_name.get(wanted.strip().casefold(), [])
        if len(found) != 1:
            why = "not in the taxonomy" if not found else "in several groups: name the group"
            raise InvalidInput(
                f"category {wanted!r} is {why}",
                detail=[FieldError(f"categories[{n}]", why)],
            )
        out.append(found[0].pk)
    return out


@transaction.atomic
def divergence_tag_put(
    *,
    project: Project,
    item_id: int,
    categories: Sequence[int | str],
    note: str,
    tagged_by: User,
) -> DivergenceTag:
    """``divergence_tag_set`` with categories given by id or by name (``category_ids_for``);
    all or nothing: a refused tag leaves no seeded taxonomy behind either."""
    category_ids = category_ids_for(project=project, categories=categories)
    return divergence_tag_set(
        project=project, item_id=item_id, category_ids=category_ids, note=note, tagged_by=tagged_by
    )
