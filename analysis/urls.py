from django.urls import path

from . import views

urlpatterns = [
    path("p/<int:project_id>/analysis/", views.dashboard, name="analysis-dashboard"),
    path("p/<int:project_id>/analysis/paper/", views.paper_view, name="analysis-paper"),
    path("p/<int:project_id>/analysis/refresh/", views.refresh, name="analysis-refresh"),
    path("p/<int:project_id>/analysis/review/", views.review, name="analysis-review"),
    path(
        "p/<int:project_id>/analysis/review/<int:item_id>/tag/",
        views.review_tag,
        name="analysis-review-tag",
    ),
    path("p/<int:project_id>/analysis/taxonomy/", views.taxonomy, name="analysis-taxonomy"),
]
