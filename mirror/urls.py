"""The mirror has no pages of its own: each section's app shows its rows (orders, RMAs, inventory, invoices)."""

from django.urls import URLPattern

app_name = "mirror"
urlpatterns: list[URLPattern] = []
