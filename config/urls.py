from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("annotate.api.urls")),
    path("api/v1/", include("models_runtime.api.urls")),
    path("api/v1/", include("analysis.api")),
    path("", include("annotate.urls")),
    path("", include("models_runtime.urls")),
    path("", include("analysis.urls")),
]

handler400 = "core.api_errors.bad_request"
handler500 = "core.api_errors.server_error"
handler404 = "core.api_errors.page_not_found"
