"""REST API v1: one view per operation; each parses input, calls a service or selector, renders."""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import exporting, selectors, services
from annotate.models import Membership
from annotate.services.assignment import MAX_TIME_SPENT_MS
from annotate.services.tokens import token_user_cached
from annotate.tasktypes import get_task_type, task_types
from core.errors import FieldError, Forbidden, InvalidInput, ServiceError
from core.pagination import IdCursorPagination
from core.parsers import BoundedJSONParser
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


class _HotApi(APIView):
    """Base of the two hot endpoints (``next`` and ``submit``, issue 11): the same contract,
    schema, authentication, throttles and errors as any API view, with a lean lane for the
    common request.

    The lane takes a ``POST`` carrying ``Authorization: Token <key>`` for a valid token, which
    accepts JSON (no ``Accept`` header, ``*/*`` or ``application/json``) and passes the
    throttles; its ``fast`` method answers it without DRF's request wrapper, negotiation,
    parsers and serializers, or returns ``None`` to hand it to the full DRF dispatch. Anything
    else goes that way too: other methods, session authentication (with its CSRF check), a
    missing or bad token (401), a throttled user (429), another ``Accept``, a body the lane does
    not take as is (DRF's parser and serializer word the 4xx). A request handed on is not
    throttled twice (``check_throttles``), and the view skips what the lane already tried
    (``hot_tried``)."""

    authentication_classes = HOT_AUTHENTICATION

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        user = _lane_user(request) if request.method == "POST" else None
        if user is None or not self._lane_throttles_pass(request, user):
            return super().dispatch(request, *args, **kwargs)
        self.args, self.kwargs, self.request = args, kwargs, request
        try:
            answer = self.fast(request, user, **kwargs)
        except ServiceError as exc:  # as core.api_errors.exception_handler words it
            answer = exc.status_code, exc.as_dict()
        if answer is None:
            return super().dispatch(request, *args, **kwargs)
        code, data = answer
        response = HttpResponse(_render(data), status=code, content_type="application/json")
        for key, value in self.default_response_headers.items():  # as finalize_response
            response[key] = value
        return response

    def _lane_throttles_pass(self, request: Any, user: Any) -> bool:
        request.user = user  # what DRF sets on the request once a user is authenticated
        if not all(throttle.allow_request(request, self) for throttle in self.get_throttles()):
            return False  # DRF answers 429 (a refusal records no request: nothing counts twice)
        request._dissensus_throttled = True
        return True

    def check_throttles(self, request: Request) -> None:
        if not getattr(request._request, "_dissensus_throttled", False):
            super().check_throttles(request)

    def fast(self, request: Any, user: Any, **kwargs: Any) -> tuple[int, dict] | None:
        """The lane's answer (status, body), or ``None`` to hand the request to DRF; each hot
        endpoint (``NextApi``, ``SubmitApi``) defines it."""
        raise NotImplementedError


def hot_tried(request: Request) -> bool:
    """Whether the lean lane already tried the hot service for this request (and it declined)."""
    return bool(getattr(request._request, "_dissensus_hot_tried", False))


_LANE_ACCEPT = frozenset({"", "*/*", "application/json"})
_LANE_JSON = frozenset({"application/json", "application/json; charset=utf-8"})
_render = JSONRenderer().render


def _lane_user(request: Any) -> Any:
    """The user of a well-formed ``Token <key>`` header on a request that takes JSON back, as
    ``CachedTokenAuthentication`` finds it; ``None`` when DRF must decide."""
    if request.META.get("HTTP_ACCEPT", "").strip().lower() not in _LANE_ACCEPT:
        return None
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "token" or not parts[1].isascii():
        return None
    found = token_user_cached(key=parts[1])
    return None if found is None else found[0]


class NextApi(_HotApi):
    """The next item, as in the browser (``services.annotator_next``): 204 when there is none,
    with ``Retry-After`` when every item left is reserved by others for now."""

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
        if not hot_tried(request):
            hot = self.fast(request, request.user, project_id=project_id)
            if hot is not None:
                return Response(hot[1])
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

    def fast(self, request: Any, user: Any, **kwargs: Any) -> tuple[int, dict] | None:
        hot = services.hot_next(project_id=kwargs["project_id"], annotator=user)
        if hot is None:  # not the common case: the full path (services.assignment)
            request._dissensus_hot_tried = True
            return None
        return 200, _next_body(hot.assignment, hot.task_type, n_done=hot.n_done, n_left=hot.n_left)


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


class SubmitApi(_HotApi):
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
        stored = None if hot_tried(request) else services.hot_submit(**answer)
        annotation, created = stored or services.annotation_submit(**answer)
        return Response(
            _annotation_body(annotation),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def fast(self, request: Any, user: Any, **kwargs: Any) -> tuple[int, dict] | None:
        answer = _lane_submit_in(request)
        if answer is None:
            return None  # DRF's parser and SubmitIn word the refusal
        assignment_id = kwargs["assignment_id"]
        stored = services.hot_submit(assignment_id=assignment_id, annotator=user, **answer)
        if stored is None:  # not the common case: the full path (services.assignment)
            request._dissensus_hot_tried = True
            return None
        annotation, created = stored
        return (201 if created else 200), _annotation_body(annotation)


_LANE_MAX_BODY = 64 * 1024


def _lane_submit_in(request: Any) -> dict | None:
    """``SubmitIn``'s validated data for a JSON body it takes as is: an object whose ``value`` is
    not null and whose integers are plain in-range integers (other keys are ignored, as the
    serializer does), at most ``_LANE_MAX_BODY`` bytes, parsed by the API's parser (depth,
    strictness, storable text). ``None`` for anything else (DRF's parser and the serializer
    then answer)."""
    if request.META.get("CONTENT_TYPE", "").lower() not in _LANE_JSON:
        return None
    if not request.META.get("CONTENT_LENGTH", "").isdigit():
        return None
    if int(request.META["CONTENT_LENGTH"]) > _LANE_MAX_BODY:
        return None  # DRF reads it as a stream
    try:
        data = BoundedJSONParser().parse(io.BytesIO(request.body), None, {"encoding": "utf-8"})
    except (ParseError, ServiceError):
        return None
    if type(data) is not dict or data.get("value") is None:
        return None
    spent = data.get("time_spent_ms")
    base = data.get("base_version")
    if "time_spent_ms" in data and not (type(spent) is int and 0 <= spent <= MAX_TIME_SPENT_MS):
        return None
    if "base_version" in data and not (type(base) is int and base >= 0):
        return None
    return {"value": data["value"], "time_spent_ms": spent, "base_version": base}


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
