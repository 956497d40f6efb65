from django.urls import path

from . import views

urlpatterns = [
    path("p/<int:project_id>/model-runs/", views.runs_section, name="model-runs-section"),
    path("p/<int:project_id>/model-runs/start/", views.run_start, name="model-run-start"),
    path("model-runs/<int:run_id>/cancel/", views.run_cancel, name="model-run-cancel"),
    path("model-runs/<int:run_id>/resume/", views.run_resume, name="model-run-resume"),
]
