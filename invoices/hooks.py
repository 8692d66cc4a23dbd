"""What invoices plug into shared mechanisms: the sync's listeners.

- "invoices": every page's changed invoices get their list rows and their months recounted; after
  a complete pass, the rows of vanished invoices go (`invoices.rows`).
- "orders": every page (and every applied order payload: webhook, submission answer) refreshes the
  rows of the invoices that bill a changed order, where their copy of it differs.
"""

from __future__ import annotations

from sync import registry

from . import rows

registry.listen("invoices", after_page=rows.on_invoices_page, after_vanish=rows.on_invoices_vanish)
registry.listen("orders", after_page=rows.on_orders_page)
