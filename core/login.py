"""The browser login form, with a lockout after repeated failures (``core.throttling``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from core.throttling import login_failure_record, login_failures_clear, login_locked


class LoginView(auth_views.LoginView):
    """Django's login view; after ``DISSENSUS_LOGIN_MAX_FAILURES`` failed attempts for one
    username from one address within the window, it answers 429 without checking the password."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))
        if login_locked(request=request, username=username):
            form = self.get_form()
            context = self.get_context_data(form=form, locked=True)
            return self.render_to_response(context, status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            login_failures_clear(request=request, username=username)
        else:
            login_failure_record(request=request, username=username)
        return response
