from django.urls import path

from . import views
from .lists import InvoiceListView

app_name = "invoices"
urlpatterns = [
    path("", InvoiceListView.as_view(), name="list"),
    path("<int:pk>/", views.invoice_detail, name="detail"),
]
