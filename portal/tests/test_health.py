"""GET /healthz reports database and broker state."""

from portal import health


def test_healthz_is_ok_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok" and body["status"] == "ok"


def test_healthz_is_503_when_the_broker_is_down(client, db, monkeypatch):
    monkeypatch.setattr(health, "broker_url", lambda: "redis://127.0.0.1:1/0")  # a real, refused connection
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"].startswith("down") and body["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down(client, db, monkeypatch):
    monkeypatch.setattr(health, "check_database", lambda: "OperationalError")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down: OperationalError"
