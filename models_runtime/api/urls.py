from django.urls import path

from . import views

urlpatterns = [
    path("predictors/", views.PredictorListCreateApi.as_view(), name="api-predictors"),
    path(
        "predictors/<int:predictor_id>/", views.PredictorDetailApi.as_view(), name="api-predictor"
    ),
    path(
        "projects/<int:project_id>/model-runs/",
        views.ModelRunListCreateApi.as_view(),
        name="api-model-runs",
    ),
    path(
        "projects/<int:project_id>/predictions/",
        views.PredictionsImportApi.as_view(),
        name="api-predictions-import",
    ),
    path("model-runs/<int:run_id>/", views.ModelRunDetailApi.as_view(), name="api-model-run"),
    path(
        "model-runs/<int:run_id>/cancel/",
        views.ModelRunCancelApi.as_view(),
        name="api-model-run-cancel",
    ),
    path(
        "model-runs/<int:run_id>/resume/",
        views.ModelRunResumeApi.as_view(),
        name="api-model-run-resume",
    ),
    path(
        "model-runs/<int:run_id>/predictions/",
        views.ModelRunPredictionsApi.as_view(),
        name="api-model-run-predictions",
    ),
]
