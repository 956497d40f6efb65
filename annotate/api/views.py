"""REST API v1: one view per operation; each parses input, calls a service or selector, renders."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import exporting, selectors, services
from annotate.models import Membership
from annotate.tasktypes import get_task_type, task_types
from core.errors import FieldError, Forbidden, InvalidInput
from core.pagination import IdCursorPagination
from core.records import detect_format

from . import serializers as s
from .auth import CachedTokenAuthentication

LEAD = Membership.Role.LEAD
ANNOTATOR = Membership.Role.ANNOTATOR
WAIT_RETRY_SECONDS = 60
# next and submit: tokens checked without a query per request (annotate.api.auth).
HOT_AUTHENTICATION = [CachedTokenAuthentication, SessionAuthentication]


def _project_detail(project, user) -> dict:
    role = selectors.project_role(project=project, user=user)
    data = s.ProjectOut(project).data
    data["role"] = role
    if role == LEAD:
        data["progress"] = selectors.project_progress(project=project).as_dict()
    else:
        mine = selectors.annotator_progress(project=project, annotator=user)
        data["progress"] = {"n_done": mine.n_done, "n_left": mine.n_left}
    return data


def _uploaded(request: Request) -> tuple[Any, str | None]:
    """An import's stream and format: a multipart ``file``, or the raw body (read as a stream,
    never all in memory); the format from ``?format=``, else the file name or content type."""
    fmt = request.query_params.get("format")
    content_type = request.content_type or ""
    if content_type.startswith("multipart/form-data"):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("no file", detail=[FieldError("file", "attach the file as 'file'")])
        return upload, fmt or detect_format(filename=upload.name, content_type=upload.content_type)
    return request._request, fmt or detect_format(content_type=content_type)


class ProjectListCreateApi(ListAPIView):
    serializer_class = s.ProjectOut

    def get_queryset(self):
        return selectors.projects_for_user(user=self.request.user)

    @extend_schema(request=s.ProjectCreateIn, responses={201: s.ProjectDetailOut})
    def post(self, request: Request) -> Response:
        if not (request.user.is_staff or request.user.has_perm("annotate.add_project")):
            raise Forbidden("creating projects needs staff or the 'add project' permission")
        data = s.ProjectCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(created_by=request.user, **data.validated_data)
        return Response(_project_detail(project, request.user), status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    @extend_schema(responses=s.ProjectDetailOut)
    def get(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(project_id=project_id, user=request.user)
        return Response(_project_detail(project, request.user))

    @extend_schema(request=s.ProjectUpdateIn, responses={200: s.ProjectDetailOut, 400: s.ErrorOut})
    def patch(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(project_id=project_id, user=request.user, role=LEAD)
        data = s.ProjectUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_update(project=project, **data.validated_data)
        return Response(_project_detail(project, request.user))


class MemberAddApi(APIView):
    @extend_schema(request=s.MemberIn, responses={201: s.MemberOut, 400: s.ErrorOut})
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(project_id=project_id, user=request.user, role=LEAD)
        data = s.MemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_add_by_reference(
            project=project,
            reference=data.validated_data["user"],
            role=data.validated_data["role"],
        )
        return Response(s.MemberOut(membership).data, status=status.HTTP_201_CREATED)


class ItemsApi(ListAPIView):
    """List a project's items (leads), or import items: JSON array, JSON Lines or a file."""

    serializer_class = s.ItemOut
    # Multipart for file uploads; JSON and JSON Lines bodies are read as the raw stream.
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=selectors.ITEM_STATUSES, required=False)]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        project = selectors.project_get(
            project_id=self.kwargs["project_id"], user=self.request.user, role=LEAD
        )
        status_filter = self.request.query_params.get("status")
        if status_filter and status_filter not in selectors.ITEM_STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(selectors.ITEM_STATUSES)}",
                detail=[FieldError("status", f"unknown status {status_filter!r}")],
            )
        return selectors.items_list(project=project, status=status_filter)

    @extend_schema(
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/x-ndjson": OpenApiTypes.STR,
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        parameters=[
            OpenApiParameter("format", enum=["json", "jsonl", "csv"], required=False),
            OpenApiParameter("adapter", str, required=False),
        ],
        responses={201: s.ImportResultOut, 400: s.ErrorOut},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(project_id=project_id, user=request.user, role=LEAD)
        stream, fmt = _uploaded(request)
        result = services.items_import(
            project=project, stream=stream, fmt=fmt, adapter=request.query_params.get("adapter")
        )
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


class NextApi(APIView):
    """The next item, as in the browser (``services.annotator_next``): 204 when there is none,
    with ``Retry-After`` when every item left is reserved by others for now."""

    authentication_classes = HOT_AUTHENTICATION

    @extend_schema(
        request=None,
        responses={200: s.NextOut, 204: None},
        parameters=[
            OpenApiParameter(
                "Retry-After",
                int,
                OpenApiParameter.HEADER,
                response=[204],
                description="seconds to wait: every item left is reserved by others for now",
            )
        ],
    )
    def post(self, request: Request, project_id: int) -> Response:
        hot = services.hot_next(project_id=project_id, annotator=request.user)
        if hot is not None:  # the common case, in fewer statements (services.assignment)
            return Response(
                _next_body(hot.assignment, hot.task_type, n_done=hot.n_done, n_left=hot.n_left)
            )
        project = selectors.project_get(project_id=project_id, user=request.user, role=ANNOTATOR)
        step = services.annotator_next(project=project, annotator=request.user)
        assignment = step.assignment
        if assignment is None:
            response = Response(status=status.HTTP_204_NO_CONTENT)
            if step.state == services.NextState.WAIT:
                response["Retry-After"] = str(WAIT_RETRY_SECONDS)
            return response
        progress = selectors.annotator_progress(project=project, annotator=request.user)
        return Response(
            _next_body(
                assignment, project.task_type, n_done=progress.n_done, n_left=progress.n_left
            )
        )


# The two hot bodies are written out by hand: the fields, names and formats of the serializers
# their schema names (``NextOut``, ``AnnotationOut``; tests/annotate/test_hot_path_sql.py
# compares them), at a fraction of a ModelSerializer's cost per call.
_datetime = serializers.DateTimeField().to_representation


def _next_body(assignment: Any, task_type: str, *, n_done: int, n_left: int) -> dict:
    item = assignment.item
    return {
        "assignment": {
            "id": assignment.pk,
            "status": assignment.status,
            "shown_order": assignment.shown_order,
            "reserved_at": _datetime(assignment.reserved_at),
            "expires_at": _datetime(assignment.expires_at),
        },
        "item": {
            "id": item.pk,
            "external_id": str(item.external_id),
            "payload": get_task_type(task_type).annotator_payload(item.payload),
        },
        "progress": {"n_done": n_done, "n_left": n_left},
    }


def _annotation_body(annotation: Any) -> dict:
    return {
        "id": annotation.pk,
        "assignment": annotation.assignment_id,
        "item": annotation.item_id,
        "external_id": str(annotation.item.external_id),
        "annotator": annotation.annotator_id,
        "value": annotation.value,
        "shown_order": annotation.shown_order,
        "time_spent_ms": annotation.time_spent_ms,
        "version": annotation.version,
        "created_at": _datetime(annotation.created_at),
        "updated_at": _datetime(annotation.updated_at),
    }


class SubmitApi(APIView):
    authentication_classes = HOT_AUTHENTICATION

    @extend_schema(
        request=s.SubmitIn,
        responses={200: s.AnnotationOut, 201: s.AnnotationOut, 409: s.ErrorOut},
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        data = s.SubmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        answer = {
            "assignment_id": assignment_id,
            "annotator": request.user,
            "value": data.validated_data["value"],
            "time_spent_ms": data.validated_data.get("time_spent_ms"),
            "base_version": data.validated_data.get("base_version"),
        }
        # The common case in fewer statements, else the full path (services.assignment).
        annotation, created = services.hot_submit(**answer) or services.annotation_submit(**answer)
        return Response(
            _annotation_body(annotation),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SkipApi(APIView):
    @extend_schema(request=None, responses=s.AssignmentOut)
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = services.assignment_skip(assignment_id=assignment_id, annotator=request.user)
        return Response(s.AssignmentOut(assignment).data)


class NewestFirstPagination(IdCursorPagination):
    ordering = "-id"


class UnskipApi(APIView):
    """Take back a skip made a few seconds ago (``services.assignment_unskip``)."""

    @extend_schema(request=None, responses={200: s.AssignmentOut, 409: s.ErrorOut})
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = services.assignment_unskip(assignment_id=assignment_id, annotator=request.user)
        return Response(s.AssignmentOut(assignment).data)


class MyAnnotationsApi(ListAPIView):
    """Everything the caller answered in the project, newest first (to go back and change an
    answer: submit again to its ``assignment`` with ``base_version``)."""

    serializer_class = s.AnnotationOut
    pagination_class = NewestFirstPagination

    def get_queryset(self):
        project = selectors.project_get(
            project_id=self.kwargs["project_id"], user=self.request.user
        )
        return selectors.annotator_history(project=project, annotator=self.request.user)


class AnnotationsApi(ListAPIView):
    """Leads see every annotation of the project; annotators only their own."""

    serializer_class = s.AnnotationOut

    def get_queryset(self):
        project = selectors.project_get(
            project_id=self.kwargs["project_id"], user=self.request.user
        )
        return selectors.annotations_list(project=project, user=self.request.user)


# Query parameters every shape takes; any other is one of the shape's own options.
EXPORT_PARAMS = ("format", "shape", "identities", "include_flagged")


def _shape_option_parameters() -> list[OpenApiParameter]:
    """The options the task types declare on their shapes, one query parameter per name."""
    seen: dict[str, OpenApiParameter] = {}
    for plugin in task_types():
        for spec in plugin.export_shapes():
            for option in spec.options:
                seen.setdefault(
                    option.name,
                    OpenApiParameter(
                        option.name,
                        enum=list(option.values()),
                        required=False,
                        description=f"{spec.name}: {option.help or option.label}",
                    ),
                )
    return list(seen.values())


class ExportApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", enum=list(exporting.FORMATS), required=False),
            OpenApiParameter(
                "shape",
                str,
                required=False,
                description="annotations, items, or one of the task type's own shapes",
            ),
            OpenApiParameter(
                "identities",
                bool,
                required=False,
                description="real usernames instead of pseudonymous annotator ids",
            ),
            OpenApiParameter(
                "include_flagged",
                bool,
                required=False,
                description="keep the annotations of flagged (paused) annotators, "
                "left out by default",
            ),
            *_shape_option_parameters(),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, project_id: int) -> StreamingHttpResponse:
        project = selectors.project_get(project_id=project_id, user=request.user, role=LEAD)
        params = request.query_params
        fmt = params.get("format", "jsonl")
        shape = params.get("shape", "annotations")
        if fmt not in exporting.FORMATS:
            raise InvalidInput(
                f"format must be one of {', '.join(exporting.FORMATS)}",
                detail=[FieldError("format", f"unknown format {fmt!r}")],
            )
        options = {key: value for key, value in params.items() if key not in EXPORT_PARAMS}
        rows = exporting.export_rows(
            project,
            shape=shape,
            identities=params.get("identities") in {"1", "true", "yes"},
            options=options,
            include_flagged=params.get("include_flagged") in {"1", "true", "yes"},
        )
        content_type, extension = exporting.FORMATS[fmt]
        response = StreamingHttpResponse(
            exporting.export_bytes(rows, fmt=fmt), content_type=content_type
        )
        filename = f"project-{project.pk}-{shape}.{extension}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class AnnotationsImportApi(AnnotationsApi):
    """``/annotations/``: the list (GET, as ``AnnotationsApi``) and, for leads, the import of
    existing labels (POST): rows ``{external_id, annotator, value, created_at?, time_spent_ms?,
    metadata?, cohort?}`` as a JSON array, JSON Lines, CSV or a multipart ``file``; all or
    nothing (``annotate.services.labels_import``)."""

    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/x-ndjson": OpenApiTypes.STR,
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        parameters=[OpenApiParameter("format", enum=["json", "jsonl", "csv"], required=False)],
        responses={201: s.LabelsImportResultOut, 400: s.ErrorOut},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = selectors.project_get(project_id=project_id, user=request.user, role=LEAD)
        stream, fmt = _uploaded(request)
        result = services.labels_import(project=project, stream=stream, fmt=fmt)
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)
