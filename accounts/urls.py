from django.urls import include, path

from . import views

urlpatterns = [
    path("switch/", views.switch_organization, name="switch_organization"),
    path("preferences/", views.preferences, name="preferences"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/", views.member_edit, name="member_edit"),
    path("password_reset/", views.ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
