"""Every mirror model in the admin: read-only (the upstream owns the data), searchable, filterable."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from . import models as m


class MirrorAdmin(ReadOnlyAdmin):
    list_filter = ["organization", ("vanished_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["=upstream_id"]
    readonly_fields = [
        "organization",
        "upstream_id",
        "raw",
        "content_hash",
        "first_seen_at",
        "changed_at",
        "vanished_at",
    ]


def mirror_admin(model, display, search=(), filters=()):
    attrs = {
        "list_display": ["upstream_id", *display, "organization", "changed_at", "vanished_at"],
        "search_fields": ["=upstream_id", *search],
        "list_filter": [*filters, *MirrorAdmin.list_filter],
    }
    admin.site.register(model, type(f"{model.__name__}Admin", (MirrorAdmin,), attrs))


mirror_admin(m.Country, ["iso_code", "name"], ["iso_code", "name"])
mirror_admin(m.ShipMethod, ["name", "carrier"], ["name", "carrier"], ["carrier"])
mirror_admin(m.Item, ["name", "manufacturer_sku", "stocked"], ["name", "description", "manufacturer_sku"], ["stocked"])
mirror_admin(m.CatalogItem, ["customer_sku", "price", "item_id"], ["customer_sku"])
mirror_admin(
    m.Inventory, ["item_id", "inventory_location_id", "quantity_on_hand"], ["=item_id"], ["inventory_location_id"]
)
mirror_admin(m.Invoice, ["order_id", "billed_at", "total"], ["=order_id"])
mirror_admin(
    m.Order,
    ["customer_order", "purchase_order", "status", "ship_method", "updated_upstream_at"],
    ["customer_order", "purchase_order", "recipient_name", "recipient_company"],
    ["status"],
)
mirror_admin(
    m.Rma,
    ["manufacturer_serial", "subject", "status_name", "is_open"],
    ["manufacturer_serial", "subject", "item_name"],
    ["is_open", "status_name"],
)
mirror_admin(m.AutomationQueue, ["serial_id", "work_order_id", "finished", "ip_address"], ["ip_address"], ["finished"])
mirror_admin(m.AutomationTaskType, ["name"], ["name", "description"])
mirror_admin(
    m.AutomationTask,
    ["manufacturer_serial", "automation_queue_id", "sequence", "failed", "completed_at"],
    ["manufacturer_serial", "message"],
    ["failed"],
)
mirror_admin(
    m.SerialDatum,
    ["manufacturer_serial", "serial_data_type_id", "value"],
    ["manufacturer_serial", "value"],
    ["serial_data_type_id"],
)


@admin.register(m.OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ["order", "position", "product_code", "quantity", "customs_declared_value"]
    search_fields = ["product_code", "order__customer_order"]
    list_filter = ["order__organization"]


@admin.register(m.OrderTrackingNumber)
class OrderTrackingNumberAdmin(ReadOnlyAdmin):
    list_display = ["order", "tracking_number", "weight"]
    search_fields = ["tracking_number", "order__customer_order"]
    list_filter = ["order__organization"]


@admin.register(m.OrderInvoice)
class OrderInvoiceAdmin(ReadOnlyAdmin):
    list_display = ["order", "invoice_number"]
    search_fields = ["=invoice_number", "order__customer_order"]
    list_filter = ["order__organization"]


@admin.register(m.RmaLine)
class RmaLineAdmin(ReadOnlyAdmin):
    list_display = ["rma", "quantity", "item_name", "category_name"]
    search_fields = ["item_name", "rma__manufacturer_serial"]
    list_filter = ["rma__organization", "category_name"]


@admin.register(m.RmaNote)
class RmaNoteAdmin(ReadOnlyAdmin):
    list_display = ["rma", "kind", "created_upstream_at"]
    search_fields = ["message", "rma__manufacturer_serial"]
    list_filter = ["kind", "rma__organization"]


@admin.register(m.KnownSerial)
class KnownSerialAdmin(ReadOnlyAdmin):
    """Serials the portal knows and where from (kept by rmas.serials from the sync)."""

    list_display = ["written", "source", "source_id", "item_name", "date", "organization"]
    list_filter = ["source", "organization"]
    search_fields = ["serial"]
