"""The upstream's rules for what a request may be: the bounds of every value it accepts, and
the caps on the work one request can cause.

These are the sandbox upstream's own rules, as an integrator's API would publish them. They
are written here from the contract and the vendor docs, not imported from the portal: the
portal keeps its own bounds (which happen to match on the numbers) and a disagreement between
the two shows up as a 422 in a test instead of passing silently.

Values (a write outside any of these is a 422 naming the field, e.g. `lines.0.quantity`):

- ids (ship_method_id, organization_id, task_type_id, assignee_id, serial_data_type_id):
  whole numbers 1..2^63-1 (64-bit signed); a JSON number or a string of ASCII digits, never
  a bool or a float.
- an order line's quantity: 1..100,000; at most 500 lines per order.
- money (customs_declared_value): finite, 0..9,999,999,999.99, at most 2 decimal places
  (12 digits); a JSON number or a plain decimal string ("123.40"); NaN, Infinity and 1e999
  (which JSON parsing turns into infinity) are refused.
- an automation task's sequence: 0..2^31-1 (the vendor's `int` column); at most 100 tasks
  per queue.
- dates (end_user_order_dt): ISO 8601, years 1900-2200.
- texts: per field, the vendor's lengths where the docs give one (address lines 35,
  manufacturer_serial 256 or 50 on an RMA, message/metadata/value 256) and otherwise
  names 255, order numbers and codes 100, free text (notes, problem, replacement address)
  2,000.
- nested parts (recipient, importer_of_record, lines, automation_tasks) must be objects or
  lists of objects as the docs show.

Work per request (refused before the work is done):

- a body over 1 MiB: 413, answered from the Content-Length header without reading the body
  into memory (the control API allows 64 MiB: it takes bulk test data);
- JSON nested deeper than 32 levels: 422, found by a scan of the raw bytes before parsing
  (so Python's recursive parser never sees 5,000 levels);
- a number literal longer than 40 characters: refused at its field without converting it
  (int() of 4,300 digits is Python's own limit; converting costs time long before that);
- serial numbers made when an order ships: at most 10,000 per order whatever the quantities
  (a valid order may hold 500 lines of 100,000), shared out between the lines so that a small
  line keeps all of its own (sandbox.domain.serial_shares); a shipped order's JSON stays well
  under 1 MiB. An order stored before these bounds (quantity 2^63-1) ships with that cap and
  a warning in the log.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

ID_MIN, ID_MAX = 1, 2**63 - 1
QUANTITY_MIN, QUANTITY_MAX = 1, 100_000
LINES_MAX = 500
MONEY_MAX_DIGITS, MONEY_PLACES = 12, 2
SEQUENCE_MIN, SEQUENCE_MAX = 0, 2**31 - 1
TASKS_MAX = 100
YEAR_MIN, YEAR_MAX = 1900, 2200

ADDRESS_LINE = 35
NAME = 255
ORDER_NUMBER = 100  # purchase_order, customer_order, end_user_po
CODE = 100  # product_code, ship_account, duties_and_taxes_account, customer_rma_case
COUNTRY_CODE = 10
TEXT = 2000  # notes, an RMA's problem and replacement address
SERIAL = 256  # manufacturer_serial (automation, serial data)
RMA_SERIAL = 50
SHORT_TEXT = 256  # message, metadata, value, replacement name and phone
IP_ADDRESS = 255
DATETIME_TEXT = 64

BODY_MAX = 1024 * 1024
CONTROL_BODY_MAX = 64 * 1024 * 1024
JSON_DEPTH_MAX = 32
NUMBER_TEXT_MAX = 40
SERIALS_PER_ORDER_MAX = 10_000

_DIGITS = re.compile(rf"[0-9]{{1,{NUMBER_TEXT_MAX}}}", re.ASCII)
_DECIMAL = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?", re.ASCII)


class Oversized:
    """What a number literal longer than NUMBER_TEXT_MAX characters parses to: never converted,
    refused by whichever field it appears in (and not JSON-serializable, so never stored)."""

    __slots__ = ("length",)

    def __init__(self, text: str):
        self.length = len(text)

    def __repr__(self) -> str:
        return f"<number of {self.length} characters>"


class BodyError(ValueError):
    """The request body as a whole is refused (422 `{"errors": {"body": [message]}}`)."""


def _parse_int(text: str) -> int | Oversized:
    return Oversized(text) if len(text) > NUMBER_TEXT_MAX else int(text)


def _parse_float(text: str) -> float | Oversized:
    return Oversized(text) if len(text) > NUMBER_TEXT_MAX else float(text)


# Bytes that can be part of a number literal become "0", all others " ": a run of more than
# NUMBER_TEXT_MAX zeros then shows where a literal could be over-long.
_NUMBERISH = bytes(0x30 if c in b"-+.eE0123456789" else 0x20 for c in range(256))
_LONG_NUMBER = b"0" * (NUMBER_TEXT_MAX + 1)
_ESCAPE = re.compile(rb"\\.", re.S)  # a backslash and the character it escapes
_NOT_KEPT = bytes(b for b in range(256) if b not in b'"[]{}')
_BRACKETS = bytes.maketrans(b"{}", b"[]")


def _skeleton(body: bytes) -> bytes:
    """The JSON text's brackets outside its strings, with "{}" written as "[]". All done in C:
    escapes go first (so an escaped quote cannot end a string), then every byte but quotes and
    brackets; what is left between a pair of quotes is inside a string."""
    if b"\\" in body:
        body = _ESCAPE.sub(b"", body)
    return b"".join(body.translate(_BRACKETS, _NOT_KEPT).split(b'"')[::2])


def json_depth(body: bytes) -> int:
    """How deeply the JSON text nests arrays and objects (brackets inside strings do not count).
    Linear in the body and done in C but for one pass over the brackets."""
    skeleton = _skeleton(body)
    return max(0, max(accumulate(1 if c == 0x5B else -1 for c in skeleton), default=0))


def nested_deeper_than(body: bytes, levels: int) -> bool:
    """Whether the JSON text nests arrays and objects more than `levels` deep, in at most
    `levels` passes in C over its brackets (each pass drops the innermost pairs); also true of
    brackets so unbalanced that a parser would go deeper before it failed."""
    if body.count(b"[") + body.count(b"{") <= levels:  # brackets in strings too: an upper bound
        return False
    skeleton = _skeleton(body)
    if skeleton.count(b"[") <= levels:
        return False
    for _ in range(levels):
        skeleton = skeleton.replace(b"[]", b"")
    return b"[" in skeleton


def parse_body(body: bytes, *, limit: int = BODY_MAX) -> Any:
    """The JSON of a request body within the caps, or BodyError. An empty body is None."""
    if len(body) > limit:
        raise BodyError(f"is larger than {limit} bytes")
    if not body.strip():
        return None
    if nested_deeper_than(body, JSON_DEPTH_MAX):
        raise BodyError(f"is nested deeper than {JSON_DEPTH_MAX} levels")
    try:
        if _LONG_NUMBER not in body.translate(_NUMBERISH):  # no over-long literal: the parser alone
            return json.loads(body)
        return json.loads(body, parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError as exc:  # not reachable after the depth scan; kept as a backstop
        raise BodyError(f"is nested deeper than {JSON_DEPTH_MAX} levels") from exc
    except ValueError as exc:  # includes UnicodeDecodeError
        raise BodyError("is not valid JSON") from exc


def whole_number(value: Any) -> int | None:
    """A JSON integer or a string of ASCII digits as an int; None for anything else (bools,
    floats, signs, spaces, other scripts' digits, over-long literals)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def decimal_text(value: Any) -> str | None:
    """The decimal a JSON number or a plain decimal string stands for, as text for Decimal();
    None for bools, non-finite floats, over-long literals and anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if abs(value) < 10**NUMBER_TEXT_MAX else None
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return value
    return None
