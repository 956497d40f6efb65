"""REST API for predictors, model runs and imported predictions: parse, call one service, render."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate import selectors as annotate_selectors
from annotate.models import Membership
from core.errors import FieldError, Forbidden, InvalidInput, NotFound
from core.records import detect_format
from models_runtime import predictions_import, predictors, runs, selectors
from models_runtime.models import Predictor

from . import serializers as s

LEAD = Membership.Role.LEAD


def _may_edit_predictors(user) -> bool:
    # A predictor names a directory on the workers' disks: staff, or the explicit permission.
    return user.is_staff or user.has_perm("models_runtime.add_predictor")


def _check_may_see_predictors(user) -> None:
    if not selectors.user_may_see_predictors(user):
        raise Forbidden("predictors are visible to project leads and staff only")


def _predictor_by_ref(ref: str) -> Predictor:
    found = selectors.predictor_find(ref)
    if found is None:
        raise InvalidInput(
            "no such predictor", detail=[FieldError("predictor", f"no predictor {ref!r}")]
        )
    return found


class PredictorListCreateApi(ListAPIView):
    serializer_class = s.PredictorOut

    def get_queryset(self):
        _check_may_see_predictors(self.request.user)
        return Predictor.objects.order_by("id")

    @extend_schema(request=s.PredictorIn, responses={201: s.PredictorOut})
    def post(self, request: Request) -> Response:
        if not _may_edit_predictors(request.user):
            raise Forbidden("registering predictors needs staff or the 'add predictor' permission")
        data = s.PredictorIn(data=request.data)
        data.is_valid(raise_exception=True)
        predictor = predictors.predictor_create(created_by=request.user, **data.validated_data)
        return Response(s.PredictorOut(predictor).data, status=status.HTTP_201_CREATED)


class PredictorDetailApi(APIView):
    @extend_schema(responses=s.PredictorOut)
    def get(self, request: Request, predictor_id: int) -> Response:
        _check_may_see_predictors(request.user)
        predictor = Predictor.objects.filter(pk=predictor_id).first()
        if predictor is None:
            raise NotFound("no such predictor")
        return Response(s.PredictorOut(predictor).data)

    @extend_schema(request=s.PredictorPatchIn, responses=s.PredictorOut)
    def patch(self, request: Request, predictor_id: int) -> Response:
        if not _may_edit_predictors(request.user):
            raise Forbidden("changing predictors needs staff or the 'add predictor' permission")
        predictor = Predictor.objects.filter(pk=predictor_id).first()
        if predictor is None:
            raise NotFound("no such predictor")
        data = s.PredictorPatchIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        predictor = predictors.predictor_update(predictor=predictor, **data.validated_data)
        return Response(s.PredictorOut(predictor).data)


class ModelRunListCreateApi(ListAPIView):
    """A project's model runs (leads); POST starts one."""

    serializer_class = s.ModelRunOut

    def get_queryset(self):
        project = annotate_selectors.project_get(
            project_id=self.kwargs["project_id"], user=self.request.user, role=LEAD
        )
        return selectors.model_runs_for_project(project=project)

    @extend_schema(request=s.ModelRunIn, responses={201: s.ModelRunOut, 503: OpenApiTypes.OBJECT})
    def post(self, request: Request, project_id: int) -> Response:
        project = annotate_selectors.project_get(
            project_id=project_id, user=request.user, role=LEAD
        )
        data = s.ModelRunIn(data=request.data)
        data.is_valid(raise_exception=True)
        run = runs.model_run_start(
            project=project,
            predictor=_predictor_by_ref(data.validated_data["predictor"]),
            filters=data.validated_data.get("filters"),
            created_by=request.user,
        )
        return Response(s.ModelRunOut(run).data, status=status.HTTP_201_CREATED)


class ModelRunDetailApi(APIView):
    @extend_schema(responses=s.ModelRunOut)
    def get(self, request: Request, run_id: int) -> Response:
        run = selectors.model_run_get(run_id=run_id, user=request.user)
        return Response(s.ModelRunOut(run).data)


class ModelRunCancelApi(APIView):
    @extend_schema(request=None, responses=s.ModelRunOut)
    def post(self, request: Request, run_id: int) -> Response:
        run = selectors.model_run_get(run_id=run_id, user=request.user)
        return Response(s.ModelRunOut(runs.model_run_cancel(run=run)).data)


class ModelRunResumeApi(APIView):
    """Resume a failed or stalled run where it stopped (no item is predicted twice)."""

    @extend_schema(
        request=None,
        responses={200: s.ModelRunOut, 409: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = selectors.model_run_get(run_id=run_id, user=request.user)
        return Response(s.ModelRunOut(runs.model_run_resume(run=run)).data)


class ModelRunPredictionsApi(ListAPIView):
    serializer_class = s.PredictionOut

    def get_queryset(self):
        run = selectors.model_run_get(run_id=self.kwargs["run_id"], user=self.request.user)
        return selectors.run_predictions(run=run)


class PredictionsImportApi(APIView):
    """Import predictions made outside as a finished model run: JSON Lines, a JSON array or CSV
    (``?format=``, else the file name or content type, else sniffed), ``?adapter=`` one of the
    task type's prediction adapters, ``?unknown=skip`` to leave out rows naming no item."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "application/x-ndjson": OpenApiTypes.STR,
            "application/json": OpenApiTypes.STR,
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "model": {"type": "string"},
                },
            },
        },
        parameters=[
            OpenApiParameter(
                "model", str, required=False, description="the model's name (or a multipart field)"
            ),
            OpenApiParameter("format", enum=["json", "jsonl", "csv"], required=False),
            OpenApiParameter(
                "adapter", str, required=False, description="a prediction adapter of the type"
            ),
            OpenApiParameter(
                "unknown",
                enum=list(predictions_import.UNKNOWN_CHOICES),
                required=False,
                description="rows naming no item: error (default, each listed) or skip (counted)",
            ),
        ],
        responses={201: s.PredictionsImportOut, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = annotate_selectors.project_get(
            project_id=project_id, user=request.user, role=LEAD
        )
        params = request.query_params
        fmt = params.get("format")
        if (request.content_type or "").startswith("multipart/form-data"):
            upload = request.FILES.get("file")
            if upload is None:
                raise InvalidInput(
                    "no file", detail=[FieldError("file", "attach the file as 'file'")]
                )
            stream, model = upload, request.data.get("model") or params.get("model")
            fmt = fmt or detect_format(filename=upload.name, content_type=upload.content_type)
        else:
            stream, model = request._request, params.get("model")
            fmt = fmt or detect_format(content_type=request.content_type)
        result = predictions_import.predictions_import(
            project=project,
            model_name=model or "",
            stream=stream,
            fmt=fmt,
            adapter=params.get("adapter") or None,
            unknown=params.get("unknown") or "error",
            created_by=request.user,
        )
        out = {
            **s.ModelRunOut(result.run).data,
            "n_predictions": result.n_predictions,
            "n_skipped_unknown": result.n_skipped_unknown,
        }
        return Response(out, status=status.HTTP_201_CREATED)
