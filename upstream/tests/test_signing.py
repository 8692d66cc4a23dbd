"""Signing follows CONTRACT.md exactly: its known answers, and verification."""

from datetime import UTC, datetime, timedelta

import pytest

from upstream import signing

DATE = "2026-11-22T10:15:00+00:00"
PUT_BODY = (
    b'{"manufacturer_serial": "124567", "ip_address": "8.8.8.8", "sequence": 0, '
    b'"message": "Started Run-In", "message_type": "start"}'
)


@pytest.mark.parametrize(
    "method, path, body, expected",
    [
        ("GET", "/v2/countries", None, "c92be8836f5e9f2bd933fcb6caf71f8d061e7ef11116fea846ab8c0214e590da"),
        (
            "GET",
            "/v2/inventories?offset=0&limit=100",
            b"{}",
            "82c83a93033afa61c8ffd9ad18c412d3f1e13442ad2039240a1669da98b228f8",
        ),
        ("PUT", "/v2/automation_tasks", PUT_BODY, "e99b2f83fa4900e1ecf978b2f4264a641d7672548893af2f8ecc5379e1f5ea3c"),
    ],
)
def test_known_answers_from_the_contract(method, path, body, expected):
    assert signing.sign("sandbox-secret", method, path, body, DATE) == expected


def test_empty_body_hashes_like_no_body():
    assert signing.body_sha256(b"") == signing.body_sha256(None)


def test_verify_accepts_a_fresh_signature_and_refuses_tampering():
    now = datetime(2026, 11, 22, 10, 16, tzinfo=UTC)
    sig = signing.sign("s", "POST", "/hook", b'{"a":1}', DATE)
    assert signing.verify("s", "POST", "/hook", b'{"a":1}', DATE, sig, now=now)
    assert not signing.verify("s", "POST", "/hook", b'{"a":2}', DATE, sig, now=now)
    assert not signing.verify("s", "POST", "/hook?x=1", b'{"a":1}', DATE, sig, now=now)
    assert not signing.verify("other", "POST", "/hook", b'{"a":1}', DATE, sig, now=now)
    assert not signing.verify("s", "POST", "/hook", b'{"a":1}', DATE, "0" * 64, now=now)


@pytest.mark.parametrize("skew", [301, -301])
def test_verify_refuses_dates_outside_the_window(skew):
    date = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    now = date + timedelta(seconds=skew)
    sig = signing.sign("s", "GET", "/x", None, date.isoformat())
    assert not signing.verify("s", "GET", "/x", None, date.isoformat(), sig, now=now)


def test_verify_refuses_a_date_without_offset():
    sig = signing.sign("s", "GET", "/x", None, "2026-11-22T10:15:00")
    assert not signing.verify(
        "s", "GET", "/x", None, "2026-11-22T10:15:00", sig, now=datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    )


def test_signed_headers_carry_token_date_and_signature():
    headers = signing.signed_headers("tok", "sandbox-secret", "GET", "/v2/countries", None, date=DATE)
    assert headers == {
        "X-MBX-Token": "tok",
        "X-MBX-Date": DATE,
        "X-MBX-Signature": "c92be8836f5e9f2bd933fcb6caf71f8d061e7ef11116fea846ab8c0214e590da",
    }


def test_verify_refuses_garbage_signatures_without_raising():
    now = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    for bad in ("", "zz", "é" * 64, "ü", "0" * 63):
        assert not signing.verify("s", "GET", "/x", None, DATE, bad, now=now)
    sig = signing.sign("s", "GET", "/x", None, DATE)
    assert signing.verify("s", "GET", "/x", None, DATE, f" {sig.upper()} ", now=now)
    assert not signing.verify("", "GET", "/x", None, DATE, sig, now=now)


def test_body_sha256_is_over_the_exact_bytes():
    assert signing.body_sha256(b"{}") == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert signing.body_sha256(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert (
        signing.string_to_sign("get", "/v2/countries", None, DATE)
        == "GET\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n/v2/countries\n" + DATE
    )
