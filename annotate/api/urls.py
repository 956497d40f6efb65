from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("projects/", views.ProjectListCreateApi.as_view(), name="api-projects"),
    path("projects/<int:project_id>/", views.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<int:project_id>/members/", views.MemberAddApi.as_view(), name="api-members"),
    path("projects/<int:project_id>/items/", views.ItemsApi.as_view(), name="api-items"),
    path("projects/<int:project_id>/next/", views.NextApi.as_view(), name="api-next"),
    path(
        "projects/<int:project_id>/annotations/",
        views.AnnotationsImportApi.as_view(),
        name="api-annotations",
    ),
    path(
        "projects/<int:project_id>/annotations/mine/",
        views.MyAnnotationsApi.as_view(),
        name="api-my-annotations",
    ),
    path("projects/<int:project_id>/export/", views.ExportApi.as_view(), name="api-export"),
    path("assignments/<int:assignment_id>/submit/", views.SubmitApi.as_view(), name="api-submit"),
    path("assignments/<int:assignment_id>/skip/", views.SkipApi.as_view(), name="api-skip"),
    path("assignments/<int:assignment_id>/unskip/", views.UnskipApi.as_view(), name="api-unskip"),
]
