"""Alpaca's account activities: the account's non-trade cash moves, read page by page.

alpaca-py's ``TradingClient`` has no call for them (only its Broker API client does,
for other accounts, with money as float), so the adapter sends the documented
``GET /v2/account/activities`` through its own one-attempt, rate-limited client:
``category=non_trade_activity``, ``after`` a day, ``direction=asc``, ``page_size`` 100
(Alpaca's maximum) and ``page_token`` = the id of the last activity of the page before.
Every page is read, up to ``max_pages``; past that the read fails with a clear error
(the cycle then stops before any order).

Each activity (documented fields: ``id``, ``activity_type``, ``date``, ``net_amount``,
``symbol``, ``qty``, ``per_share_amount``, ``status``; numbers as strings) becomes a
``CashActivity`` with its money as ``Decimal``; its id is the idempotency key (the cycle
credits each id once). Alpaca's types map to kinds:

* ``CSD``, ``CSW``, ``JNLC``, ``ACATC`` (cash in or out of the account): a deposit when
  the amount is positive, else a withdrawal;
* ``DIV`` and its variants (``DIVCGL``, ``DIVCGS``, ``DIVROC``, ``DIVTXEX``) and the
  dividend adjustments (``DIVNRA``, ``DIVFT``, ``DIVTW``, ``DIVWH``): a dividend of its
  symbol (an adjustment is a negative one);
* ``FEE``, ``CFEE``, ``PTC``, ``PTR``, ``DIVFEE``: a fee (a rebate is a positive one);
* ``INT``, ``INTNRA``, ``INTTW``: interest.

Any other type that moves cash is kept as ``OTHER``: not an error, not credited to
anyone, named in the run's warnings and left in the "unexplained" line. An activity
that moves no cash (a split, a name change) or that Alpaca marks ``canceled`` is
skipped. A malformed activity (a missing id, date or amount, an amount that is not a
number in whole cents, a dividend without its symbol) fails the read with its id and
what was wrong: nothing is credited from a page the adapter does not understand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import CashActivity, CashActivityKind
from alchemiser.money import CENT

ACTIVITIES_PATH = "/account/activities"
PAGE_SIZE = 100  # Alpaca's maximum when no single date is asked for
MAX_PAGES = 20
FLOWS = frozenset({"CSD", "CSW", "JNLC", "ACATC"})
KINDS: Mapping[str, CashActivityKind] = {
    **dict.fromkeys(
        ("DIV", "DIVCGL", "DIVCGS", "DIVROC", "DIVTXEX", "DIVNRA", "DIVFT", "DIVTW", "DIVWH"),
        CashActivityKind.DIVIDEND,
    ),
    **dict.fromkeys(("FEE", "CFEE", "PTC", "PTR", "DIVFEE"), CashActivityKind.FEE),
    **dict.fromkeys(("INT", "INTNRA", "INTTW"), CashActivityKind.INTEREST),
}
TRADE = "FILL"
STATUSES = frozenset({"executed", "correct", "canceled"})

PageReader = Callable[[dict[str, str]], object]


def read_activities(
    get_page: PageReader, since: date, *, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES
) -> list[CashActivity]:
    """Return the account's non-trade cash moves dated ``since`` or later, oldest first.

    ``get_page`` sends one GET with the given query and returns the decoded JSON.
    """
    query = {
        "category": "non_trade_activity",
        "after": (since - timedelta(days=1)).isoformat(),
        "direction": "asc",
        "page_size": str(page_size),
    }
    found: list[CashActivity] = []
    token: str | None = None
    for number in range(1, max_pages + 1):
        page = get_page(query if token is None else {**query, "page_token": token})
        if not isinstance(page, list):
            raise BrokerError(
                f"account activities page {number}: expected a JSON array, got "
                f"{type(page).__name__}"
            )
        found += [a for a in (parse_activity(raw) for raw in page) if a is not None]
        if len(page) < page_size:
            return found
        last = _text(page[-1], "id")
        if last == token:
            raise BrokerError(f"account activities page {number}: Alpaca repeated page {last!r}")
        token = last
    raise BrokerError(
        f"account activities since {since}: more than {max_pages} pages of {page_size}; "
        "refusing to guess the rest (read them, or raise the page cap)"
    )


def parse_activity(raw: object) -> CashActivity | None:
    """Return one documented activity as a ``CashActivity`` (None: it moves no cash)."""
    if not isinstance(raw, dict):
        raise BrokerError(f"account activity: expected a JSON object, got {raw!r:.120}")
    ident = _text(raw, "id")
    kind_code = _text(raw, "activity_type", ident)
    if kind_code == TRADE:
        return None  # a fill: explained by the trades themselves
    status = raw.get("status")
    if status is not None and status not in STATUSES:
        raise BrokerError(f"account activity {ident}: unexpected status {status!r}")
    amount = _money(raw, ident)
    if amount == 0 or status == "canceled":
        return None
    kind = KINDS.get(kind_code)
    if kind_code in FLOWS:
        kind = CashActivityKind.DEPOSIT if amount > 0 else CashActivityKind.WITHDRAWAL
    symbol = raw.get("symbol") or ""
    if kind is CashActivityKind.DIVIDEND and not (isinstance(symbol, str) and symbol):
        raise BrokerError(f"account activity {ident}: a {kind_code} dividend without its symbol")
    return CashActivity(
        id=ident,
        day=_day(raw, ident),
        kind=kind or CashActivityKind.OTHER,
        amount=amount,
        symbol=str(symbol),
        qty=_number(raw, "qty", ident),
        per_share=_number(raw, "per_share_amount", ident),
        broker_type=kind_code,
    )


def _text(raw: Mapping[str, Any], field: str, ident: str = "") -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value:
        who = f"account activity {ident}" if ident else "account activity"
        raise BrokerError(f"{who}: expected a non-empty string {field!r}, got {value!r}")
    return value


def _day(raw: Mapping[str, Any], ident: str) -> date:
    value = _text(raw, "date", ident)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise BrokerError(
            f"account activity {ident}: date {value!r} is not a YYYY-MM-DD date or a timestamp"
        ) from None


def _number(raw: Mapping[str, Any], field: str, ident: str) -> Decimal | None:
    value = raw.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BrokerError(f"account activity {ident}: {field} {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BrokerError(f"account activity {ident}: {field} {value!r} is not a number") from None
    if not number.is_finite():
        raise BrokerError(f"account activity {ident}: {field} {value!r} is not a finite number")
    return number


def _money(raw: Mapping[str, Any], ident: str) -> Decimal:
    amount = _number(raw, "net_amount", ident)
    if amount is None:
        raise BrokerError(f"account activity {ident}: no net_amount")
    if amount != amount.quantize(CENT):
        raise BrokerError(
            f"account activity {ident}: net_amount {amount} is not in whole cents; the books "
            "keep cash to the cent"
        )
    return amount.quantize(CENT)
