from django.urls import path

from . import views
from .lists import InventoryListView

app_name = "inventory"
urlpatterns = [
    path("", InventoryListView.as_view(), name="list"),
    path("items/<int:pk>/", views.item_detail, name="item"),
]
