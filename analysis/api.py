"""REST API of the analysis (lead-only): ``agreement/`` and ``divergence/``, JSON or CSV, and the
leads' tag of one item, ``divergence/items/<id>/tag/`` (GET, PUT, DELETE).

``?format=csv&table=<name>`` downloads one table of the figures (``analysis.tables``). When a big
project has no figures yet, the answer is 202 with ``pending: true`` while they are computed.
``divergence/`` lists every item (paged, by id) with its agreement status (``null`` under two
votes), votes, tag and suggestions; ``?status=`` keeps the items of some statuses (``none``: those
without one).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.models import Membership
from annotate.selectors import project_get
from core.errors import FieldError, InvalidInput, NotFound
from core.pagination import IdCursorPagination
from core.serializers import NoUnknownFields

from . import report, selectors, snapshots, tables, taxonomy
from .models import DivergenceTag


def _table_response(
    request: Request, data: Any, choices: dict[str, Any], default: str, name: str
) -> HttpResponse:
    table = request.query_params.get("table", default)
    if table not in choices:
        raise InvalidInput(
            f"table must be one of {', '.join(choices)}",
            detail=[FieldError("table", f"unknown table {table!r}")],
        )
    response = HttpResponse(tables.to_csv(choices[table](data)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}-{table}.csv"'
    return response


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidInput(
            "format must be json or csv",
            detail=[FieldError("format", f"unknown format {fmt!r}")],
        )
    return fmt


def _pending() -> Response:
    return Response({"pending": True, "fresh": False}, status=status.HTTP_202_ACCEPTED)


PARAMETERS = [
    OpenApiParameter("format", enum=["json", "csv"], required=False),
    OpenApiParameter("table", str, required=False, description="the table a CSV download holds"),
]


class AgreementApi(APIView):
    @extend_schema(
        parameters=PARAMETERS, responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT}
    )
    def get(self, request: Request, project_id: int) -> Any:
        """Agreement per field, annotators, model versus humans, progress."""
        project = project_get(project_id=project_id, user=request.user, role=Membership.Role.LEAD)
        fmt = _format(request)
        view = snapshots.analysis_get(project=project)
        if view.figures is None:
            return _pending()
        if fmt == "csv":
            return _table_response(
                request,
                view.figures,
                tables.AGREEMENT_TABLES,
                "fields",
                f"project-{project.pk}-agreement",
            )
        body = {key: value for key, value in view.figures.to_dict().items() if key != "divergence"}
        body.update(fresh=view.fresh, pending=view.pending)
        return Response(body)


STATUS_PARAMETER = OpenApiParameter(
    "status",
    str,
    required=False,
    description="keep the items of these agreement statuses (comma-separated or repeated); "
    "`none`: the items without a status (under two votes)",
)


class DivergenceApi(APIView):
    @extend_schema(
        parameters=[
            *PARAMETERS,
            STATUS_PARAMETER,
            OpenApiParameter("cursor", str, required=False, description="the page (JSON)"),
            OpenApiParameter("page_size", int, required=False, description="items per page"),
        ],
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, project_id: int) -> Any:
        """Status counts, the taxonomy distribution, and every item (a page of them, by id) with
        its status, votes, tag and suggestions; ``next`` and ``previous`` link the pages. As CSV,
        every item of the filter in one table."""
        project = project_get(project_id=project_id, user=request.user, role=Membership.Role.LEAD)
        fmt = _format(request)
        raw_statuses = request.query_params.getlist("status")
        wanted = selectors.status_filter(project=project, raw=raw_statuses)
        view = snapshots.analysis_get(project=project)
        figures = view.figures
        if figures is None:
            return _pending()
        name = f"project-{project.pk}-divergence"
        if fmt == "csv":
            if request.query_params.get("table", "items") == "items":
                report = selectors.divergence_report(
                    project=project, figures=figures, statuses=wanted
                )
            else:
                report = selectors.divergence_summary(project=project, figures=figures)
            return _table_response(request, report, tables.DIVERGENCE_TABLES, "items", name)
        paginator = IdCursorPagination()
        queryset = selectors.divergence_items_queryset(
            project=project, figures=figures, statuses=wanted
        )
        page = paginator.paginate_queryset(queryset.only("id"), request, view=self) or []
        items = selectors.divergence_items(
            project=project, figures=figures, item_ids=[item.pk for item in page]
        )
        summary = selectors.divergence_summary(project=project, figures=figures)
        body = replace(summary, items=items).to_dict()
        body.update(
            next=paginator.get_next_link(),
            previous=paginator.get_previous_link(),
            fresh=view.fresh,
            pending=view.pending,
        )
        return Response(body)


REPORT_FORMATS = ("json", "csv", "latex")


class ReportApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("format", enum=list(REPORT_FORMATS), required=False)],
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, project_id: int) -> Any:
        """The source paper's tables for the project's task type (the paper view): JSON, one CSV
        with every table, or LaTeX (booktabs) tables."""
        project = project_get(project_id=project_id, user=request.user, role=Membership.Role.LEAD)
        fmt = request.query_params.get("format", "json")
        if fmt not in REPORT_FORMATS:
            raise InvalidInput(
                f"format must be one of {', '.join(REPORT_FORMATS)}",
                detail=[FieldError("format", f"unknown format {fmt!r}")],
            )
        paper = report.project_report(project=project)
        if paper is None:
            return _pending()
        if fmt == "json":
            return Response(paper.to_dict())
        if fmt == "csv":
            body, content_type, suffix = report.report_csv(paper.tables), "text/csv", "csv"
        else:
            body = "\n\n".join(report.report_latex(t) for t in paper.tables) + "\n"
            content_type, suffix = "text/x-tex; charset=utf-8", "tex"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="project-{project.pk}-report.{suffix}"'
        )
        return response


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class CategoryRefField(serializers.Field):
    """A category of the taxonomy: its id, or its name (``name`` or ``group / name``)."""

    default_error_messages = {"invalid": "a category id or name"}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str) and not 0 < len(data.strip()) <= 201:
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class TagIn(NoUnknownFields):
    unknown_field_message = "not a field of a tag (categories, note)"

    categories = serializers.ListField(child=CategoryRefField(), max_length=100)
    note = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=taxonomy.MAX_NOTE_CHARS
    )


class TagCategoryOut(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.CharField()
    name = serializers.CharField()


class TagOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    tagged = serializers.BooleanField()
    categories = TagCategoryOut(many=True)
    note = serializers.CharField(allow_blank=True)
    tagged_by = serializers.CharField(allow_null=True)
    tagged_at = serializers.DateTimeField(allow_null=True)


def _tag_body(item_id: int, tag: DivergenceTag | None) -> dict[str, Any]:
    return TagOut(
        {
            "item_id": item_id,
            "tagged": tag is not None,
            "categories": (
                [{"id": c.pk, "group": c.group, "name": c.name} for c in tag.categories.all()]
                if tag
                else []
            ),
            "note": tag.note if tag else "",
            "tagged_by": tag.tagged_by.username if tag and tag.tagged_by else None,
            "tagged_at": tag.tagged_at if tag else None,
        }
    ).data


class DivergenceTagApi(APIView):
    """A lead's tag of one item: why it diverges (categories of the taxonomy) and a note."""

    def _item(self, request: Request, project_id: int, item_id: int) -> Any:
        project = project_get(project_id=project_id, user=request.user, role=Membership.Role.LEAD)
        if not selectors.item_in_project(project=project, item_id=item_id):
            raise NotFound("no such item in this project")
        return project

    @extend_schema(responses={200: TagOut})
    def get(self, request: Request, project_id: int, item_id: int) -> Any:
        """The item's tag (``tagged: false``, no categories and an empty note when it has none)."""
        project = self._item(request, project_id, item_id)
        tag = selectors.tags_by_item(project=project, item_ids=[item_id]).get(item_id)
        return Response(_tag_body(item_id, tag))

    @extend_schema(request=TagIn, responses={200: TagOut})
    def put(self, request: Request, project_id: int, item_id: int) -> Any:
        """Set the item's tag: its categories (ids or names; the taxonomy is seeded with the
        task type's default on first use) and a note. Replaces the tag it had."""
        project = self._item(request, project_id, item_id)
        data = TagIn(data=request.data)
        data.is_valid(raise_exception=True)
        taxonomy.divergence_tag_put(
            project=project,
            item_id=item_id,
            categories=data.validated_data["categories"],
            note=data.validated_data["note"],
            tagged_by=request.user,
        )
        tag = selectors.tags_by_item(project=project, item_ids=[item_id]).get(item_id)
        return Response(_tag_body(item_id, tag))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, item_id: int) -> Any:
        """Remove the item's tag; 404 when it has none."""
        project = self._item(request, project_id, item_id)
        taxonomy.divergence_tag_delete(project=project, item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("projects/<int:project_id>/report/", ReportApi.as_view(), name="api-report"),
    path("projects/<int:project_id>/agreement/", AgreementApi.as_view(), name="api-agreement"),
    path("projects/<int:project_id>/divergence/", DivergenceApi.as_view(), name="api-divergence"),
    path(
        "projects/<int:project_id>/divergence/items/<int:item_id>/tag/",
        DivergenceTagApi.as_view(),
        name="api-divergence-tag",
    ),
]
