"""A new RMA names the order that shipped its serial, and the item it shipped as, like a real integrator."""

from __future__ import annotations

import uuid

import pytest

from .test_sandbox_behaviour import Api, good_order


@pytest.fixture
def api(sandbox):
    token = f"t-{uuid.uuid4().hex[:8]}"
    sandbox.add_org(token, "rma-serial-secret", 78, "RMA Serial Co")
    sandbox.seed(token, scale=0.2)
    return Api(sandbox, token, "rma-serial-secret")


def rma_for(api, serial, **extra):
    payload = {"problem": "dead", "request_type_id": 3, "manufacturer_serial": serial, "replacement_name": "Dock"}
    response = api.call("POST", "/v2/rmas", {**payload, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def catalog_item(api, sku):
    rows = api.call("GET", "/v2/customer_catalog_items?limit=1000").json()["results"]
    item_id = next(r["item_id"] for r in rows if r["customer_sku"] == sku)
    return api.call("GET", f"/v2/items/{item_id}").json()


def test_an_rma_for_a_shipped_serial_names_its_order_and_item(api):
    order = api.call("GET", "/v2/customer_order_submissions/200000").json()  # seeded as shipped
    line = order["lines"][-1]
    serial = line["serial_numbers"][-1]
    item = catalog_item(api, line["product_code"])

    rma = rma_for(api, serial)

    assert rma["order_id"] == 200000
    assert rma["item"]["id"] == item["id"] and rma["item"]["name"] == item["name"]
    assert rma["item"]["category"]["id"] == item["item_category_id"] and rma["item"]["category"]["name"]
    detail = api.call("GET", f"/v2/rmas/{rma['id']}").json()  # stored as answered
    assert detail["order_id"] == 200000 and detail["item"] == rma["item"]
    summary = next(r for r in api.call("GET", "/v2/rmas?limit=1000").json()["results"] if r["id"] == rma["id"])
    assert summary["order_id"] == 200000 and summary["item"]["name"] == item["name"]


def test_an_order_shipped_through_the_api_is_found_too(api, sandbox):
    order = api.call("POST", "/v2/customer_order_submissions", good_order()).json()
    sandbox.advance(2)  # Pending -> Released -> Shipped: serial numbers appear
    shipped = api.call("GET", f"/v2/customer_order_submissions/{order['id']}").json()
    serial = shipped["lines"][0]["serial_numbers"][0]

    rma = rma_for(api, serial)

    assert rma["order_id"] == order["id"]
    assert rma["item"]["name"] == catalog_item(api, "SKU-00001")["name"]


@pytest.mark.parametrize(
    "serial",
    [
        "NEVER-SHIPPED-1",
        "SN2000000",  # a prefix of a shipped serial is not that serial
        "sn200000000",  # another letter case is another serial upstream
        '"SN200000000"',  # JSON quoting in the serial does not match the stored text
        "SN200000000 ",
    ],
)
def test_a_serial_no_order_shipped_leaves_order_and_item_empty(api, serial):
    rma = rma_for(api, serial)
    assert rma["order_id"] is None
    assert rma["item"] == {"id": None, "name": None, "description": None, "category": {"id": None, "name": None}}


def test_another_organizations_order_is_not_named(api, sandbox):
    other = f"t-{uuid.uuid4().hex[:8]}"
    sandbox.add_org(other, "other-secret", 79, "Other Co")
    sandbox.seed(other, scale=0.2)  # the same seeded serials, in another organization
    sandbox.delete(api.token, "customer_order_submissions", [200000])

    rma = rma_for(api, "SN200000000")

    assert rma["order_id"] is None


def test_the_bounds_still_hold(api):
    response = api.call(
        "POST",
        "/v2/rmas",
        {"problem": "p", "request_type_id": 1, "manufacturer_serial": "S" * 51, "replacement_name": "N"},
    )
    assert response.status_code == 422 and "manufacturer_serial" in response.json()["errors"]
