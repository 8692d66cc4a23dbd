"""Sign in, sign out, password change and reset, idle expiry and login throttling."""

import re
import time

from django.core import mail

from accounts.middleware import SESSION_SEEN_KEY
from conftest import PASSWORD


def test_login_page_labels_every_input(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    for input_id in re.findall(r'<input[^>]*type="(?:text|password)"[^>]*id="([^"]+)"', html):
        assert f'for="{input_id}"' in html


def test_alice_signs_in_and_sees_the_dashboard(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert b"<h1>Dashboard</h1>" in response.content
    for label in (b"Orders", b"RMAs", b"Inventory", b"Invoices", b"Automation"):
        assert label in response.content


def test_wrong_password_says_so_next_to_the_form(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_admin_signs_into_the_admin(client, ops):
    response = client.post("/admin/login/?next=/admin/", {"username": "ops", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"Site administration" in response.content


def test_logout_ends_the_session(client_alice):
    response = client_alice.post("/accounts/logout/")
    assert response.status_code == 302
    assert client_alice.get("/").status_code == 302


def test_password_change(client_alice, alice):
    response = client_alice.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "n3w-Passw0rd-xyz", "new_password2": "n3w-Passw0rd-xyz"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("n3w-Passw0rd-xyz")


def test_password_reset_sends_a_working_link(client, alice):
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    assert b"Set a new password" in page.content
    done = client.post(
        page.redirect_chain[-1][0], {"new_password1": "R3set-pass-abc", "new_password2": "R3set-pass-abc"}
    )
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("R3set-pass-abc")


def test_idle_session_expires(client_alice, settings):
    assert client_alice.get("/").status_code == 200
    session = client_alice.session
    session[SESSION_SEEN_KEY] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()
    response = client_alice.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client_alice.get("/").status_code == 302


def test_active_session_is_kept(client_alice, settings):
    client_alice.get("/")
    session = client_alice.session
    session[SESSION_SEEN_KEY] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT + 60
    session.save()
    assert client_alice.get("/").status_code == 200


def test_login_is_throttled_after_repeated_failures(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
