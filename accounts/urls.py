from django.urls import include, path

from . import twofactor_views, views

urlpatterns = [
    path("switch/", views.switch_organization, name="switch_organization"),
    path("preferences/", views.preferences, name="preferences"),
    path("members/", views.members, name="members"),
    path("members/<int:pk>/", views.member_edit, name="member_edit"),
    path("2fa/setup/", twofactor_views.setup, name="twofactor_setup"),
    path("2fa/verify/", twofactor_views.verify, name="twofactor_verify"),
    path("2fa/recovery-codes/", twofactor_views.recovery_codes, name="twofactor_recovery_codes"),
    path("password_reset/", views.ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
