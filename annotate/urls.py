from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("p/<int:project_id>/", views.project_page, name="project"),
    path("p/<int:project_id>/import/", views.project_import, name="project-import"),
    path("p/<int:project_id>/annotate/", views.annotate_page, name="annotate"),
    path("p/<int:project_id>/annotate/next/", views.annotate_next, name="annotate-next"),
    path("a/<int:assignment_id>/submit/", views.annotate_submit, name="annotate-submit"),
    path("a/<int:assignment_id>/skip/", views.annotate_skip, name="annotate-skip"),
]
