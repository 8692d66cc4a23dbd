from django.urls import path

from . import lists, reports, views

app_name = "automation"
urlpatterns = [
    path("", lists.BoardView.as_view(), name="list"),
    path("changes/", lists.changes, name="changes"),
    path("serial/", views.serial_detail, name="serial"),
    path("queues/new/", views.new_queue, name="new_queue"),
    path("queues/<int:pk>/", views.queue_detail, name="queue"),
    path("queues/submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("queues/submissions/<int:pk>/correct/", views.correct_queue, name="submission_edit"),
    path("rows/<int:pk>/act/", views.act, name="act"),
    path("serial-data/new/", views.new_serial_datum, name="new_datum"),
    path("limits/", views.stuck_limits, name="limits"),
    path("reports/", reports.report, name="reports"),
]
