"""Security headers (issue 11): a strict Content-Security-Policy with nothing inline to allow,
a Permissions-Policy, and `Cache-Control: private, no-store` on signed-in pages and exports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from conftest import make_member

STRICT_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
    "base-uri": {"'none'"},
    "object-src": {"'none'"},
}
DENIED = ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid", "midi")

# What a strict policy would block in a page: inline scripts (a <script> without src that is
# not JSON data), <style> elements, style="" attributes, on...="" handlers, javascript: URLs.
INLINE = {
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"=\s*[\"']?\s*javascript:", re.I),
}


def policy_of(response) -> dict[str, set[str]]:
    """The Content-Security-Policy header as {directive: sources}."""
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def assert_strict_headers(response, signed_in: bool = True) -> None:
    path = response.request["PATH_INFO"]
    assert policy_of(response) == STRICT_POLICY, path
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    permissions = response.headers.get("Permissions-Policy", "")
    for feature in DENIED:
        assert f"{feature}=()" in permissions, (path, feature)
    if signed_in:
        directives = {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}
        assert {"private", "no-store"} <= directives, (path, response.headers.get("Cache-Control"))
        assert "public" not in directives


def inline_bits(html: str) -> list[str]:
    return [f"{what}: {m.group(0)[:120]}" for what, pattern in INLINE.items() for m in pattern.finditer(html)]


@pytest.fixture
def alice_in_two(alice, org_b):
    """alice in Acme and Globex: the header then shows the organization switcher."""
    make_member("alice", org_b)
    return alice


def test_signed_in_page_has_csp_permissions_policy_and_no_store(client_alice, alice_in_two):
    response = client_alice.get("/")
    assert response.status_code == 200
    assert_strict_headers(response)


def test_csv_export_streams_with_the_same_headers(client_alice, alice_in_two):
    response = client_alice.get("/orders/", {"export": "csv"})
    assert response.status_code == 200 and response.streaming
    assert_strict_headers(response)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    body = b"".join(response.streaming_content).decode()
    assert body.rstrip().endswith("# 0 rows")


def test_admin_pages_have_the_headers(client_ops, org_a):
    for url in ("/admin/", f"/admin/accounts/organization/{org_a.pk}/change/", "/admin/auth/user/add/"):
        response = client_ops.get(url)
        assert response.status_code == 200, url
        assert_strict_headers(response)


def test_anonymous_pages_have_csp_and_permissions_policy(client, db):
    for url in ("/accounts/login/", "/accounts/password_reset/", "/admin/login/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_headers(response, signed_in=False)


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_favicon_ico(client, db):
    from django.contrib.staticfiles import finders

    page = client.get("/accounts/login/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon, "no icon link in the page's head"
    name = icon.group(1).removeprefix(settings.STATIC_URL)
    assert name != icon.group(1) and finders.find(name), icon.group(1)
    # Pages that name none (the admin's) get the same icon at /favicon.ico.
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == icon.group(1)


def test_portal_pages_have_nothing_inline_for_the_policy_to_block(client_alice, alice_in_two):
    home = client_alice.get("/")
    nav = re.search(r'<nav aria-label="Main".*?</nav>', home.content.decode(), re.S)
    assert nav
    sections = re.findall(r'href="(/[^"]*)"', nav.group(0))
    assert len(sections) >= 4, sections
    urls = [
        "/",
        *sections,
        "/orders/new/",
        "/orders/upload/",
        "/accounts/preferences/",
        "/accounts/members/",
        "/accounts/password_change/",
    ]
    found = {}
    for url in urls:
        response = client_alice.get(url)
        assert response.status_code == 200, url
        assert b'id="org-switcher"' in response.content, url  # the switcher is on every page
        found[url] = inline_bits(response.content.decode())
    client_alice.logout()
    for url in ("/accounts/login/", "/accounts/password_reset/"):
        found[url] = inline_bits(client_alice.get(url).content.decode())
    assert not {url: bits for url, bits in found.items() if bits}


def test_templates_have_nothing_inline(db):
    found = {}
    for path in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        bits = inline_bits(path.read_text())
        if bits:
            found[str(path)] = bits
    assert not found
