"""What the inventory list plugs into shared mechanisms: its rows follow the sync of inventories,
items and catalog items (pages and vanish passes), in their transactions."""

from __future__ import annotations

from sync import registry

from . import rows

registry.listen("inventories", after_page=rows.on_inventory_page, after_vanish=rows.on_inventory_vanish)
registry.listen("items", after_page=rows.on_item_page, after_vanish=rows.on_item_vanish)
registry.listen("customer_catalog_items", after_page=rows.on_catalog_page, after_vanish=rows.on_catalog_vanish)
