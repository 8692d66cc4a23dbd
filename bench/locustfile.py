"""The load test's users (locust), run by `bench/load.py`: staff browsing, buyers ordering, a webhook sender.

`bench/load.py` fills (or reuses) the database, starts the stack and writes the scenario's facts to a JSON
file named by `LOAD_CONFIG` (users and their password, search terms, the lists' tabs and sorts, order ids,
the organization's webhook token and secret, orders the webhooks move on). Every request is named by its
page (`name=`), so locust's report and `bench/load.py`'s table are per page; each request's time is also
kept here and written to `LOAD_RESULTS` when the run ends (exact percentiles, not locust's rounded ones).

- `StaffUser` (most users): signs in through the real login form (CSRF token from the page), then browses
  the home page, the orders list (first page, a status tab, a search, a sort, and the next page by the
  keyset `?after=` link the page it last saw shows), an order's page, the RMA list (first page, a tab, a
  search), inventory, invoices and the automation board, staying on the board for one live refresh (the
  `hx-get` request the page makes every few seconds, with the versions the page carries).
- `BuyerUser` (`LOAD_BUYERS` of them): signs in the same way and submits orders through the real order
  form (ship method, country and product codes from the form's own choices, a customer order number of
  the run's own), then opens the submission's page it is sent to.
- `WebhookSender` (one): POSTs signed Order Update webhooks (`upstream.signing`, the organization's own
  token and secret) to /webhooks/order-update/, moving known orders on (Pending -> Released -> Shipped)
  with a fresh `updated_at`; one in twenty is sent twice, as the upstream's at-least-once delivery does.

Only loopback hosts are accepted: any other host stops the run before the first request.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, between, constant_pacing, events, task
from locust.env import Environment
from locust.exception import StopUser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from upstream import signing  # noqa: E402  (a pure module: no Django)

CONFIG: dict[str, Any] = json.loads(Path(os.environ["LOAD_CONFIG"]).read_text()) if "LOAD_CONFIG" in os.environ else {}
TIMES: dict[str, list[float]] = defaultdict(list)  # request name -> response times (ms)
ERRORS: dict[str, list[str]] = defaultdict(list)  # request name -> what went wrong (first few kept)
FAILED: dict[str, int] = defaultdict(int)
SEQUENCE = count(1)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
BOARD_REFRESH = re.compile(r'id="board-refresh" hx-get="([^"]+)"')
BOARD_VERSIONS = re.compile(r'id="board-versions" value="([^"]*)"')
BOARD_NEWEST = re.compile(r'id="board-newest" value="([^"]*)"')
SELECT = r'<select name="{name}"[^>]*>(.*?)</select>'
OPTION = re.compile(r'<option value="([^"]+)"')
SKU_OPTION = re.compile(r'<datalist id="catalog-skus">(.*?)</datalist>', re.S)


def loopback(host: str) -> bool:
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@events.test_start.add_listener
def refuse_other_hosts(environment: Environment, **_kwargs: Any) -> None:
    if not loopback(environment.host or ""):
        raise SystemExit(f"the load test sends requests to loopback addresses only, not {environment.host!r}")


@events.request.add_listener
def keep(name: str, response_time: float, exception: BaseException | None, **_kwargs: Any) -> None:
    TIMES[name].append(response_time)
    if exception is not None:
        FAILED[name] += 1
        if len(ERRORS[name]) < 5:
            ERRORS[name].append(str(exception)[:300])


@events.quitting.add_listener
def write_results(environment: Environment, **_kwargs: Any) -> None:
    path = os.environ.get("LOAD_RESULTS")
    if path:
        Path(path).write_text(json.dumps({"times": TIMES, "failed": FAILED, "errors": ERRORS}))


def first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return html.unescape(found.group(1)) if found else None


def options(name: str, text: str) -> list[str]:
    found = re.search(SELECT.format(name=re.escape(name)), text, re.S)
    return OPTION.findall(found.group(1)) if found else []


class SignedIn(FastHttpUser):
    """A member of the organization, signed in through the login form."""

    abstract = True

    def on_start(self) -> None:
        self.username = random.choice(CONFIG["users"])
        with self.client.get("/accounts/login/", name="sign in: form", catch_response=True) as response:
            token = first(CSRF, response.text or "")
            if not token:
                response.failure("no CSRF token on the login page")
                raise StopUser
        with self.client.post(
            "/accounts/login/",
            data={"username": self.username, "password": CONFIG["password"], "csrfmiddlewaretoken": token, "next": "/"},
            name="sign in (POST)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or response.headers.get("Location") != "/":
                response.failure(f"sign-in answered {response.status_code}, not a redirect to /")
                raise StopUser

    def page(self, url: str, name: str) -> str:
        """GET one page; anything but a 200 with a body is a failure."""
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200 or not response.text:
                response.failure(f"{response.status_code} for {url}")
                return ""
            if 'action="/accounts/login/"' in response.text:
                response.failure(f"signed out: the login form answered {url}")
                return ""
            return response.text


class StaffUser(SignedIn):
    """Staff with every role browsing the lists and dashboards."""

    weight = 10
    wait_time = between(2, 6)

    def on_start(self) -> None:
        super().on_start()
        self.next_orders: str | None = None

    def pick(self, key: str) -> str:
        return random.choice(CONFIG[key])

    @task(4)
    def home(self) -> None:
        self.page("/", "home")

    @task(3)
    def orders_first_page(self) -> None:
        text = self.page("/orders/", "orders: first page")
        self.next_orders = first(NEXT, text)

    @task(2)
    def orders_tab(self) -> None:
        text = self.page(f"/orders/?tab={self.pick('order_tabs')}", "orders: status tab")
        self.next_orders = first(NEXT, text)

    @task(2)
    def orders_next_page(self) -> None:
        if not self.next_orders:
            return self.orders_first_page()
        text = self.page(self.next_orders, "orders: next page (?after=)")
        self.next_orders = first(NEXT, text)

    @task(1)
    def orders_search(self) -> None:
        self.page(f"/orders/?q={self.pick('order_searches')}", "orders: search")

    @task(1)
    def orders_sort(self) -> None:
        text = self.page(f"/orders/?sort={self.pick('order_sorts')}", "orders: sort")
        self.next_orders = first(NEXT, text)

    @task(2)
    def order_detail(self) -> None:
        self.page(f"/orders/{self.pick('order_ids')}/", "order page")

    @task(2)
    def rmas(self) -> None:
        self.page("/rmas/", "RMAs: first page")

    @task(1)
    def rmas_tab(self) -> None:
        self.page(f"/rmas/?tab={self.pick('rma_tabs')}", "RMAs: tab")

    @task(1)
    def rmas_search(self) -> None:
        self.page(f"/rmas/?q={self.pick('rma_searches')}", "RMAs: search")

    @task(2)
    def inventory(self) -> None:
        self.page("/inventory/", "inventory: first page")

    @task(1)
    def inventory_tab(self) -> None:
        self.page("/inventory/?tab=below", "inventory: below reorder tab")

    @task(2)
    def invoices(self) -> None:
        self.page("/invoices/", "invoices: first page")

    @task(1)
    def invoices_sort(self) -> None:
        self.page(f"/invoices/?sort={self.pick('invoice_sorts')}", "invoices: sort")

    @task(2)
    def board(self) -> None:
        """The board, then one live refresh after the page's interval, as the open page would send it."""
        text = self.page(f"/automation/?tab={self.pick('board_tabs')}", "automation board")
        refresh = first(BOARD_REFRESH, text)
        if refresh is None:
            return
        versions = first(BOARD_VERSIONS, text) or ""
        newest = first(BOARD_NEWEST, text) or ""
        time.sleep(CONFIG["refresh_seconds"])  # gevent's sleep: locust patches the standard library
        query = urlencode({"rows": versions, "newest": newest})
        with self.client.get(
            f"{refresh.rstrip('?&')}{'&' if '?' in refresh.rstrip('?&') else '?'}{query}",
            name="automation board: live refresh",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} for the board's refresh")


