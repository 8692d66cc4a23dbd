"""The orders list's view passes statuses through as stored: the mirror's upstream status
(upstream.records.OrderStatus) and the delivery's status (outbox Delivery.Status). Their names
and labels live in those two enums only; the view no longer spells or rewrites any of them."""

from importlib import import_module

from django.db import migrations

VIEW = """
CREATE VIEW orders_orderrow AS
SELECT o.id * 2 AS id, o.organization_id AS organization_id, o.id AS order_id,
       (SELECT MIN(s.id) FROM orders_ordersubmission s
         WHERE s.organization_id = o.organization_id AND s.upstream_id = o.upstream_id) AS submission_id,
       o.upstream_id AS upstream_id, o.customer_order AS customer_order, o.purchase_order AS purchase_order,
       o.status AS status, o.ship_method_id AS ship_method_id, o.ship_method AS ship_method,
       o.recipient_name AS recipient_name, o.recipient_country AS recipient_country,
       COALESCE(o.created_upstream_at, o.first_seen_at) AS created_at,
       COALESCE(o.updated_upstream_at, o.changed_at) AS updated_at
  FROM mirror_order o
 WHERE o.vanished_at IS NULL
UNION ALL
SELECT s.id * 2 + 1, s.organization_id, NULL, s.id, s.upstream_id, s.customer_order, s.purchase_order,
       d.status, s.ship_method_id, s.ship_method_name, s.recipient_name, s.recipient_country, s.created_at,
       COALESCE(d.updated_at, s.updated_at)
  FROM orders_ordersubmission s
  LEFT JOIN outbox_delivery d ON d.id = s.delivery_id
 WHERE NOT EXISTS (SELECT 1 FROM mirror_order o
                    WHERE o.organization_id = s.organization_id AND o.upstream_id = s.upstream_id
                      AND o.vanished_at IS NULL)
"""

PREVIOUS = import_module("orders.migrations.0002_orderrow_view").VIEW


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_orderrow_view")]

    operations = [
        migrations.RunSQL(
            ["DROP VIEW IF EXISTS orders_orderrow", VIEW], ["DROP VIEW IF EXISTS orders_orderrow", PREVIOUS]
        ),
    ]
