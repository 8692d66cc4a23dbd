"""The one seam between the portal and the upstream API.

`UpstreamClient(organization)` owns an HTTP session: it signs every request (upstream.signing),
applies connect and read time-outs, retries transient failures with capped exponential
back-off and full jitter, and maps failures to the typed errors of upstream.errors.
Writes are retried only with an Idempotency-Key, with the same key and the same body bytes;
a write without a key is retried only when it cannot have reached the server.

Every attempt is logged as an UpstreamCall row (method, path, status, duration, attempt,
error), never with the secret or the signature. The row is written with the default
database connection: inside a caller's transaction.atomic() block it commits or rolls back
with that block.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlencode

import requests
from django.conf import settings

from . import signing
from .errors import AuthFailed, BadRequest, Conflict, NotFound, TransientError, UpstreamError, ValidationFailed

log = logging.getLogger("upstream")

USER_AGENT = "mbx-portal/1.0 (+python-requests)"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_RETRY_AFTER = 300.0


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


class _NotSent(Exception):
    """The request cannot have reached the server (connection refused / connect time-out)."""


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}"[:300]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except ValueError:
        return None


def _field_errors(data: Any) -> dict[str, list[str]]:
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, dict):
        return {}
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}


def _error_message(data: Any, default: str) -> str:
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            if isinstance(data.get(key), str):
                return data[key][:300]
    return default


def _lines(response: requests.Response, chunk_size: int = 65536) -> Iterator[str]:
    """Decoded lines of a streamed body, line endings kept (csv joins quoted newlines)."""
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
    def __init__(self, organization, *, session: requests.Session | None = None, max_attempts: int | None = None,
                 connect_timeout: float | None = None, read_timeout: float | None = None,
                 sleep: Callable[[float], None] = time.sleep, log_calls: bool = True):
        self.organization = organization
        self.base_url = organization.upstream_base_url.rstrip("/")
        self.token = organization.upstream_token
        self.__secret = organization.get_upstream_secret()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.max_attempts = max(1, max_attempts or settings.UPSTREAM_MAX_ATTEMPTS)
        self.timeout = (connect_timeout or settings.UPSTREAM_CONNECT_TIMEOUT,
                        read_timeout or settings.UPSTREAM_READ_TIMEOUT)
        self.sleep = sleep
        self.log_calls = log_calls
        self._deferred: list | None = None

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
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter, capped."""
        cap = settings.UPSTREAM_BACKOFF_CAP
        ceiling = min(cap, settings.UPSTREAM_BACKOFF_BASE * (2 ** (attempt - 1)))
        delay = random.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, max(cap, MAX_RETRY_AFTER)))
        return delay

    # -- the one request path -------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None,
                body: bytes | None = None, idempotency_key: str | None = None) -> Response:
        raw = self._send(method, path, params=params, json_body=json_body, body=body,
                         idempotency_key=idempotency_key, stream=False)
        return Response(raw.status_code, self._decode(raw), dict(raw.headers))

    def _send(self, method, path, *, params=None, json_body=None, body=None, idempotency_key=None,
              stream=False) -> requests.Response:
        method = method.upper()
        if body is None and json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
        path_with_query = path + ("?" + urlencode(params) if params else "")
        url = self.base_url + path_with_query
        is_write = method in WRITE_METHODS
        attempt = 0
        while True:
            attempt += 1
            headers = signing.signed_headers(self.token, self.__secret, method, path_with_query, body)
            if body is not None:
                headers["Content-Type"] = "application/json"
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
            started = time.monotonic()
            status = None
            try:
                try:
                    response = self.session.request(method, url, data=body, headers=headers, timeout=self.timeout,
                                                    stream=stream, allow_redirects=False)
                except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as exc:
                    raise _NotSent(_short(exc)) from exc
                except requests.exceptions.ConnectionError as exc:
                    if "refused" in str(exc).lower() or "NewConnectionError" in str(exc):
                        raise _NotSent(_short(exc)) from exc
                    raise TransientError(f"connection failed: {_short(exc)}") from None
                except requests.exceptions.Timeout as exc:
                    raise TransientError(f"no answer in time: {_short(exc)}") from None
                status = response.status_code
                self._raise_for_status(response)
                self._log(method, path_with_query, status, started, attempt, "", idempotency_key)
                return response
            except _NotSent as exc:
                error = TransientError(f"could not connect: {exc}")
                sent = False
            except TransientError as exc:
                error = exc
                sent = True
            except UpstreamError as exc:
                self._log(method, path_with_query, status, started, attempt, str(exc), idempotency_key)
                raise
            self._log(method, path_with_query, error.status, started, attempt, str(error), idempotency_key)
            may_retry = (not is_write) or bool(idempotency_key) or not sent
            if attempt >= self.max_attempts or not may_retry:
                raise error
            delay = self.backoff(attempt, error.retry_after)
            log.info("upstream %s %s: %s; retrying in %.1fs (attempt %s of %s)", method, path, error, delay,
                     attempt + 1, self.max_attempts)
            self.sleep(delay)

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def _raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        data = self._decode(response)
        if status == 429:
            raise TransientError("rate limited", status=status, body=data,
                                 retry_after=_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise TransientError(_error_message(data, "upstream server error"), status=status, body=data,
                                 retry_after=_retry_after(response.headers.get("Retry-After")))
        if status == 422:
            raise ValidationFailed(_error_message(data, "the upstream refused the data"), body=data,
                                   field_errors=_field_errors(data))
        if status == 409:
            existing = data.get("existing") if isinstance(data, dict) else None
            raise Conflict(_error_message(data, "the object exists already"), body=data, existing=existing,
                           field_errors=_field_errors(data))
        if status in (401, 403):
            raise AuthFailed(_error_message(data, "authentication refused"), status=status, body=data)
        if status == 404:
            raise NotFound(_error_message(data, "not found"), status=status, body=data)
        raise BadRequest(_error_message(data, "request refused"), status=status, body=data)

    def _log(self, method, path, status, started, attempt, error, idempotency_key) -> None:
        duration_ms = int((time.monotonic() - started) * 1000)
        if error:
            log.warning("upstream %s %s -> %s in %sms (attempt %s): %s", method, path, status, duration_ms,
                        attempt, error)
        if not self.log_calls:
            return
        from .models import UpstreamCall

        call = UpstreamCall(
            organization_id=getattr(self.organization, "pk", None), method=method, path=path[:500],
            status=status, duration_ms=duration_ms, attempt=attempt, error=(error or "")[:500],
            idempotency_key=idempotency_key or "",
        )
        if self._deferred is not None:
            self._deferred.append(call)  # written by flush_call_log() on the owner's thread
            return
        try:
            call.save()
        except Exception as exc:  # the call log must never break the call
            log.warning("could not record upstream call: %s", exc.__class__.__name__)

    def defer_call_log(self) -> None:
        """Collect call-log rows in memory (calls made from a helper thread) until flushed."""
        if self._deferred is None:
            self._deferred = []

    def flush_call_log(self) -> None:
        from .models import UpstreamCall

        if not self._deferred:
            return
        calls, self._deferred[:] = list(self._deferred), []
        try:
            UpstreamCall.objects.bulk_create(calls)
        except Exception as exc:
            log.warning("could not record %s upstream calls: %s", len(calls), exc.__class__.__name__)

    # -- collections ----------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).data

    def post(self, path: str, payload: Any, *, idempotency_key: str | None = None) -> Any:
        return self.request("POST", path, json_body=payload, idempotency_key=idempotency_key).data

    def put(self, path: str, payload: Any, *, idempotency_key: str | None = None) -> Any:
        return self.request("PUT", path, json_body=payload, idempotency_key=idempotency_key).data

    def paginate(self, path: str, *, page_size: int = 1000, params: Mapping[str, Any] | None = None,
                 start_offset: int = 0) -> Iterator[Page]:
        """Pages of a collection, fetched lazily (memory does not grow with the collection)."""
        offset = start_offset
        while True:
            query = {**(params or {}), "offset": offset, "limit": page_size}
            data = self.get(path, query)
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise UpstreamError(f"unexpected answer for {path}: not a collection envelope")
            results = data["results"]
            total = int(data.get("total_results") or 0)
            yield Page(offset=int(data.get("offset") or offset), count=len(results), total=total, results=results)
            offset += len(results)
            if not results or offset >= total:
                return

    def iter_rows(self, path: str, *, page_size: int = 1000) -> Iterator[dict]:
        for page in self.paginate(path, page_size=page_size):
            yield from page.results

    def get_csv(self, path: str) -> Iterator[dict]:
        """Rows of a CSV report, streamed (memory stays flat)."""
        response = self._send("GET", path, stream=True)
        try:
            yield from csv.DictReader(_lines(response))
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"report interrupted: {_short(exc)}") from None
        finally:
            response.close()
