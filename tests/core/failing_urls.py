"""A URLconf with a view that fails, under /api/ and elsewhere, to test ``handler500``."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/boom/", boom), path("boom/", boom)]
handler500 = "core.api_errors.server_error"
