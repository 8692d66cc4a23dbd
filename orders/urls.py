from django.urls import path

from portal.placeholder import section_not_built

app_name = "orders"
urlpatterns = [path("", section_not_built("Orders"), name="list")]
