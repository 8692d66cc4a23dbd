"""The portal's URLs plus the serial fragments, for rmas.tests.test_serials (whatever rmas.urls holds)."""

from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns
from rmas import serial_views

urlpatterns = [
    path("__serials__/options/", serial_views.serial_options),
    path("__serials__/card/", serial_views.serial_card),
    *portal_urlpatterns,
]
