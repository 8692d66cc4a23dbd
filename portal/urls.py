from django.contrib import admin
from django.urls import include, path

from portal import health, suggest, views

admin.site.site_header = "MBX / AHEAD portal: operations"
admin.site.site_title = "Portal admin"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("favicon.ico", views.Favicon.as_view(), name="favicon"),
    path("suggest/items/", suggest.item_names, name="suggest_items"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("orders/", include("orders.urls")),
    path("rmas/", include("rmas.urls")),
    path("views/", include("savedviews.urls")),
    path("invoices/", include("invoices.urls")),
    path("inventory/", include("inventory.urls")),
    path("automation/", include("automation.urls")),
    path("sync/", include("sync.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include("mirror.urls")),
]
