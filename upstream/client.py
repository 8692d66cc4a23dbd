"""The one seam between the portal and the upstream API.

`UpstreamClient(organization)` owns an HTTP session: it signs every request (upstream.signing),
applies connect and read time-outs, retries transient failures with capped exponential
back-off and full jitter, and maps failures to the typed errors of upstream.errors.
Writes are retried only with an Idempotency-Key, with the same key and the same body bytes;
a write without a key is retried only when it cannot have acted (connection refused, connect
time-out, or a 429 refusal), never after a read time-out, a reset or a 5xx.

Every attempt is logged as an UpstreamCall row (method, path, status, duration, attempt,
error), never with the secret or the signature, by one plain INSERT that never breaks the
call (a failure is logged and dropped). Transactions: outside transaction.atomic() the row
commits at once. Inside a caller's atomic block the INSERT runs in its own savepoint, so a
failed log write cannot poison the caller's transaction, and the row then commits or rolls
back with the caller's block; a caller that wants the rows whatever happens to its block
calls `defer_call_log()` first and `flush_call_log()` outside the block (the sync engine
does this; it also makes logging thread-safe when pages are fetched on a helper thread).

Exactness: the body is serialized once to bytes, and the request line carries exactly the
path and query that were signed (the query is built here; requests never re-encodes it).
"""

from __future__ import annotations

import codecs
import csv
import json as jsonlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import requests
from django.conf import settings
from django.db import connections, router, transaction
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from . import signing
from .errors import AuthFailed, BadRequest, Conflict, NotFound, TransientError, UpstreamError, ValidationFailed

log = logging.getLogger("upstream")

USER_AGENT = "mbx-portal/1.0 (+python-requests)"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_RETRY_AFTER = 3600.0  # a Retry-After larger than this is taken as this
PATH_SAFE = "/:@!$&'()*+,;=-._~%"  # RFC 3986 pchar plus "/" and already-encoded "%XX"
QUERY_SAFE = PATH_SAFE + "?"
CLOCK_HINT_AFTER = 60.0  # seconds between the upstream's Date header and our clock worth naming on a 401


@dataclass
class Response:
    status: int
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Page:
    offset: int
    count: int
    total: int
    results: list[dict]


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}"[:300]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; an HTTP date is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _clock_hint(response: requests.Response, now: datetime | None = None) -> str:
    """On a refusal: how far the upstream's clock (its Date header) is from ours, when that is
    far enough to matter (a signature's date must be within 300 s of the server's clock), so
    that a skewed clock is named even where the upstream's error text is terse. Else ""."""
    try:
        told = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError, IndexError):
        return ""
    if told is None or told.tzinfo is None:
        return ""
    skew = (told - (now or datetime.now(UTC))).total_seconds()
    if abs(skew) < CLOCK_HINT_AFTER:
        return ""
    side = "ahead of" if skew > 0 else "behind"
    return (
        f"; the upstream's clock (its Date header) is {abs(skew):.0f} s {side} ours: "
        f"signed dates must be within {signing.DEFAULT_WINDOW} s, check both clocks (NTP)"
    )


def _field_errors(data: Any) -> dict[str, list[str]]:
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, dict):
        return {}
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}


def _message(data: Any, default: str) -> str:
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                return data[key][:300]
    return default


def _not_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the request cannot have reached the server: refused, unresolvable host,
    connect time-out or TLS handshake failure. A reset or a dropped keep-alive connection
    may have carried the request, so it is not "not sent"."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


# Every byte to b"0" (a digit) or b" ": a run of 19 digits is then one C-speed substring test
# (0.4 ms for a 1000-row page, where a regular expression takes 5 ms and orjson parses in 1 ms).
_DIGIT_MASK = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))
_NINETEEN_DIGITS = b"0" * 19


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _has_long_digit_run(content: bytes) -> bool:
    return _NINETEEN_DIGITS in content.translate(_DIGIT_MASK)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent  # 'n', 'N' or 'F' for NaN and infinities
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{value.__class__.__name__} is not JSON serializable")


