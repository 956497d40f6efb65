from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from core.login import LoginView

from . import crowd_views, lead_views, media_views, views

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("p/<int:project_id>/", views.project_page, name="project"),
    path("p/<int:project_id>/import/", views.project_import, name="project-import"),
    path("p/<int:project_id>/annotate/", views.annotate_page, name="annotate"),
    path("p/<int:project_id>/annotate/next/", views.annotate_next, name="annotate-next"),
    path("a/<int:assignment_id>/submit/", views.annotate_submit, name="annotate-submit"),
    path("a/<int:assignment_id>/skip/", views.annotate_skip, name="annotate-skip"),
    path("a/<int:assignment_id>/unskip/", views.annotate_unskip, name="annotate-unskip"),
    path("a/<int:assignment_id>/", views.annotate_revisit, name="annotate-revisit"),
    path("a/<int:assignment_id>/revise/", views.annotate_revise, name="annotate-revise"),
    path("p/<int:project_id>/history/", views.annotate_history, name="annotate-history"),
    path("p/<int:project_id>/preview/", lead_views.preview, name="annotate-preview"),
    path("account/token/", lead_views.api_token, name="api-token"),
    path("account/token/new/", lead_views.api_token_new, name="api-token-new"),
    path("account/token/revoke/", lead_views.api_token_delete, name="api-token-revoke"),
    path("i/<int:item_id>/files/<str:key>/", media_views.item_file, name="item-file"),
    # Crowd operations: the worker's entry link and onboarding, the lead's crowd page.
    re_path(r"^e/(?P<token>[A-Za-z0-9_-]{16,64})/$", crowd_views.entry, name="crowd-entry"),
    path(
        "p/<int:project_id>/instructions/", crowd_views.instructions, name="annotate-instructions"
    ),
    path("p/<int:project_id>/annotate/end/", crowd_views.end, name="annotate-end"),
    path("p/<int:project_id>/crowd/", crowd_views.lead_page, name="crowd-lead"),
    path("p/<int:project_id>/crowd/settings/", crowd_views.lead_settings, name="crowd-settings"),
    path("p/<int:project_id>/crowd/rotate/", crowd_views.lead_rotate, name="crowd-rotate"),
    path(
        "p/<int:project_id>/crowd/annotators/<int:membership_id>/<str:action>/",
        crowd_views.lead_annotator_status,
        name="crowd-annotator-status",
    ),
    path("p/<int:project_id>/crowd/gold/", crowd_views.lead_gold_set, name="crowd-gold-set"),
    path(
        "p/<int:project_id>/crowd/gold/<int:item_id>/clear/",
        crowd_views.lead_gold_clear,
        name="crowd-gold-clear",
    ),
    path(
        "p/<int:project_id>/crowd/workers.csv",
        crowd_views.lead_workers_csv,
        name="crowd-workers-csv",
    ),
]
