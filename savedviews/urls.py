from django.urls import path

from . import views

app_name = "savedviews"
urlpatterns = [
    path("save/", views.save, name="save"),
    path("<int:pk>/", views.open_view, name="open"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
