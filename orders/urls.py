from django.urls import path

from . import upload, views
from .lists import OrderListView

app_name = "orders"
urlpatterns = [
    path("", OrderListView.as_view(), name="list"),
    path("new/", views.new_order, name="new"),
    path("upload/", upload.upload, name="upload"),
    path("catalog-search/", views.catalog_search, name="catalog_search"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("submissions/<int:pk>/correct/", views.edit_submission, name="submission_edit"),
]