def encode_json(payload: Any) -> bytes:
    """The exact bytes sent (and signed) for a JSON payload: compact UTF-8, Decimals as numbers.
    The outbox stores these bytes (as text) for every write it delivers."""
    return jsonlib.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=_json_default).encode("utf-8")


def path_with_query(path: str, params: Mapping[str, Any] | None = None) -> str:
    """The request target as sent and signed: the path percent-encoded where it must be,
    then the query built here (`params` appended to any query already in `path`)."""
    base, _, query = path.partition("?")
    target = quote(base, safe=PATH_SAFE)
    parts = [quote(query, safe=QUERY_SAFE)] if query else []
    if params:
        parts.append(urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True))
    parts = [p for p in parts if p]
    return target + ("?" + "&".join(parts) if parts else "")


def _lines(response: requests.Response, chunk_size: int = 65536) -> Iterator[str]:
    """Decoded lines of a streamed body, line endings kept (csv joins quoted newlines).
    Like Response.iter_lines(), but never splits a CRLF across chunks nor drops the ends."""
    decoder = codecs.getincrementaldecoder(response.encoding or "utf-8")(errors="replace")
    pending = ""
    for chunk in response.iter_content(chunk_size=chunk_size):
        pending += decoder.decode(chunk)
        lines = pending.splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        yield from lines
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