class BuyerUser(SignedIn):
    """A buyer submitting orders through the order form."""

    fixed_count = int(os.environ.get("LOAD_BUYERS", "4"))
    wait_time = between(5, 15)

    @task
    def submit_order(self) -> None:
        text = self.page("/orders/new/", "new order form")
        token = first(CSRF, text)
        if not token:
            return
        methods = [m for m in options("ship_method", text) if int(m) in CONFIG["ship_methods"]]
        countries = options("recipient_country", text)
        skus_block = SKU_OPTION.search(text)
        skus = OPTION.findall(skus_block.group(1)) if skus_block else []
        if not (methods and countries and skus):
            self.environment.events.request.fire(
                request_type="POST",
                name="order submit (POST)",
                response_time=0,
                response_length=0,
                exception=AssertionError("the order form offers no ship method, country or product"),
                context={},
            )
            return
        number = f"LOAD-{CONFIG['run']}-{next(SEQUENCE):05d}-{random.randrange(10**6):06d}"
        data = {
            "csrfmiddlewaretoken": token,
            "purchase_order": f"PO-{number}",
            "customer_order": number,
            "ship_method": random.choice(methods),
            "notes": "load test",
            "recipient_name": "Dana Load",
            "recipient_company": "Acme Bench",
            "recipient_phone": "1-555-555-0100",
            "recipient_address_1": "1 Main St",
            "recipient_city": "Springfield",
            "recipient_zip": "12345",
            "recipient_country": random.choice(countries),
            "importer_same_as_recipient": "on",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "1",
            "lines-MAX_NUM_FORMS": "500",
        }
        for n, sku in enumerate(random.sample(skus, 2)):
            data[f"lines-{n}-product_code"] = sku
            data[f"lines-{n}-quantity"] = str(n + 1)
            data[f"lines-{n}-customs_declared_value"] = "125.00"
        with self.client.post(
            "/orders/new/", data=data, name="order submit (POST)", allow_redirects=False, catch_response=True
        ) as response:
            location = response.headers.get("Location") or ""
            if response.status_code != 302 or "/orders/submissions/" not in location:
                errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.text or "", re.S)
                response.failure(f"{response.status_code}, not a redirect to the submission: {errors[:3]}")
                return
        self.page(location, "order submission page")


class WebhookSender(FastHttpUser):
    """The upstream's Order Update webhooks: signed, about two a second."""

    fixed_count = 1
    wait_time = constant_pacing(0.5)

    def on_start(self) -> None:
        self.orders = [dict(order) for order in CONFIG["webhook_orders"]]
        self.last: bytes | None = None

    @task
    def send(self) -> None:
        if self.last is not None and random.random() < 0.05:
            body = self.last
        else:
            order = random.choice(self.orders)
            order["status"] = {"Pending": "Released", "Released": "Shipped"}.get(order["status"], "Shipped")
            order["updated_at"] = datetime.now(UTC).isoformat()
            body = json.dumps(order).encode()  # ASCII (json's default): sent as these very bytes
            self.last = body
        path = "/webhooks/order-update/"
        headers = signing.signed_headers(CONFIG["webhook_token"], CONFIG["webhook_secret"], "POST", path, body)
        headers["Content-Type"] = "application/json"
        with self.client.post(
            path, data=body.decode(), headers=headers, name="webhook order-update", catch_response=True
        ) as response:
            if response.status_code != 202:
                response.failure(f"webhook answered {response.status_code}: {(response.text or '')[:200]}")
