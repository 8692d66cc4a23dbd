"""The sandbox upstream refuses every badly signed request with 401 (CONTRACT.md)."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

TOKEN, SECRET = "auth-token", "auth-secret"


def sign(secret, method, path, body, date):
    msg = "\n".join([method, hashlib.sha256(body).hexdigest(), path, date])
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def org(sandbox):
    sandbox.add_org(TOKEN, SECRET, 1, "Auth Co")
    sandbox.seed(TOKEN, scale=0.1)
    return sandbox


def send(
    sandbox, method, path, body=b"", *, token=TOKEN, secret=SECRET, date=None, sign_path=None, sign_body=None, drop=None
):
    date = date or datetime.now(UTC).isoformat()
    headers = {
        "X-MBX-Token": token,
        "X-MBX-Date": date,
        "X-MBX-Signature": sign(secret, method, sign_path or path, body if sign_body is None else sign_body, date),
    }
    if drop:
        headers.pop(drop)
    return requests.request(method, sandbox.url + path, data=body, headers=headers, timeout=10)


def test_a_correctly_signed_request_is_answered(org):
    response = send(org, "GET", "/v2/countries?offset=0&limit=5", b"{}")
    assert response.status_code == 200
    assert response.json()["count"] == 5


def test_wrong_signature_is_401(org):
    response = send(org, "GET", "/v2/countries", secret="not-the-secret")
    assert response.status_code == 401
    assert "signature does not match" in response.json()["error"]
    assert SECRET not in response.text


def test_unknown_token_is_401(org):
    response = send(org, "GET", "/v2/countries", token="who-is-this")
    assert response.status_code == 401 and "unknown token" in response.json()["error"]


@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_or_future_date_is_401(org, skew):
    date = (datetime.now(UTC) + timedelta(seconds=skew)).isoformat()
    response = send(org, "GET", "/v2/countries", date=date)
    assert response.status_code == 401 and "300 seconds" in response.json()["error"]


def test_tampered_body_is_401(org):
    body = json.dumps({"manufacturer_serial": "X", "serial_data_type_id": 1, "value": "v"}).encode()
    response = send(org, "POST", "/v2/serial_data", body, sign_body=body.replace(b'"v"', b'"w"'))
    assert response.status_code == 401


def test_tampered_query_string_is_401(org):
    response = send(org, "GET", "/v2/inventories?offset=0&limit=1000", sign_path="/v2/inventories?offset=0&limit=10")
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["X-MBX-Token", "X-MBX-Date", "X-MBX-Signature"])
def test_missing_header_is_401(org, header):
    response = send(org, "GET", "/v2/countries", drop=header)
    assert response.status_code == 401 and header in response.json()["error"]


def test_another_organizations_object_is_404(sandbox, org):
    sandbox.add_org("other-token", "other-secret", 2, "Other")
    sandbox.seed("other-token", scale=0.1)
    first_order = send(org, "GET", "/v2/customer_order_submissions?offset=0&limit=1").json()["results"][0]
    response = send(
        org, "GET", f"/v2/customer_order_submissions/{first_order['id']}", token="other-token", secret="other-secret"
    )
    assert response.status_code == 200  # same seeded ids exist for the other org: its own copy
    assert response.json()["customer_order"] == first_order["customer_order"]
    sandbox.delete("other-token", "customer_order_submissions", [first_order["id"]])
    response = send(
        org, "GET", f"/v2/customer_order_submissions/{first_order['id']}", token="other-token", secret="other-secret"
    )
    assert response.status_code == 404
