from django.urls import path

from . import lists, serial_views, views

app_name = "rmas"
urlpatterns = [
    path("", lists.RmaListView.as_view(), name="list"),
    path("new/", views.new_rma, name="new"),
    path("<int:pk>/", views.rma_detail, name="detail"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("submissions/<int:pk>/correct/", views.edit_submission, name="submission_edit"),
    path("serials/options/", serial_views.serial_options, name="serial_options"),
    path("serials/card/", serial_views.serial_card, name="serial_card"),
]
