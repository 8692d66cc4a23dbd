from django.urls import path

from portal.placeholder import section_not_built

app_name = "rmas"
urlpatterns = [path("", section_not_built("RMAs"), name="list")]
