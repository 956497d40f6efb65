"""The lead's pages (issue 10, point 7): a preview of the annotator view, and the API token."""

from __future__ import annotations

import random
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from annotate.messages import annotator_errors
from annotate.models import Item, Project
from annotate.services.gold import item_gold_set
from annotate.services.tokens import api_token_create, api_token_revoke
from annotate.tasktypes import get_task_type
from annotate.web import lead_project_for_page
from core.errors import FieldError, InvalidInput, SchemaError
from core.web import request_user

PREVIEW_SEED = 0
"""The preview shows items in one fixed order of their parts, so a reload shows the same page."""


@login_required
def preview(request: HttpRequest, project_id: int) -> HttpResponse:
    """The annotator's view of an item of a project the user leads. Nothing is reserved or
    stored: a POST only checks the answer against the schema and says what an annotator would
    be told."""
    project = lead_project_for_page(request, project_id)
    plugin = get_task_type(project.task_type)
    items = Item.objects.filter(project=project, is_gold=False).order_by("pk")
    position = request.GET.get("n", "1")
    index = int(position) - 1 if position.isdigit() and int(position) > 0 else 0
    n_items = items.count()
    item = items[index] if index < n_items else items.first()
    context: dict[str, object] = {
        "project": project,
        "item": item,
        "n": index + 1 if item is not None and index < n_items else 1,
        "n_items": n_items,
        "task_scripts": plugin.annotator_scripts,
        "task_styles": plugin.annotator_styles,
    }
    if item is not None:
        shown_order = plugin.shown_order(item.payload, random.Random(PREVIEW_SEED))
        # The item templates name the assignment (its item's files, its id); the preview has
        # none, so they get a stand-in that reserves nothing.
        context["assignment"] = SimpleNamespace(pk="", item_id=item.pk, item=item)
        context["task_template"] = plugin.annotator_template
        context["task"] = plugin.display_context(
            item.payload, shown_order=shown_order, config=project.config
        )
        if request.method == "POST":
            value = plugin.form_to_value(
                request.POST, shown_order=shown_order, config=project.config
            )
            if request.POST.get("as_gold"):
                return _gold_from_form(request, project, item, value, context)
            try:
                plugin.validate_annotation(value, config=project.config, payload=item.payload)
            except SchemaError as exc:
                context["error"] = "An annotator would be asked to complete the form:"
                context["field_errors"] = annotator_errors(
                    project, exc.errors, payload=item.payload
                )
            else:
                context["notice"] = "This answer would be accepted (preview: nothing is stored)."
    return render(request, "annotate/preview.html", context)


def _gold_from_form(
    request: HttpRequest,
    project: Project,
    item: Item,
    value: object,
    context: dict[str, object],
) -> HttpResponse:
    """Mark the previewed item gold with the answer given in the annotator's own controls."""
    try:
        item_gold_set(
            project=project,
            external_id=item.external_id,
            gold=value,
            qualification=request.POST.get("qualification") == "on",
        )
    except InvalidInput as exc:
        context["error"] = "This answer cannot be the gold answer:"
        context["field_errors"] = annotator_errors(
            project,
            [FieldError("value." + e.field.removeprefix("gold."), e.message) for e in exc.detail],
            payload=item.payload,
        )
        return render(request, "annotate/preview.html", context, status=400)
    messages.success(request, f"{item.external_id} is now a gold item with the answer you gave.")
    return redirect("crowd-lead", project_id=project.pk)


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """The user's API token: whether they have one, and buttons to create or revoke it."""
    token = Token.objects.filter(user=request_user(request)).first()
    return render(request, "annotate/token.html", {"token": token, "new_key": None})


@login_required
@require_POST
def api_token_new(request: HttpRequest) -> HttpResponse:
    token = api_token_create(user=request_user(request))
    # The key is shown once, on this response; the page only says a token exists afterwards.
    return render(request, "annotate/token.html", {"token": token, "new_key": token.key})


@login_required
@require_POST
def api_token_delete(request: HttpRequest) -> HttpResponse:
    if api_token_revoke(user=request_user(request)):
        messages.success(request, "Your API token is revoked: it no longer works.")
    return redirect("api-token")
