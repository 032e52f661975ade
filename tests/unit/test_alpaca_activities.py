"""Alpaca's account activities, read by the adapter from recorded pages in the documented shape.

The pages (tests/fixtures/alpaca/activities_*.json) follow Alpaca's NonTradeActivity
object: ``activity_type``, ``id`` (``<time>::<uuid>``), ``date``, ``net_amount`` and, for
a dividend, ``symbol``, ``qty`` and ``per_share_amount``, every number a string. Every
HTTP exchange is answered by ``responses``; nothing talks to Alpaca.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

from alchemiser.broker.alpaca import AlpacaBroker
from alchemiser.broker.alpaca_activities import parse_activity, read_activities
from alchemiser.broker.errors import BrokerError, TransientBrokerError
from alchemiser.broker.models import CashActivityKind

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca"
ACTIVITIES = "https://paper-api.alpaca.markets/v2/account/activities"
SINCE = date(2024, 3, 1)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def deposits(count: int) -> list[dict[str, str]]:
    """Return ``count`` cash deposits of $10 in the documented shape, oldest first."""
    return [
        {
            "activity_type": "CSD",
            "id": f"2024030{1 + n // 50}0000000{n:02d}::{uuid.UUID(int=n + 1)}",
            "date": f"2024-03-0{1 + n // 50}",
            "net_amount": "10",
            "status": "executed",
        }
        for n in range(count)
    ]


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def broker() -> AlpacaBroker:
    return AlpacaBroker("test-key", "test-secret", timeout_s=5, sleep=lambda _s: None)


def queries(http: responses.RequestsMock) -> list[dict[str, str]]:
    return [dict(parse_qsl(urlsplit(str(c.request.url)).query)) for c in http.calls]


def test_every_page_is_read_in_order_with_the_documented_query(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    # Given a full first page (100, Alpaca's maximum) and a last page of five
    first = deposits(100)
    http.get(ACTIVITIES, json=first)
    http.get(ACTIVITIES, json=fixture("activities_page_last"))
    # When the adapter reads the activities since 2024-03-01
    found = broker.cash_activities(SINCE)
    # Then it asked for the non-trade activities after the day before, oldest first,
    # and for the second page from the last id of the first
    first_query, second_query = queries(http)
    assert first_query == {
        "category": "non_trade_activity",
        "after": "2024-02-29",
        "direction": "asc",
        "page_size": "100",
    }
    assert second_query == first_query | {"page_token": first[-1]["id"]}
    assert len(found) == 105 and found[0].id == first[0]["id"]
    assert sum((a.amount for a in found[:100]), Decimal(0)) == Decimal(1000)


def test_the_documented_types_map_to_kinds_with_exact_money(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(ACTIVITIES, json=fixture("activities_page_last"))
    div, nra, fee, interest, withdrawal = broker.cash_activities(SINCE)
    assert (div.kind, div.amount, div.symbol, div.qty, div.per_share, div.day) == (
        CashActivityKind.DIVIDEND,
        Decimal("1.02"),
        "T",
        Decimal(2),
        Decimal("0.51"),
        date(2024, 3, 18),
    )
    assert (nra.kind, nra.amount, nra.broker_type) == (
        CashActivityKind.DIVIDEND,
        Decimal("-0.15"),
        "DIVNRA",
    )
    assert (fee.kind, fee.amount) == (CashActivityKind.FEE, Decimal("-0.02"))
    assert (interest.kind, interest.amount) == (CashActivityKind.INTEREST, Decimal("0.37"))
    assert (withdrawal.kind, withdrawal.amount) == (CashActivityKind.WITHDRAWAL, Decimal(-500))
    assert all(isinstance(a.amount, Decimal) for a in (div, nra, fee, interest, withdrawal))


def test_an_unknown_type_is_kept_as_other_and_no_cash_or_canceled_ones_are_skipped(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(ACTIVITIES, json=fixture("activities_unknown_types"))
    found = broker.cash_activities(SINCE)
    # CSD credited; REORG's cash kept as OTHER; the split (no cash) and the canceled
    # deposit are not cash moves
    assert [(a.broker_type, a.kind, a.amount) for a in found] == [
        ("CSD", CashActivityKind.DEPOSIT, Decimal(1000)),
        ("REORG", CashActivityKind.OTHER, Decimal("12.50")),
    ]


def test_an_http_error_on_a_later_page_fails_the_read_after_bounded_retries(
    http: responses.RequestsMock, broker: AlpacaBroker
) -> None:
    http.get(ACTIVITIES, json=deposits(100))
    for _ in range(3):  # the adapter's read_attempts
        http.get(ACTIVITIES, status=500, json=fixture("error_server"))
    with pytest.raises(TransientBrokerError, match=r"read account activities.*HTTP 500"):
        broker.cash_activities(SINCE)
    assert len(http.calls) == 4


def test_a_refused_read_is_not_retried(http: responses.RequestsMock, broker: AlpacaBroker) -> None:
    http.get(ACTIVITIES, status=403, json={"code": 40310000, "message": "forbidden"})
    with pytest.raises(BrokerError, match="HTTP 403") as caught:
        broker.cash_activities(SINCE)
    assert not isinstance(caught.value, TransientBrokerError) and len(http.calls) == 1


def test_more_pages_than_the_cap_fail_closed() -> None:
    pages = iter([deposits(2)[:2], deposits(4)[2:4], deposits(6)[4:6]])

    def full_page(_query: dict[str, str]) -> object:
        return next(pages)

    with pytest.raises(BrokerError, match="more than 2 pages of 2"):
        read_activities(full_page, SINCE, page_size=2, max_pages=2)


def test_a_page_alpaca_repeats_fails_instead_of_looping() -> None:
    page = deposits(2)
    with pytest.raises(BrokerError, match="repeated page"):
        read_activities(lambda _q: page, SINCE, page_size=2, max_pages=5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"net_amount": None}, "no net_amount"),
        ({"net_amount": "1.005"}, "not in whole cents"),
        ({"net_amount": "NaN"}, "not a finite number"),
        ({"net_amount": "one"}, "is not a number"),
        ({"date": "18/03/2024"}, "is not a YYYY-MM-DD date"),
        ({"symbol": None}, "without its symbol"),
        ({"status": "pending"}, "unexpected status"),
        ({"qty": [2]}, "qty .* is not a number"),
    ],
)
def test_a_malformed_activity_fails_closed_naming_its_id(
    change: dict[str, Any], message: str
) -> None:
    raw = fixture("activities_page_last")[0] | change
    with pytest.raises(BrokerError, match=message) as caught:
        parse_activity(raw)
    assert raw["id"] in str(caught.value)


def test_a_page_that_is_not_an_array_fails() -> None:
    with pytest.raises(BrokerError, match="expected a JSON array, got dict"):
        read_activities(lambda _q: {"message": "?"}, SINCE)


def test_a_timeout_is_transient(http: responses.RequestsMock, broker: AlpacaBroker) -> None:
    for _ in range(3):
        http.get(ACTIVITIES, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(TransientBrokerError, match="no answer from Alpaca"):
        broker.cash_activities(SINCE)


def test_without_a_start_the_last_31_days_of_the_adapters_clock_are_read(
    http: responses.RequestsMock,
) -> None:
    noon = datetime(2024, 4, 1, 12, tzinfo=UTC).timestamp()
    broker = AlpacaBroker("k", "s", timeout_s=5, sleep=lambda _s: None, wall=lambda: noon)
    http.get(ACTIVITIES, json=[])
    assert broker.cash_activities() == []
    assert queries(http)[0]["after"] == "2024-02-29"  # 31 days before April 1st, exclusive
