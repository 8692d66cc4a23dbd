"""What the portal knows about a serial: suggestions while one is typed, and its facts.

Serials live in four places of the mirror: the serial numbers of order lines (a JSON list
per line), automation queues (through their tasks' `manufacturer_serial`), serial data and
RMAs. `mirror.models.KnownSerial` indexes them: one row per serial and mirror row, its
casefolded `serial` in a byte-ordered column with an index on (organization, serial), so a
prefix suggestion is one index range and the order that shipped a serial is one lookup,
whatever the number of orders. No query here reads a JSON list.

The table is kept where the data changes, in the same transaction: the sync's page and
vanish listeners below (registered by `register()`, called from rmas.hooks), which also run
for one order applied from a webhook or a write's answer (sync.apply). `rebuild()` recomputes
one organization's rows (after the migration, or to repair).

Every query is scoped to one organization (`for_org`); every text that enters is bounded by
upstream.limits, and a serial that cannot be one (too long, a NUL character) is simply unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from mirror.models import (
    AutomationQueue,
    AutomationTask,
    AutomationTaskType,
    CatalogItem,
    Item,
    KnownSerial,
    MirrorModel,
    Order,
    OrderLine,
    Rma,
    SerialDatum,
)
from outbox.models import OPEN_STATUSES, Delivery
from upstream import limits
from upstream.records import OrderStatus, rma_request_type_label

from .models import RmaSubmission

Source = KnownSerial.Source

MIN_PREFIX = 2  # characters typed before anything is suggested
MAX_SUGGESTIONS = 50
CHUNK = 1000  # mirror rows per refresh in a rebuild or a large vanish
# The facts card lists at most this many earlier orders and RMAs of one serial.
MAX_LISTED = 20
# Which source's spelling and item a suggestion shows first.
PRIORITY = (Source.ORDER_LINE, Source.RMA, Source.AUTOMATION_QUEUE, Source.SERIAL_DATUM)


# -- keys ---------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """A stored or typed text, trimmed; not a text (a number in a JSON list, None): empty."""
    return value.strip() if isinstance(value, str) else ""


def serial_key(value: Any) -> str | None:
    """The lookup key of a serial (casefolded, at most limits.NAME characters), or None for what
    cannot be a serial the portal knows: empty, longer than any stored one, a NUL character (which
    PostgreSQL refuses) or text that is not valid Unicode (a lone surrogate)."""
    text = _text(value)
    if not text or len(text) > limits.NAME or "\x00" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text.casefold()[: limits.NAME]


def _prefix_range(key: str) -> str | None:
    """The smallest text greater than every text starting with `key` (byte order), if any."""
    for i in range(len(key) - 1, -1, -1):
        code = ord(key[i]) + 1
        if code == 0xD800:  # skip the surrogates, which are not text
            code = 0xE000
        if code <= 0x10FFFF:
            return key[:i] + chr(code)
    return None


def _starting_with(rows, key: str):
    """Rows whose key starts with `key`. `startswith` is a LIKE: on PostgreSQL the column's "C"
    collation lets the (organization, serial) index serve it as a range; the explicit range
    bounds do the same on SQLite, whose LIKE ignores letter case and so cannot use the index."""
    rows = rows.filter(serial__startswith=key, serial__gte=key)
    upper = _prefix_range(key)
    return rows.filter(serial__lt=upper) if upper else rows


def _cut(value: Any, size: int = limits.NAME) -> str:
    return _text(value)[:size]


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


def _day(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value


# -- keeping the index ------------------------------------------------------------------------
class _Entries:
    """New KnownSerial rows of one source, without duplicates (a serial twice on one order)."""

    def __init__(self, organization_id: int, source: str):
        self.organization_id = organization_id
        self.source = source
        self.rows: dict[tuple[int, str], KnownSerial] = {}

    def add(self, source_id: int, serial: Any, item_name: Any = "", product_code: Any = "", day=None) -> None:
        written = _cut(serial)
        key = serial_key(written)
        if key is None or (source_id, key) in self.rows:
            return
        self.rows[(source_id, key)] = KnownSerial(
            organization_id=self.organization_id,
            serial=key,
            written=written,
            source=self.source,
            source_id=source_id,
            item_name=_cut(item_name),
            product_code=_cut(product_code),
            date=_day(day),
        )


def _org_id(organization) -> int:
    return getattr(organization, "pk", organization)


def _replace(organization_id: int, source: str, source_ids: Sequence[int], entries: _Entries) -> None:
    """The index rows of these mirror rows become `entries` (none for a row gone or vanished)."""
    KnownSerial.objects.for_org(organization_id).filter(source=source, source_id__in=source_ids).delete()
    KnownSerial.objects.bulk_create(entries.rows.values(), batch_size=1000, ignore_conflicts=True)


def _item_names(organization_id: int, item_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in item_ids if i is not None}
    if not ids:
        return {}
    return dict(Item.objects.for_org(organization_id).filter(upstream_id__in=ids).values_list("upstream_id", "name"))


def _names_by_sku(organization_id: int, skus: Iterable[str]) -> dict[str, str]:
    """Product code (the customer's catalog SKU) -> the item's name, where the mirror knows both."""
    skus = {s for s in skus if s}
    if not skus:
        return {}
    item_of: dict[str, int] = {}
    for sku, item_id, vanished in (
        CatalogItem.objects.for_org(organization_id)
        .filter(customer_sku__in=skus, item_id__isnull=False)
        .order_by("-upstream_id")
        .values_list("customer_sku", "item_id", "vanished_at")
    ):
        if sku not in item_of or vanished is None:  # a present catalog row wins
            item_of[sku] = item_id
    names = _item_names(organization_id, item_of.values())
    return {sku: names[item_id] for sku, item_id in item_of.items() if item_id in names}


def refresh_orders(organization, order_ids: Sequence[int]) -> None:
    """Index the serials on the lines of these mirror orders (their lines are already rewritten)."""
    if not order_ids:
        return
    org_id = _org_id(organization)
    orders = {
        pk: (status, updated)
        for pk, status, updated in Order.objects.for_org(org_id)
        .present()
        .filter(pk__in=order_ids)
        .values_list("pk", "status", "updated_upstream_at")
    }
    lines = list(
        OrderLine.objects.filter(order_id__in=list(orders), order__organization_id=org_id)
        .order_by("order_id", "position")
        .values_list("order_id", "product_code", "serial_numbers")
    )
    names = _names_by_sku(org_id, (code for _, code, serials in lines if serials))
    entries = _Entries(org_id, Source.ORDER_LINE)
    for order_id, code, serials in lines:
        if not isinstance(serials, list):
            continue
        status, updated = orders[order_id]
        shipped = updated if status == OrderStatus.SHIPPED else None
        for serial in serials:
            entries.add(order_id, serial, names.get(code, ""), code, shipped)
    _replace(org_id, Source.ORDER_LINE, order_ids, entries)


def refresh_queues(organization, queue_ids: Sequence[int]) -> None:
    """Index the serials of these mirror automation queues, as their present tasks name them."""
    if not queue_ids:
        return
    org_id = _org_id(organization)
    queues = dict(
        AutomationQueue.objects.for_org(org_id).present().filter(pk__in=queue_ids).values_list("upstream_id", "pk")
    )
    tasks = list(
        AutomationTask.objects.for_org(org_id)
        .present()
        .filter(automation_queue_id__in=list(queues))
        .order_by("automation_queue_id", "upstream_id")
        .values_list("automation_queue_id", "manufacturer_serial", "item_id", "started_at", "completed_at")
    )
    names = _item_names(org_id, (item_id for _, _, item_id, _, _ in tasks))
    # Per queue and serial: the item its tasks name (the last one) and when a task last moved.
    seen: dict[tuple[int, str], tuple[str, datetime | None]] = {}
    for queue_upstream_id, serial, item_id, started, completed in tasks:
        key = (queues[queue_upstream_id], serial)
        item, last = seen.get(key, ("", None))
        moved = completed or started
        seen[key] = (names.get(item_id, item) if item_id is not None else item, _later(last, moved))
    entries = _Entries(org_id, Source.AUTOMATION_QUEUE)
    for (queue_pk, serial), (item, last) in seen.items():
        entries.add(queue_pk, serial, item, "", last)
    _replace(org_id, Source.AUTOMATION_QUEUE, queue_ids, entries)


def refresh_serial_data(organization, datum_ids: Sequence[int]) -> None:
    if not datum_ids:
        return
    org_id = _org_id(organization)
    entries = _Entries(org_id, Source.SERIAL_DATUM)
    for pk, serial in (
        SerialDatum.objects.for_org(org_id).present().filter(pk__in=datum_ids).values_list("pk", "manufacturer_serial")
    ):
        entries.add(pk, serial)
    _replace(org_id, Source.SERIAL_DATUM, datum_ids, entries)


def refresh_rmas(organization, rma_ids: Sequence[int]) -> None:
    if not rma_ids:
        return
    org_id = _org_id(organization)
    entries = _Entries(org_id, Source.RMA)
    for pk, serial, item, started in (
        Rma.objects.for_org(org_id)
        .present()
        .filter(pk__in=rma_ids)
        .values_list("pk", "manufacturer_serial", "item_name", "start_date")
    ):
        entries.add(pk, serial, item, "", started)
    _replace(org_id, Source.RMA, rma_ids, entries)


def _queues_of_tasks(organization, task_upstream_queue_ids: Iterable[int | None]) -> None:
    """Refresh the queues these tasks belong to (by the queues' upstream ids)."""
    ids = sorted({i for i in task_upstream_queue_ids if i is not None})
    for start in range(0, len(ids), CHUNK):
        pks = list(
            AutomationQueue.objects.for_org(organization)
            .filter(upstream_id__in=ids[start : start + CHUNK])
            .values_list("pk", flat=True)
        )
        refresh_queues(organization, pks)


def _drop_vanished(organization, source: str, model: type[MirrorModel]) -> None:
    """Rows of mirror rows that vanished upstream leave the index (a row that comes back is a
    changed row of a later page, indexed again)."""
    gone = model.objects.for_org(organization).filter(vanished_at__isnull=False).values("pk")
    KnownSerial.objects.for_org(organization).filter(source=source, source_id__in=gone).delete()


def _pks(changed) -> list[int]:
    return [pk for pk, _, _ in changed]


# The sync listeners: (organization, client, changed: [(mirror row pk, upstream_id, raw)], run) inside
# a page's transaction, and (organization, run) inside the one that flags vanished rows.
def on_orders_page(organization, client, changed, run) -> None:
    refresh_orders(organization, _pks(changed))


def on_orders_vanish(organization, run) -> None:
    _drop_vanished(organization, Source.ORDER_LINE, Order)


def on_automation_queues_page(organization, client, changed, run) -> None:
    refresh_queues(organization, _pks(changed))


def on_automation_queues_vanish(organization, run) -> None:
    _drop_vanished(organization, Source.AUTOMATION_QUEUE, AutomationQueue)


def on_automation_tasks_page(organization, client, changed, run) -> None:
    if changed:
        _queues_of_tasks(
            organization,
            AutomationTask.objects.for_org(organization)
            .filter(pk__in=_pks(changed))
            .values_list("automation_queue_id", flat=True),
        )


def on_automation_tasks_vanish(organization, run) -> None:
    """The queues of tasks that vanished in this run are indexed again from their present tasks."""
    tasks = AutomationTask.objects.for_org(organization).filter(vanished_at__isnull=False)
    if run is not None and getattr(run, "started_at", None):
        tasks = tasks.filter(vanished_at__gte=run.started_at)
    _queues_of_tasks(organization, tasks.values_list("automation_queue_id", flat=True).distinct())


def on_serial_data_page(organization, client, changed, run) -> None:
    refresh_serial_data(organization, _pks(changed))


def on_serial_data_vanish(organization, run) -> None:
    _drop_vanished(organization, Source.SERIAL_DATUM, SerialDatum)


def on_rmas_page(organization, client, changed, run) -> None:
    refresh_rmas(organization, _pks(changed))


def on_rmas_vanish(organization, run) -> None:
    _drop_vanished(organization, Source.RMA, Rma)


# resource name -> (after_page, after_vanish)
LISTENERS = {
    "orders": (on_orders_page, on_orders_vanish),
    "automation_queues": (on_automation_queues_page, on_automation_queues_vanish),
    "automation_tasks": (on_automation_tasks_page, on_automation_tasks_vanish),
    "serial_data": (on_serial_data_page, on_serial_data_vanish),
    "rmas": (on_rmas_page, on_rmas_vanish),
}


def register() -> None:
    """Plug the listeners into the sync registry (rmas.hooks calls this once; repeating is harmless)."""
    from sync import registry

    for name, (after_page, after_vanish) in LISTENERS.items():
        registry.listen(name, after_page=after_page, after_vanish=after_vanish)


REFRESH = (
    (Order, refresh_orders),
    (AutomationQueue, refresh_queues),
    (SerialDatum, refresh_serial_data),
    (Rma, refresh_rmas),
)


def rebuild(organization_id: int) -> int:
    """Recompute every index row of one organization (after the migration, or to repair), in
    chunks of mirror rows, in one transaction: suggestions read the old rows until it commits.
    Returns the row count."""
    with transaction.atomic():
        KnownSerial.objects.for_org(organization_id).delete()
        for model, refresh in REFRESH:
            chunk: list[int] = []
            ids = model.objects.for_org(organization_id).present().order_by("pk").values_list("pk", flat=True)
            for pk in ids.iterator(chunk_size=CHUNK):
                chunk.append(pk)
                if len(chunk) >= CHUNK:
                    refresh(organization_id, chunk)
                    chunk = []
            refresh(organization_id, chunk)
        return KnownSerial.objects.for_org(organization_id).count()


# -- suggestions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    serial: str  # as written
    item: str  # the item's name, or the product code it shipped as
    sources: tuple[str, ...]  # where the portal knows it from (labels, in PRIORITY order)
    date: date | None  # shipped, last automation task or RMA start: the latest known

    @property
    def label(self) -> str:
        parts = [self.item] if self.item else []
        parts.append(", ".join(self.sources))
        return " — ".join([self.serial, *parts])


def _bounded(limit: Any) -> int:
    try:
        return max(1, min(int(limit), MAX_SUGGESTIONS))
    except (TypeError, ValueError, OverflowError):
        return MAX_SUGGESTIONS


def keys_starting_with(organization, key: str, limit: int):
    """The first `limit` distinct keys starting with `key`: one range of the (organization, serial)
    index, read in its order (no sort), stopping after `limit` keys."""
    rows = KnownSerial.objects.for_org(organization)
    return _starting_with(rows, key).order_by("serial").values_list("serial", flat=True).distinct()[:limit]


def suggest(organization, prefix: Any, limit: int = 20) -> list[Suggestion]:
    """Serials of the organization starting with `prefix` (at least MIN_PREFIX characters, any
    letter case), in byte order of their keys: one index range for the keys, one indexed lookup
    for what the suggestions show."""
    key = serial_key(prefix)
    if key is None or len(_text(prefix)) < MIN_PREFIX:
        return []
    rows = KnownSerial.objects.for_org(organization)
    keys = list(keys_starting_with(organization, key, _bounded(limit)))
    if not keys:
        return []
    found: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in keys}
    for row in (
        rows.filter(serial__in=keys)
        .values("serial", "source")
        .annotate(written=Max("written"), item=Max("item_name"), code=Max("product_code"), day=Max("date"))
        .order_by()
    ):
        found[row["serial"]][row["source"]] = row
    names = _names_by_sku(
        _org_id(organization),
        (s["code"] for by_source in found.values() for s in by_source.values() if s["code"] and not s["item"]),
    )
    out = []
    for key_ in keys:
        by_source = [found[key_][s] for s in PRIORITY if s in found[key_]]
        items = [s["item"] or names.get(s["code"], "") or s["code"] for s in by_source]
        days = [s["day"] for s in by_source if s["day"]]
        out.append(
            Suggestion(
                serial=by_source[0]["written"] if by_source else key_,
                item=next((i for i in items if i), ""),
                sources=tuple(Source(s["source"]).label for s in by_source),
                date=max(days) if days else None,
            )
        )
    return out


# -- facts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShippedOrder:
    pk: int
    upstream_id: int
    customer_order: str
    purchase_order: str
    status: str
    shipped_at: datetime | None  # when it reached Shipped
    product_code: str
    item: str
    url: str


@dataclass(frozen=True)
class EarlierRma:
    subject: str
    status: str
    is_open: bool
    start_date: date | None
    closed_date: date | None
    upstream_id: int | None  # None: a request the upstream has not answered yet
    item: str
    category: str
    url: str
    local: bool  # a request made here that the mirror has not got (yet)


@dataclass(frozen=True)
class AutomationResult:
    queue_upstream_id: int
    queue_finished: bool | None
    task: str  # the task type's name, or "task <id>"
    state: str  # "completed", "failed" or "in progress"
    message: str
    at: datetime | None
    url: str

    @property
    def failed(self) -> bool:
        return self.state == "failed"


@dataclass
class SerialFacts:
    serial: str  # as written where known, else as given (cut for display)
    known: bool = False
    item: str = ""
    category: str = ""
    order: ShippedOrder | None = None  # the order it shipped on (the latest, if several)
    other_orders: list[ShippedOrder] = field(default_factory=list)
    rmas: list[EarlierRma] = field(default_factory=list)  # newest first
    automation: AutomationResult | None = None  # the last result of its automation
    serial_data: int = 0  # how many serial data the mirror holds for it
    sources: list[str] = field(default_factory=list)

    @property
    def open_rma(self) -> EarlierRma | None:
        """An RMA of this serial that is still open (or a request on its way): the form warns."""
        return next((r for r in self.rmas if r.is_open), None)


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # a page not built (yet)
        return ""


def _display(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= limits.RMA_SERIAL else text[: limits.RMA_SERIAL] + "…"


def known(organization, serial: Any) -> SerialFacts:
    """What the portal knows about one serial of the organization (any letter case): its item, the
    order it shipped on and when, earlier RMAs (mirrored, and requests made here), the last
    automation result and whether an RMA of it is open."""
    key = serial_key(serial)
    facts = SerialFacts(serial=_display(serial))
    if key is None:
        return facts
    org_id = _org_id(organization)
    index = KnownSerial.objects.for_org(org_id).filter(serial=key)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for source in PRIORITY:
        rows = list(
            index.filter(source=source)
            .order_by("-date", "-source_id")
            .values("source_id", "written", "item_name", "product_code")[:MAX_LISTED]
        )
        if rows:
            by_source[source] = rows
            facts.serial = facts.serial if facts.known else _display(rows[0]["written"])
            facts.known = True
    facts.sources = [Source(s).label for s in by_source]
    facts.serial_data = index.filter(source=Source.SERIAL_DATUM).count() if Source.SERIAL_DATUM in by_source else 0
    orders = _orders(org_id, by_source.get(Source.ORDER_LINE, []))
    if orders:
        facts.order, facts.other_orders = orders[0], orders[1:]
    facts.rmas = _rmas(org_id, serial, [r["source_id"] for r in by_source.get(Source.RMA, [])])
    facts.known = facts.known or bool(facts.rmas)
    facts.automation = _automation(org_id, [r["source_id"] for r in by_source.get(Source.AUTOMATION_QUEUE, [])])
    # The item: as it shipped, else as an RMA names it, else as automation names it.
    mirrored_rma = next((r for r in facts.rmas if not r.local and r.item), None)
    queue_item = next((r["item_name"] for r in by_source.get(Source.AUTOMATION_QUEUE, []) if r["item_name"]), "")
    if facts.order and facts.order.item:
        facts.item = facts.order.item
    elif mirrored_rma:
        facts.item = mirrored_rma.item
    else:
        facts.item = queue_item or (facts.order.product_code if facts.order else "")
    if mirrored_rma and facts.item == mirrored_rma.item:
        facts.category = mirrored_rma.category
    return facts


def _orders(org_id: int, rows: list[dict[str, Any]]) -> list[ShippedOrder]:
    if not rows:
        return []
    from orders.models import OrderEvent

    line = {r["source_id"]: r for r in rows}
    orders = list(
        Order.objects.for_org(org_id)
        .present()
        .filter(pk__in=list(line))
        .order_by(F("updated_upstream_at").desc(nulls_last=True), "-upstream_id")
    )
    shipped = dict(
        OrderEvent.objects.for_org(org_id)
        .filter(upstream_id__in=[o.upstream_id for o in orders], status=OrderStatus.SHIPPED)
        .values_list("upstream_id", "upstream_updated_at")
    )
    names = _names_by_sku(org_id, (r["product_code"] for r in rows if not r["item_name"]))
    out = []
    for o in orders:
        r = line[o.pk]
        at = shipped.get(o.upstream_id) or (o.updated_upstream_at if o.status == OrderStatus.SHIPPED else None)
        out.append(
            ShippedOrder(
                pk=o.pk,
                upstream_id=o.upstream_id,
                customer_order=o.customer_order,
                purchase_order=o.purchase_order,
                status=o.status,
                shipped_at=at,
                product_code=r["product_code"],
                item=r["item_name"] or names.get(r["product_code"], ""),
                url=_url("orders:detail", o.pk),
            )
        )
    return out


def _rmas(org_id: int, serial: Any, rma_ids: list[int]) -> list[EarlierRma]:
    mirrored = list(Rma.objects.for_org(org_id).present().filter(pk__in=rma_ids))
    out = [
        EarlierRma(
            subject=r.subject or (rma_request_type_label(r.request_type_id) or "RMA"),
            status=r.status_name or ("Open" if r.is_open else "Closed"),
            is_open=r.is_open,
            start_date=r.start_date,
            closed_date=r.closed_date,
            upstream_id=r.upstream_id,
            item=r.item_name,
            category=r.category_name,
            url=_url("rmas:detail", r.pk),
            local=False,
        )
        for r in mirrored
    ]
    # Requests made here for this serial that the mirror does not show (not answered, refused, or
    # answered but not mirrored yet). A local serial is at most limits.RMA_SERIAL characters.
    text = _text(serial)
    if len(text) <= limits.RMA_SERIAL:
        submissions = list(
            RmaSubmission.objects.for_org(org_id)
            .filter(manufacturer_serial__iexact=text)
            .select_related("delivery")
            .order_by("-created_at")[:MAX_LISTED]
        )
        shown = {r.upstream_id for r in mirrored}
        answered = {s.upstream_id for s in submissions if s.upstream_id} - shown
        if answered:  # mirrored under another spelling, or gone upstream since: the mirror row is the truth
            shown |= set(
                Rma.objects.for_org(org_id).filter(upstream_id__in=answered).values_list("upstream_id", flat=True)
            )
        for s in submissions:
            if s.upstream_id and s.upstream_id in shown:
                continue
            state = s.state
            out.append(
                EarlierRma(
                    subject=rma_request_type_label(s.request_type),
                    status=state.label,
                    is_open=state in OPEN_STATUSES or state == Delivery.Status.SUCCEEDED,
                    start_date=timezone.localdate(s.created_at),
                    closed_date=None,
                    upstream_id=s.upstream_id,
                    item="",
                    category="",
                    url=_url("rmas:submission", s.pk),
                    local=True,
                )
            )
    out.sort(key=lambda r: (r.start_date or date.min, r.upstream_id or 0), reverse=True)
    return out[:MAX_LISTED]


def _automation(org_id: int, queue_ids: list[int]) -> AutomationResult | None:
    queues = {q.upstream_id: q for q in AutomationQueue.objects.for_org(org_id).present().filter(pk__in=queue_ids)}
    if not queues:
        return None
    task = (
        AutomationTask.objects.for_org(org_id)
        .present()
        .filter(automation_queue_id__in=list(queues))
        .exclude(started_at__isnull=True, completed_at__isnull=True)
        .order_by(F("completed_at").desc(nulls_last=True), F("started_at").desc(nulls_last=True), "-upstream_id")
        .first()
    )
    if task is None:
        latest = max(queues.values(), key=lambda q: q.upstream_id)
        return AutomationResult(
            queue_upstream_id=latest.upstream_id,
            queue_finished=latest.finished,
            task="",
            state="not started",
            message="",
            at=None,
            url=_url("automation:queue", latest.pk),
        )
    queue = queues[task.automation_queue_id]
    type_name = (
        AutomationTaskType.objects.for_org(org_id)
        .filter(upstream_id=task.automation_task_type_id)
        .values_list("name", flat=True)
        .first()
    )
    if task.failed:
        state = "failed"
    elif task.completed_at:
        state = "completed"
    else:
        state = "in progress"
    return AutomationResult(
        queue_upstream_id=queue.upstream_id,
        queue_finished=queue.finished,
        task=type_name or f"task {task.upstream_id}",
        state=state,
        message=task.message,
        at=task.completed_at or task.started_at,
        url=_url("automation:queue", queue.pk),
    )
