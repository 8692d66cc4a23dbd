from django.urls import path

from portal.placeholder import section_not_built

app_name = "automation"
urlpatterns = [path("", section_not_built("Automation"), name="board")]
