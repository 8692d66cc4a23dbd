from django.urls import path

from . import views

app_name = "sync"
urlpatterns = [
    path("", views.freshness, name="freshness"),
    path("now/", views.sync_now, name="sync_now"),
]
