"""Orders test helpers: an organization with mirrored reference data, and a valid order form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from mirror.models import CatalogItem, Country, ShipMethod


def seed_reference(
    org,
    *,
    ship_methods=((12, "FedEx Ground", "FedEx"), (24, "UPS Express", "UPS")),
    countries=(("CA", "Canada"), ("US", "United States")),
    skus=(("SKU-100", "123.40"), ("SKU-200", "50.00"), ("SKU-300", "9.99")),
):
    now = timezone.now()
    common = {"organization": org, "first_seen_at": now, "changed_at": now, "content_hash": "x"}
    for id_, name, carrier in ship_methods:
        ShipMethod.objects.create(upstream_id=id_, name=name, carrier=carrier, raw={"id": id_}, **common)
    for n, (iso, name) in enumerate(countries, start=1):
        Country.objects.create(upstream_id=n, iso_code=iso, name=name, raw={"id": n}, **common)
    for n, (sku, price) in enumerate(skus, start=1):
        CatalogItem.objects.create(
            upstream_id=n, customer_sku=sku, price=Decimal(price), item_id=n, raw={"id": n}, **common
        )


def order_data(**overrides) -> dict:
    """POST data of a valid order with two lines (override any field; None removes it)."""
    data = {
        "purchase_order": "PO-56789",
        "customer_order": "ACME-TEST-0001",
        "ship_method": "12",
        "ship_account": "333444555",
        "notes": "",
        "customer_rma_case": "",
        "duties_and_taxes_account": "10000000",
        "recipient_name": "John L. Doe",
        "recipient_company": "John L. Doe Ltd.",
        "recipient_email": "jdoe@example.com",
        "recipient_phone": "1-555-555-6789",
        "recipient_address_1": "467 Highway #1",
        "recipient_address_2": "",
        "recipient_address_3": "",
        "recipient_city": "Toronto",
        "recipient_state": "ON",
        "recipient_zip": "M5A 123",
        "recipient_country": "CA",
        "importer_same_as_recipient": "on",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "500",
        "lines-0-product_code": "SKU-100",
        "lines-0-quantity": "2",
        "lines-0-customs_declared_value": "123.40",
        "lines-1-product_code": "SKU-200",
        "lines-1-quantity": "1",
        "lines-1-customs_declared_value": "50",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.fixture
def reference_a(org_a):
    seed_reference(org_a)
    return org_a


def sync_reference(org) -> None:
    """Mirror the organization's countries, ship methods and catalog from the sandbox (a real sync)."""
    from sync.engine import run_sync

    for name in ("countries", "ship_methods", "customer_catalog_items"):
        run = run_sync(org, name)
        assert run.status == "success", (name, run.error)


def sandbox_order_data(org, customer_order: str, **overrides) -> dict:
    """A valid order for a sandbox organization, using its mirrored ship method, country and catalog."""
    sm = ShipMethod.objects.for_org(org).order_by("upstream_id").first()
    country = Country.objects.for_org(org).filter(iso_code="CA").first() or Country.objects.for_org(org).first()
    assert sm is not None and country is not None, "sync the reference data first"
    skus = list(CatalogItem.objects.for_org(org).order_by("upstream_id").values_list("customer_sku", flat=True)[:2])
    data = order_data(
        customer_order=customer_order, ship_method=str(sm.upstream_id), recipient_country=country.iso_code
    )
    data["lines-0-product_code"], data["lines-1-product_code"] = skus[0], skus[1]
    data.update(overrides)
    return data
