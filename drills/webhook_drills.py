"""Drills of what comes in: a thousand shuffled Order Update webhooks with duplicates and hostile
deliveries, and clock skew between the portal and the upstream near the 300 s signing window.

Webhooks are posted over HTTP to the running portal exactly as the sandbox sends them (its own
signing function, the same headers), and what they did is read back with the ORM: the stored
deliveries, the mirror's orders and their child rows, the orders' status events.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from . import Outcome, Report, drill
from .harness import Ledger, Stack, reference, run_tag, settle, submit_orders, wait_delivered, wait_until

WEBHOOK_PATH = "/webhooks/order-update/"
STATUSES = ("Pending", "Released", "Shipped")
WINDOW = 300  # seconds: the signed date's window (CONTRACT.md)


# -- sending webhooks as the sandbox does ------------------------------------------------------------
@dataclass
class Sent:
    """One request as posted (body, headers) and its answer."""

    body: bytes
    headers: dict[str, str]
    status: int = 0
    answer: dict = field(default_factory=dict)


def signed_request(body: bytes, token: str, secret: str, *, shift: float = 0.0, path: str = WEBHOOK_PATH) -> Sent:
    """Headers as sandbox/server.py's deliver_webhook builds them, with its own signing function;
    `shift` moves the date off our clock (seconds)."""
    from sandbox.server import expected_signature

    date = (datetime.now(UTC) + timedelta(seconds=shift)).isoformat()
    headers = {
        "Content-Type": "application/json",
        "X-MBX-Token": token,
        "X-MBX-Date": date,
        "X-MBX-Signature": expected_signature(secret, "POST", path, body, date),
        "Connection": "close",
    }
    return Sent(body, headers)


def post(stack: Stack, sent: Sent) -> Sent:
    """POST one request on a connection of its own (as the sandbox does: "Connection: close"; a
    pooled connection would be reused after the server closed it, and the request lost)."""
    answer = requests.post(f"{stack.base}{WEBHOOK_PATH}", data=sent.body, headers=sent.headers, timeout=30)
    sent.status = answer.status_code
    try:
        sent.answer = answer.json()
    except ValueError:
        sent.answer = {"text": answer.text[:200]}
    return sent


def post_all(stack: Stack, requests_: list[Sent], threads: int) -> None:
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda sent: post(stack, sent), requests_))


# -- the orders' successive states -------------------------------------------------------------------
def order_states(upstream_id: int, count: int, rng: random.Random, base: datetime, ref: dict) -> list[dict]:
    """`count` full order payloads (as GET customer_order_submissions/<id> returns one), oldest
    first: statuses never go back, `updated_at` always grows, and each state differs (notes)."""
    levels = sorted([0] + [rng.randrange(3) for _ in range(count - 1)])
    created = base + timedelta(seconds=rng.randrange(3600))
    sku = ref["skus"][0]
    states = []
    for n, level in enumerate(levels):
        status = STATUSES[level]
        updated = created + timedelta(minutes=n + 1, seconds=rng.randrange(59))
        payload = {
            "id": upstream_id,
            "organization_id": ref["organization_id"],
            "purchase_order": f"PO-WH-{upstream_id}",
            "customer_order": f"WH-{upstream_id}",
            "ship_method_id": ref["ship_method_id"],
            "ship_method": "Drill Ground",
            "ship_account": None,
            "end_user_po": None,
            "end_user_name": None,
            "end_user_order_dt": None,
            "notes": f"drill state {n + 1} of {count}",
            "customer_rma_case": "",
            "recipient": {"name": "Dana Drill", "company": "Drill Co", "address_1": "1 Test Road", "country": "CA"},
            "importer_of_record": {"name": "Dana Drill", "company": "Drill Co", "country": "CA"},
            "duties_and_taxes_account": None,
            "status": status,
            "lines": [{"product_code": sku, "quantity": 2, "customs_declared_value": 12.5, "serial_numbers": []}],
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "updated_at": updated.isoformat().replace("+00:00", "Z"),
        }
        if status == "Shipped":
            payload["lines"][0]["serial_numbers"] = [f"SN{upstream_id}0{k:02d}" for k in range(2)]
            payload["invoices"] = [{"invoice_number": 7_000_000 + upstream_id % 1_000_000}]
            payload["tracking_numbers"] = [{"tracking_number": f"1Z{upstream_id}", "weight": 8}]
        states.append(payload)
    return states


def parse_when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def duplicated_rows(ids: Iterable[int], organization) -> tuple[int, list[str]]:
    """Rows that exist more than once for one order: mirror orders, list rows, status events,
    and child rows beyond what one payload makes (one line, at most one tracking number and invoice)."""
    from django.db.models import Count

    from mirror.models import Order, OrderInvoice, OrderLine, OrderTrackingNumber
    from orders.models import OrderEvent, OrderRow

    ids = list(ids)
    found: list[str] = []
    extra = 0

    def over(name: str, counts: Iterable[int], allowed: int = 1) -> None:
        nonlocal extra
        surplus = sum(c - allowed for c in counts if c > allowed)
        if surplus:
            found.append(f"{surplus} extra {name}")
            extra += surplus

    def per(queryset, key: str):
        return queryset.values(key).annotate(n=Count("pk")).values_list("n", flat=True)

    over("mirror orders", per(Order.objects.filter(organization=organization, upstream_id__in=ids), "upstream_id"))
    over("list rows", per(OrderRow.objects.filter(organization=organization, upstream_id__in=ids), "upstream_id"))
    events = OrderEvent.objects.filter(organization=organization, upstream_id__in=ids)
    over(
        "status events",
        events.values("upstream_id", "status").annotate(n=Count("pk")).values_list("n", flat=True),
    )
    scope = {"order__organization": organization, "order__upstream_id__in": ids}
    over("order lines", per(OrderLine.objects.filter(**scope), "order_id"))
    over("tracking numbers", per(OrderTrackingNumber.objects.filter(**scope), "order_id"))
    over("invoice refs", per(OrderInvoice.objects.filter(**scope), "order_id"))
    return extra, found


# -- drill: webhooks ---------------------------------------------------------------------------------------
ORDERS = 200
DISTINCT = 900
DUPLICATES = 100  # 10% of the 1,000 posted
THREADS = 8


@drill("webhooks", bound=120)
def webhooks(stack: Stack, report: Report, args) -> Outcome:
    """1,000 webhooks, 10% duplicates, shuffled; replayed, forged, stale and future-dated ones refused."""
    from django.db import close_old_connections

    from mirror.models import Order
    from orders.models import OrderEvent
    from webhooks.models import WebhookDelivery

    org = stack.organization()
    token, secret = org.upstream_token, org.get_upstream_secret()
    rng = random.Random(f"webhooks-{run_tag()}")  # nosec B311  # drill data, not a secret
    ref = reference(stack)
    ref["organization_id"] = org.upstream_organization_id
    # Order ids the sandbox does not have (it never moves them, and nothing else writes them): the
    # mirror creates an order from its first delivery, as for any order it has not synced yet.
    first_id = 9_000_000_000 + rng.randrange(1_000_000) * 1000
    ids = list(range(first_id, first_id + ORDERS))
    counts = [DISTINCT // ORDERS] * ORDERS
    for n in rng.sample(range(ORDERS), DISTINCT - sum(counts)):
        counts[n] += 1
    base = datetime.now(UTC) - timedelta(days=1)
    states = {oid: order_states(oid, count, rng, base, ref) for oid, count in zip(ids, counts, strict=True)}
    newest = {oid: payloads[-1] for oid, payloads in states.items()}
    bodies = [json.dumps(p).encode() for payloads in states.values() for p in payloads]
    bodies += rng.choices(bodies, k=DUPLICATES)  # the same content again: a legitimate resend
    rng.shuffle(bodies)
    # Each is signed when it is built, just before the posting starts (a fresh date per request).
    batch = [signed_request(body, token, secret) for body in bodies]
    mine = WebhookDelivery.objects.filter(organization=org, order_upstream_id__in=ids)

    began = time.monotonic()
    post_all(stack, batch, THREADS)
    posted = time.monotonic()
    answers = Counter(s.status for s in batch)
    acknowledged = answers[202]
    report.say(
        f"{len(batch)} posted ({DISTINCT} states of {ORDERS} orders, {DUPLICATES} duplicates) from {THREADS} "
        f"threads in {posted - began:.1f} s: {dict(sorted(answers.items()))}"
    )
    report.check(acknowledged == len(batch), f"every genuine delivery acknowledged (202): {acknowledged}")

    def settled() -> bool:
        close_old_connections()
        return not WebhookDelivery.objects.filter(organization=org, status=WebhookDelivery.Status.RECEIVED).exists()

    done = wait_until(settled, 120, 0.5)
    recovered = time.monotonic() - posted if done else None
    outcomes = Counter(mine.values_list("outcome", flat=True))
    report.say(f"applied by the worker {recovered or 0:.1f} s after the last post: {dict(sorted(outcomes.items()))}")
    report.check(mine.count() == acknowledged, f"each acknowledged delivery stored once: {mine.count()} rows")
    failed = mine.filter(status=WebhookDelivery.Status.FAILED).count()
    report.check(failed == 0, f"no delivery failed to apply: {failed}")

    # Every order in its newest state: status, updated_at and the newest state's own content.
    mirror = {o.upstream_id: o for o in Order.objects.filter(organization=org, upstream_id__in=ids)}
    behind = []
    for oid, payload in newest.items():
        order = mirror.get(oid)
        if (
            order is None
            or order.status != payload["status"]
            or order.updated_upstream_at != parse_when(payload["updated_at"])
            or (order.raw or {}).get("notes") != payload["notes"]
        ):
            behind.append(oid)
    lost = len(behind)
    report.check(
        lost == 0,
        f"every order in its newest state: {ORDERS - lost} of {ORDERS}{' ' if behind else ''}"
        f"{behind[:5] if behind else ''}",
    )
    events = OrderEvent.objects.filter(organization=org, upstream_id__in=ids)
    reached = set(events.values_list("upstream_id", "status"))
    missing = [oid for oid, p in newest.items() if (oid, p["status"]) not in reached]
    report.check(not missing, f"each order's newest status recorded as an event: {ORDERS - len(missing)} of {ORDERS}")
    duplicated, what = duplicated_rows(ids, org)
    report.check(
        not what,
        f"no row twice (orders, list rows, events, lines, tracking, invoices){': ' if what else ''}{', '.join(what)}",
    )

    # -- hostile deliveries: each refused, and nothing written -------------------------------------------
    # A resend sent twice at once (the same signed request racing itself): one stored, one refused.
    twin_id = ids[0]
    twin = signed_request(json.dumps(newest[twin_id]).encode(), token, secret)
    copies = [Sent(twin.body, dict(twin.headers)), Sent(twin.body, dict(twin.headers))]
    barrier = threading.Barrier(2)

    def racing(sent: Sent) -> Sent:
        barrier.wait()
        return post(stack, sent)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(racing, copies))
    report.check(
        sorted(s.status for s in copies) == [202, 401],
        f"the same signed request twice at once: one accepted, one refused as a replay {[s.status for s in copies]}",
    )
    wait_until(settled, 30, 0.2)

    target = ids[1]
    later = parse_when(newest[target]["updated_at"]) + timedelta(days=1)
    # What a hostile delivery would do if it got in: send the order back to Pending, "newer".
    hostile = dict(newest[target], status="Pending", notes="hostile", updated_at=later.isoformat())
    hostile_body = json.dumps(hostile).encode()

    def snapshot() -> tuple:
        close_old_connections()
        order = Order.objects.get(organization=org, upstream_id=target)
        stored = WebhookDelivery.objects.filter(organization=org)
        return (
            order.status,
            order.updated_upstream_at,
            order.changed_at,
            order.content_hash,
            Order.objects.filter(organization=org, upstream_id__in=ids).count(),
            events.count(),
            stored.filter(order_upstream_id__in=ids).count(),
            stored.filter(order_upstream_id__isnull=True).count(),
        )

    before = snapshot()
    # Requests posted last (well within 300 s of their date, however slow the machine), sent again as they were.
    replays = [Sent(s.body, dict(s.headers)) for s in rng.sample(batch[-200:], 20)]
    forged = signed_request(hostile_body, token, "not-the-secret")
    tampered = Sent(hostile_body, dict(signed_request(json.dumps(newest[target]).encode(), token, secret).headers))
    unknown = signed_request(hostile_body, "nobody-token", secret)
    stale = signed_request(hostile_body, token, secret, shift=-(WINDOW + 10))
    future = signed_request(hostile_body, token, secret, shift=WINDOW + 10)
    cases = {
        "replayed": replays,
        "forged (wrong secret)": [forged],
        "tampered body": [tampered],
        "unknown token": [unknown],
        f"stale ({WINDOW + 10} s old)": [stale],
        f"future-dated ({WINDOW + 10} s ahead)": [future],
    }
    for name, sent in cases.items():
        for s in sent:
            post(stack, s)
        codes = Counter(s.status for s in sent)
        refused = all(s.status in (400, 401) for s in sent)
        reasons = sorted({str(s.answer.get("error", ""))[:60] for s in sent})
        report.check(refused, f"{name}: {len(sent)} refused {dict(codes)} ({'; '.join(reasons)})")
    if replays:
        report.check(
            all(str(s.answer.get("error", "")).startswith("replayed") for s in replays),
            "each replay refused as a replay",
        )
    time.sleep(2)  # anything that did get in would be stored and applied by now
    after = snapshot()
    report.check(after == before, "the hostile deliveries wrote nothing (no delivery row, no mirror change, no event)")
    notes = [
        f"{acknowledged} acknowledged of {len(batch)} posted in {posted - began:.1f} s; "
        f"outcomes {dict(sorted(outcomes.items()))}",
        f"hostile: {sum(len(v) for v in cases.values())} refused, nothing written",
    ]
    return Outcome(acknowledged, lost, duplicated, recovered, notes)


# -- drill: clock skew ---------------------------------------------------------------------------------------
SKEW_OK = 280  # seconds: inside the window, either way
SKEW_BAD = 320  # seconds: outside it
PER_PHASE = 4


def upstream_ids(ledger: Ledger) -> list[int]:
    from orders.models import OrderSubmission

    return [
        i for i in OrderSubmission.objects.filter(pk__in=list(ledger.orders)).values_list("upstream_id", flat=True) if i
    ]


def deliveries(ledger: Ledger):
    from orders.models import OrderSubmission
    from outbox.models import Delivery

    return Delivery.objects.filter(
        pk__in=OrderSubmission.objects.filter(pk__in=list(ledger.orders)).values("delivery_id")
    )


def sandbox_webhooks(stack: Stack, token: str, ids: Iterable[int]) -> list[dict]:
    """The sandbox's queued webhooks for these orders (its log), each with its body parsed."""
    wanted = set(ids)
    rows = []
    for row in stack.sandbox.stats(token).get("webhooks", []):
        body = json.loads(row["body"])
        if body.get("id") in wanted:
            rows.append({**row, "payload": body})
    return rows


