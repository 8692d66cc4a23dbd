from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [path("order-update/", views.order_update, name="order_update")]
