from django.urls import path

from portal.placeholder import section_not_built

app_name = "mirror"
urlpatterns = [
    path("inventory/", section_not_built("Inventory"), name="inventory"),
]
