"""The bounds of every number and text that enters the portal, defined once.

The upstream's own types are the outer limit (an id fits 63 bits); inside them, the portal's
columns and what an order can sensibly hold. The order form and the CSV upload (through the
same forms), the model fields, the webhook's schema and the payload records (and so the mirror
mapper) all take their bounds from here; a value outside is a field error or a refused payload,
never a 500 or a truncated number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

MAX_ID = 2**63 - 1  # the upstream's ids are 64-bit signed integers
MAX_INT = 2**63 - 1  # any integer column (BigIntegerField)
MIN_INT = -(2**63)


N = TypeVar("N", int, Decimal)


@dataclass(frozen=True)
class Range(Generic[N]):
    low: N
    high: N

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | Decimal) and self.low <= value <= self.high

    def message(self, what: str = "Ensure this value") -> str:
        return f"{what} is between {self.low:,} and {self.high:,}."


# An order line.
QUANTITY: Range[int] = Range(1, 100_000)  # units of one product on one line
LINES_PER_ORDER = 500
# Money: 12 digits, 2 of them decimals (what the portal's money columns hold).
MONEY_DIGITS = 12
MONEY_PLACES = 2
MONEY: Range[Decimal] = Range(Decimal("0"), Decimal("9999999999.99"))
# An invoice's total: as money, but it may credit (a negative total).
INVOICE_TOTAL: Range[Decimal] = Range(-MONEY.high, MONEY.high)
# Stock (an inventory record): quantities, levels and unit costs, as the mirror's columns hold
# them (the vendor's "decimal (9)": 18 digits, 4 of them decimals); a lead time in days.
STOCK_DIGITS = 18
STOCK_PLACES = 4
LEAD_TIME_DAYS: Range[int] = Range(0, 3650)
# Dates and timestamps a record may carry.
YEARS: Range[int] = Range(1900, 2200)
# Texts, by what they are.
ORDER_NUMBER = 100  # customer_order, purchase_order
ADDRESS_LINE = 35  # the vendor's limit for address_1..3
NAME = 255
CODE = 100  # product codes, accounts
COUNTRY_CODE = 10
NOTES = 2000
RMA_SERIAL = 50  # manufacturer_serial of a new RMA (the vendor's string(50))
SHORT_TEXT = 256  # an RMA's replacement name and phone (string(256))
# Automation (Forge): a queue's serial, its tasks, an action's message, a serial datum's texts.
AUTOMATION_SERIAL = 256  # manufacturer_serial of a queue, a task action or a serial datum (string(256))
IP_ADDRESS = 45  # an IPv4 or IPv6 address as text (the longest IPv6 form: 45 characters)
TASK_SEQUENCE: Range[int] = Range(0, 2**31 - 1)  # the vendor's `int` column
TASKS_PER_QUEUE = 100
TASK_MESSAGE = 256  # an action's message (string(256))
SERIAL_DATA_TEXT = 256  # a serial datum's metadata and value (string(256))
# How long a task may run before the board calls it stuck: a manager's limit per task type.
STUCK_MINUTES: Range[int] = Range(1, 30 * 24 * 60)
# A decimal or integer written as text is refused beyond this many characters before parsing:
# int("1" * 10**6) or Decimal("1e1000000") cost seconds of CPU.
NUMBER_TEXT = 40
DATETIME_TEXT = 64
DECIMAL_EXPONENT = 30  # a decimal beyond 10^±30 fits no column

# What an inbound JSON body (a webhook) may be, checked before and while parsing.
JSON_BYTES = 1024 * 1024
JSON_DEPTH = 32


def year_ok(value: date | datetime) -> bool:
    return YEARS.low <= value.year <= YEARS.high


def clamp_datetime(value: datetime) -> datetime | None:
    """A timestamp within YEARS, in UTC; None outside (or where an offset pushes it outside)."""
    try:
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return value if year_ok(value) else None