class UpstreamClient:
    def __init__(
        self,
        organization,
        *,
        session: requests.Session | None = None,
        max_attempts: int | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log_calls: bool = True,
        rng: random.Random | None = None,
    ):
        self.organization = organization
        self.base_url = organization.upstream_base_url.rstrip("/")
        self.token = organization.upstream_token
        self.__secret = organization.get_upstream_secret()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.max_attempts = max(1, max_attempts or settings.UPSTREAM_MAX_ATTEMPTS)
        self.timeout = (
            connect_timeout or settings.UPSTREAM_CONNECT_TIMEOUT,
            read_timeout or settings.UPSTREAM_READ_TIMEOUT,
        )
        self.sleep = sleep
        self.rng = rng or random.Random()  # nosec B311  # back-off jitter, not a secret
        self.log_calls = log_calls
        self._deferred: list | None = None
        self._deferred_lock = threading.Lock()
        self._environment: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<UpstreamClient {self.base_url} org={getattr(self.organization, 'slug', '?')}>"

    def __enter__(self) -> UpstreamClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- back-off -----------------------------------------------------------------------
    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): "full jitter",
        uniform in [0, min(cap, base * 2**(attempt-1))]; never less than a Retry-After."""
        ceiling = min(settings.UPSTREAM_BACKOFF_CAP, settings.UPSTREAM_BACKOFF_BASE * (2 ** (attempt - 1)))
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    # -- the one request path -------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        body: bytes | None = None,
        idempotency_key: str | None = None,
        json_body: Any = None,
    ) -> Response:
        """Send one signed request (with retries); `json` is serialized once, or pass `body` bytes."""
        raw = self._send(
            method,
            path,
            params=params,
            json=json if json is not None else json_body,
            body=body,
            idempotency_key=idempotency_key,
            stream=False,
        )
        return Response(raw.status_code, self._decode(raw), dict(raw.headers))

    def _send(
        self, method, path, *, params=None, json=None, body=None, idempotency_key=None, stream=False
    ) -> requests.Response:
        method = method.upper()
        if idempotency_key and len(idempotency_key) > 255:
            raise ValueError("an Idempotency-Key has at most 255 characters")
        if body is None and json is not None:
            body = encode_json(json)
        target = path_with_query(path, params)
        url = self.base_url + target
        is_write = method in WRITE_METHODS
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            status = None
            sent = True
            try:
                try:
                    response = self._transmit(method, url, target, body, idempotency_key, stream)
                except requests.exceptions.ConnectionError as exc:
                    if _not_sent(exc):
                        sent = False
                        raise TransientError(f"could not connect: {_short(exc)}") from None
                    raise TransientError(f"connection failed: {_short(exc)}") from None
                except requests.exceptions.Timeout as exc:  # a read time-out: it may have arrived
                    raise TransientError(f"no answer in time: {_short(exc)}") from None
                except requests.exceptions.RequestException as exc:
                    raise TransientError(f"request failed: {_short(exc)}") from None
                status = response.status_code
                self._raise_for_status(response)
                self._log(method, target, status, started, attempt, "", idempotency_key)
                return response
            except TransientError as exc:
                error = exc
                if exc.status == 429:  # refused before it was processed: safe to repeat any write
                    sent = False
            except UpstreamError as exc:
                self._log(method, target, status, started, attempt, str(exc), idempotency_key)
                raise
            self._log(method, target, error.status, started, attempt, str(error), idempotency_key)
            may_retry = (not is_write) or bool(idempotency_key) or not sent
            if attempt >= self.max_attempts or not may_retry:
                raise error
            if error.retry_after is not None and error.retry_after > settings.UPSTREAM_BACKOFF_CAP:
                # Waiting that long would hold a worker: give up now; the caller reschedules
                # (TransientError.retry_after says when).
                raise error
            delay = self.backoff(attempt, error.retry_after)
            log.info(
                "upstream %s %s: %s; retrying in %.2fs (attempt %s of %s)",
                method,
                target,
                error,
                delay,
                attempt + 1,
                self.max_attempts,
            )
            self.sleep(delay)

    def _transmit(
        self, method: str, url: str, target: str, body: bytes | None, idempotency_key: str | None, stream: bool
    ) -> requests.Response:
        """One attempt, signed afresh (new date) over the same target and body bytes."""
        headers = signing.signed_headers(self.token, self.__secret, method, target, body)
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        prepared = self.session.prepare_request(requests.Request(method, url, data=body, headers=headers))
        prepared.url = url  # exactly the target that was signed, never re-encoded
        if self._environment is None:  # proxies/verify/cert from the environment: read once, not per call
            environment = dict(self.session.merge_environment_settings(self.base_url + "/", {}, None, None, None))
            environment.pop("stream", None)
            self._environment = environment
        return self.session.send(
            prepared, timeout=self.timeout, allow_redirects=False, stream=stream, **self._environment
        )

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        if not response.content:
            return None
        content = response.content
        # orjson is several times faster, but reads an integer beyond 64 bits as a float: a body
        # with a run of 19 digits (even inside a string) goes to the exact, slower parser.
        if not _has_long_digit_run(content):
            try:
                return orjson.loads(content)
            except orjson.JSONDecodeError:
                pass  # not UTF-8, or not JSON: the standard parser decides
        try:  # NaN and Infinity are not JSON: a body with them is text, as any other non-JSON body
            return jsonlib.loads(content, parse_constant=_not_json)
        except ValueError:
            return response.text

    def _scrub(self, text: str, response: requests.Response) -> str:
        """Server-supplied text with our secret and signature blanked, should a server echo them."""
        signature = response.request.headers.get(signing.SIGNATURE_HEADER) if response.request is not None else None
        for value in (self.__secret, signature):
            if value:
                text = text.replace(value, "[redacted]")
        return text

    def _raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        data = self._decode(response)

        def message(default: str) -> str:
            return self._scrub(_message(data, default), response)

        if status == 429:
            raise TransientError(
                "rate limited", status=status, body=data, retry_after=_retry_after(response.headers.get("Retry-After"))
            )
        if status >= 500:
            raise TransientError(
                message("upstream server error"),
                status=status,
                body=data,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if status == 422:
            raise ValidationFailed(
                message("the upstream refused the data"), body=data, field_errors=_field_errors(data)
            )
        if status == 409:
            existing = data.get("existing") if isinstance(data, dict) else None
            raise Conflict(
                message("the object exists already"),
                body=data,
                existing=existing if isinstance(existing, dict) else None,
                field_errors=_field_errors(data),
            )
        if status in (401, 403):
            raise AuthFailed(message("authentication refused") + _clock_hint(response), status=status, body=data)
        if status == 404:
            raise NotFound(message("not found"), status=status, body=data)
        raise BadRequest(message("request refused"), status=status, body=data)

    # -- call log -------------------------------------------------------------------------
    def _log(self, method, target, status, started, attempt, error, idempotency_key) -> None:
        duration_ms = int((time.monotonic() - started) * 1000)
        if error:
            log.warning(
                "upstream %s %s -> %s in %sms (attempt %s): %s", method, target, status, duration_ms, attempt, error
            )
        else:
            log.debug("upstream %s %s -> %s in %sms (attempt %s)", method, target, status, duration_ms, attempt)
        if not self.log_calls:
            return
        from .models import UpstreamCall

        call = UpstreamCall(
            organization_id=getattr(self.organization, "pk", None),
            method=method,
            path=target[:500],
            status=status,
            duration_ms=duration_ms,
            attempt=attempt,
            error=(error or "")[:500],
            idempotency_key=(idempotency_key or "")[:255],
        )
        with self._deferred_lock:
            if self._deferred is not None:
                self._deferred.append(call)  # written by flush_call_log() on the owner's thread
                return
        write_calls([call])

    def defer_call_log(self) -> None:
        """Collect call-log rows in memory (e.g. calls made from a helper thread, or inside an
        atomic block that may roll back) until flush_call_log()."""
        with self._deferred_lock:
            if self._deferred is None:
                self._deferred = []

    def flush_call_log(self) -> None:
        with self._deferred_lock:
            if not self._deferred:
                return
            calls, self._deferred = self._deferred, []
        write_calls(calls)

    # -- collections ----------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).data

    def post(self, path: str, payload: Any, *, idempotency_key: str | None = None) -> Any:
        return self.request("POST", path, json=payload, idempotency_key=idempotency_key).data

    def put(self, path: str, payload: Any, *, idempotency_key: str | None = None) -> Any:
        return self.request("PUT", path, json=payload, idempotency_key=idempotency_key).data

    def paginate(
        self, path: str, *, page_size: int = 1000, params: Mapping[str, Any] | None = None, start_offset: int = 0
    ) -> Iterator[Page]:
        """Pages of a collection by offset/limit, fetched lazily: one page in memory at a time.

        Stops at an empty page or once the offset reaches the total, re-read from every page
        (a collection that grows while paged is followed to its new end; one that shrinks ends
        early). Without a total it stops at a short page."""
        offset = start_offset
        while True:
            query = {**(params or {}), "offset": offset, "limit": page_size}
            data = self.get(path, query)
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise UpstreamError(f"unexpected answer for {path}: not a collection envelope")
            results = data["results"]
            total = _int_or_none(data.get("total_results"))
            yield Page(
                offset=offset,
                count=len(results),
                total=total if total is not None else offset + len(results),
                results=results,
            )
            offset += len(results)
            if not results:
                return
            if total is not None and offset >= total:
                return
            if total is None and len(results) < page_size:
                return

    def iter_rows(self, path: str, *, page_size: int = 1000, params: Mapping[str, Any] | None = None) -> Iterator[dict]:
        for page in self.paginate(path, page_size=page_size, params=params):
            yield from page.results

    def get_csv(self, path: str) -> Iterator[dict]:
        """Rows of a CSV report, streamed (stream=True; memory stays flat)."""
        response = self._send("GET", path, stream=True)
        try:
            yield from csv.DictReader(_lines(response))
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"report interrupted: {_short(exc)}") from None
        finally:
            response.close()


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def write_calls(calls: list) -> None:
    """INSERT call-log rows; never raises. Inside an atomic block the INSERT gets its own
    savepoint (a failure rolls back only that), and the rows share the block's fate."""
    if not calls:
        return
    from .models import UpstreamCall

    alias = router.db_for_write(UpstreamCall)
    connection = connections[alias]
    try:
        if connection.in_atomic_block:
            if connection.needs_rollback:  # the caller's transaction is already broken
                log.warning("could not record %s upstream call(s): transaction marked for rollback", len(calls))
                return
            with transaction.atomic(using=alias):
                UpstreamCall.objects.using(alias).bulk_create(calls)
        else:
            UpstreamCall.objects.using(alias).bulk_create(calls)
    except Exception as exc:  # the call log must never break the call
        log.warning("could not record %s upstream call(s): %s", len(calls), exc.__class__.__name__)