def stored_for(org, payload: dict):
    """The portal's stored deliveries of one webhook body (its order and updated_at)."""
    from webhooks.models import WebhookDelivery

    return WebhookDelivery.objects.filter(
        organization=org,
        order_upstream_id=payload["id"],
        order_updated_at=parse_when(payload["updated_at"]),
    )


@drill("clock_skew", bound=60)
def clock_skew(stack: Stack, report: Report, args) -> Outcome:
    """The upstream's clock 280 s off ours either way (accepted), then 320 s (refused, kept, retried)."""
    from django.db import close_old_connections

    from mirror.models import Order
    from upstream.api import COLLECTION_PATHS
    from upstream.errors import AuthFailed
    from webhooks.models import WebhookDelivery

    org = stack.organization()
    token = org.upstream_token
    ref, tag = reference(stack), run_tag()
    ledger = Ledger()
    fresh = Ledger()  # the orders submitted while the clocks were too far apart
    try:
        # -- within the window: both ways accepted at the first try -----------------------------------
        for offset in (SKEW_OK, -SKEW_OK):
            stack.sandbox.set_clock(offset)
            part = Ledger()
            submit_orders(stack, part, f"SKEW-{tag}-{'A' if offset > 0 else 'B'}", PER_PHASE, ref)
            took = wait_delivered(part, 30)
            attempts = sorted(deliveries(part).values_list("attempts", flat=True))
            report.check(
                took is not None and attempts == [1] * PER_PHASE,
                f"upstream clock {offset:+d} s: {PER_PHASE} orders delivered at the first try "
                f"in {took or 0:.1f} s (attempts {attempts})",
            )
            ledger.orders.update(part.orders)
            ids = upstream_ids(part)
            stack.sandbox.advance(2)  # Pending -> Released -> Shipped: a webhook for each, dated by its clock

            def shipped(ids=ids) -> bool:
                close_old_connections()
                applied = Order.objects.filter(organization=org, upstream_id__in=ids, status="Shipped").count()
                return applied == len(ids)

            arrived = wait_until(shipped, 30, 0.3)
            sent = sandbox_webhooks(stack, token, ids)
            # Delivered while the clock stays off: accepted (a refusal would be retried in vain).
            # The sandbox may need a second try for another reason (its pooled connection closed).
            delivered = all(w["delivered_at"] and 200 <= (w["last_status"] or 0) < 300 for w in sent)
            skews = []
            for delivery in WebhookDelivery.objects.filter(organization=org, order_upstream_id__in=ids):
                dated = parse_when(delivery.headers.get("X-MBX-Date", ""))
                skews.append((dated - delivery.received_at).total_seconds())
            report.check(
                bool(arrived) and bool(sent) and delivered,
                f"upstream clock {offset:+d} s: its {len(sent)} webhooks accepted (attempts "
                f"{sorted(w['attempts'] for w in sent)}), dated {min(skews, default=0):+.0f}.."
                f"{max(skews, default=0):+.0f} s from our clock",
            )

        # -- outside it: refused, kept, retried -----------------------------------------------------------
        shipped_ids = upstream_ids(ledger)[:3]
        before_webhooks = {w["id"] for w in sandbox_webhooks(stack, token, shipped_ids)}
        stack.sandbox.set_clock(SKEW_BAD)
        skewed_since = time.time()
        submit_orders(stack, fresh, f"SKEW-{tag}-C", PER_PHASE, ref)
        ledger.orders.update(fresh.orders)
        for oid in shipped_ids:  # a new update of each (a new updated_at): a webhook each, refused
            stack.sandbox.set_order_status(token, oid, "Shipped")

        def refused_and_retrying() -> bool:
            close_old_connections()
            rows = list(deliveries(fresh).values_list("status", "attempts"))
            hooks = [w for w in sandbox_webhooks(stack, token, shipped_ids) if w["id"] not in before_webhooks]
            return (
                len(rows) == PER_PHASE
                and all(status == "retrying" and attempts >= 2 for status, attempts in rows)
                and len(hooks) == len(shipped_ids)
                and all(w["attempts"] >= 2 and w["delivered_at"] is None for w in hooks)
            )

        wait_until(refused_and_retrying, 25, 0.5)
        close_old_connections()
        rows = list(deliveries(fresh).values_list("status", "attempts", "last_status_code", "last_error"))
        report.check(
            all(r[0] == "retrying" and r[1] >= 2 and r[2] == 401 for r in rows),
            f"upstream clock +{SKEW_BAD} s: {len(rows)} deliveries refused (401) and retrying, not failed "
            f"(attempts {sorted(r[1] for r in rows)})",
        )
        errors = {r[3] for r in rows}
        report.check(
            bool(errors) and all("clock" in e and "300" in e for e in errors),
            f"their error names the clock: {next(iter(errors), '')[:160]!r}",
        )
        writes = [c for c in stack.sandbox.calls(skewed_since, "POST") if c[2] == COLLECTION_PATHS["orders"]]
        report.check(
            bool(writes) and all(c[3] == 401 for c in writes),
            f"the upstream refused every signed write while skewed: {dict(Counter(c[3] for c in writes))}",
        )
        hooks = [w for w in sandbox_webhooks(stack, token, shipped_ids) if w["id"] not in before_webhooks]
        # 401 from the portal (or no answer: the sandbox's pooled connection was closed under it)
        kept = all(w["delivered_at"] is None and w["last_status"] in (401, None) for w in hooks)
        stored = sum(stored_for(org, w["payload"]).count() for w in hooks)
        report.check(
            len(hooks) == len(shipped_ids) and kept and stored == 0,
            f"the portal refused the upstream's {len(hooks)} webhooks (401, stored none), the upstream keeps "
            f"them for a retry (attempts {sorted(w['attempts'] for w in hooks)}, last answers "
            f"{sorted(str(w['last_status']) for w in hooks)})",
        )
        stack.sandbox.set_clock(-SKEW_BAD)
        try:
            with stack.client() as client:
                client.get(COLLECTION_PATHS["countries"])
            report.check(False, f"upstream clock -{SKEW_BAD} s: a signed read refused")
        except AuthFailed as exc:
            report.check(
                "behind" in str(exc) and "clock" in str(exc),
                f"upstream clock -{SKEW_BAD} s: a signed read refused, naming the clock: {str(exc)[:160]!r}",
            )
    finally:
        stack.sandbox.set_clock(0)
    fixed = time.monotonic()

    # -- the clocks agree again: everything delivered, once ---------------------------------------------------
    delivered_in = wait_delivered(fresh, 60)

    def webhooks_in() -> bool:
        close_old_connections()
        hooks = [w for w in sandbox_webhooks(stack, token, shipped_ids) if w["id"] not in before_webhooks]
        return all(w["delivered_at"] for w in hooks) and all(
            stored_for(org, w["payload"]).exclude(status=WebhookDelivery.Status.RECEIVED).exists() for w in hooks
        )

    hooks_done = wait_until(webhooks_in, 60, 0.5)
    hooks_in = time.monotonic() - fixed if hooks_done else None
    recovered = max(delivered_in, hooks_in) if delivered_in is not None and hooks_in is not None else None
    report.say(
        f"clock fixed: deliveries done in {delivered_in or 0:.1f} s, the upstream's webhooks in {hooks_in or 0:.1f} s"
    )
    close_old_connections()
    rows = list(deliveries(fresh).values_list("status", "attempts"))
    report.check(
        all(status == "succeeded" for status, _ in rows),
        f"the refused deliveries succeeded after {sorted(a for _, a in rows)} attempts",
    )
    hooks = [w for w in sandbox_webhooks(stack, token, shipped_ids) if w["id"] not in before_webhooks]
    copies = [stored_for(org, w["payload"]).count() for w in hooks]
    report.check(copies == [1] * len(hooks), f"each refused webhook stored once after the fix: {copies}")
    held = {
        o.upstream_id: o.updated_upstream_at
        for o in Order.objects.filter(organization=org, upstream_id__in=shipped_ids)
    }
    current = [
        (held.get(w["payload"]["id"]) or datetime.min.replace(tzinfo=UTC)) >= parse_when(w["payload"]["updated_at"])
        for w in hooks
    ]
    report.check(all(current), "the mirror holds each refused webhook's update")
    tally = settle(stack, ledger)
    duplicated = tally.duplicated + sum(c - 1 for c in copies if c > 1)
    lost = tally.lost + sum(1 for c in copies if c == 0)
    notes = [
        f"{tally.acknowledged} orders at {SKEW_OK:+d}/{-SKEW_OK:+d}/{SKEW_BAD:+d} s, {len(hooks)} webhooks "
        f"refused at {SKEW_BAD:+d} s and retried",
    ]
    return Outcome(tally.acknowledged, lost, duplicated, recovered, notes)
