"""REST API of the analysis (lead-only): ``agreement/`` and ``divergence/``, JSON or CSV.

``?format=csv&table=<name>`` downloads one table of the figures (``analysis.tables``). When a big
project has no figures yet, the answer is 202 with ``pending: true`` while they are computed.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.models import Membership
from annotate.selectors import project_get
from core.errors import FieldError, InvalidInput

from . import report, selectors, snapshots, tables


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


class DivergenceApi(APIView):
    @extend_schema(
        parameters=PARAMETERS, responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT}
    )
    def get(self, request: Request, project_id: int) -> Any:
        """Status counts, the taxonomy distribution, and every diverging item with its tags."""
        project = project_get(project_id=project_id, user=request.user, role=Membership.Role.LEAD)
        fmt = _format(request)
        view = snapshots.analysis_get(project=project)
        if view.figures is None:
            return _pending()
        report = selectors.divergence_report(project=project, figures=view.figures)
        if fmt == "csv":
            return _table_response(
                request,
                report,
                tables.DIVERGENCE_TABLES,
                "items",
                f"project-{project.pk}-divergence",
            )
        body = report.to_dict()
        body.update(fresh=view.fresh, pending=view.pending)
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


urlpatterns = [
    path("projects/<int:project_id>/report/", ReportApi.as_view(), name="api-report"),
    path("projects/<int:project_id>/agreement/", AgreementApi.as_view(), name="api-agreement"),
    path("projects/<int:project_id>/divergence/", DivergenceApi.as_view(), name="api-divergence"),
]
