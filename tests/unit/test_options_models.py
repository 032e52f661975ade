"""OCC symbols and option order requests: what is accepted and what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from alchemiser.broker.models import OrderSide, OrderStatus
from alchemiser.broker.options_models import (
    OptionLeg,
    OptionLegFill,
    OptionOrder,
    OptionOrderRequest,
    OptionRight,
    PositionIntent,
    occ_symbol,
    parse_occ,
)


def test_an_occ_symbol_round_trips_with_its_parts() -> None:
    symbol = occ_symbol("QQQ", date(2026, 9, 18), OptionRight.PUT, Decimal("440"))
    assert symbol == "QQQ260918P00440000"
    parts = parse_occ(symbol)
    assert (parts.underlying, parts.expiry, parts.right, parts.strike) == (
        "QQQ",
        date(2026, 9, 18),
        OptionRight.PUT,
        Decimal("440"),
    )
    assert parse_occ("SPY251219C00612500").strike == Decimal("612.5")


@pytest.mark.parametrize(
    "bad", ["QQQ", "QQQ 260918P00440000", "qqq260918P00440000", "QQQ260918X00440000"]
)
def test_a_malformed_occ_symbol_is_refused_with_an_example(bad: str) -> None:
    with pytest.raises(ValueError, match="QQQ260918P00440000"):
        parse_occ(bad)


def test_a_strike_finer_than_a_tenth_of_a_cent_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="strike"):
        occ_symbol("QQQ", date(2026, 9, 18), OptionRight.PUT, Decimal("440.0001"))


def leg(symbol: str, intent: PositionIntent, ratio: int = 1) -> OptionLeg:
    return OptionLeg(symbol=symbol, intent=intent, ratio=ratio)


def test_single_leg_requests_need_a_positive_limit_and_ratio_one() -> None:
    long = leg("QQQ260918P00440000", PositionIntent.BUY_TO_OPEN)
    with pytest.raises(ValidationError, match="limit price must be > 0"):
        OptionOrderRequest(client_order_id="x", legs=(long,), qty=1, limit_price=Decimal(0))
    with pytest.raises(ValidationError, match="ratio 1"):
        OptionOrderRequest(
            client_order_id="x",
            legs=(leg("QQQ260918P00440000", PositionIntent.BUY_TO_OPEN, 2),),
            qty=1,
            limit_price=Decimal(1),
        )


def test_a_multi_leg_request_may_carry_a_net_credit_but_not_the_same_contract_twice() -> None:
    long = leg("QQQ260918P00440000", PositionIntent.SELL_TO_CLOSE)
    short = leg("QQQ260918P00400000", PositionIntent.BUY_TO_CLOSE)
    credit = OptionOrderRequest(
        client_order_id="x", legs=(long, short), qty=2, limit_price=Decimal("-1.25")
    )
    assert credit.multi_leg
    with pytest.raises(ValidationError, match="distinct"):
        OptionOrderRequest(client_order_id="x", legs=(long, long), qty=1, limit_price=Decimal(1))
    with pytest.raises(ValidationError):
        OptionOrderRequest(client_order_id="x", legs=(long, short), qty=0, limit_price=Decimal(1))


def test_an_order_matches_its_request_by_legs_quantity_and_limit() -> None:
    legs = (
        leg("QQQ260918P00440000", PositionIntent.BUY_TO_OPEN),
        leg("QQQ260918P00400000", PositionIntent.SELL_TO_OPEN),
    )
    request = OptionOrderRequest(client_order_id="x", legs=legs, qty=3, limit_price=Decimal("2.10"))
    now = datetime(2026, 7, 1, tzinfo=UTC)
    order = OptionOrder(
        id="1",
        client_order_id="x",
        legs=tuple(
            OptionLegFill(symbol=leg.symbol, side=leg.side, ratio=1, filled_qty=0)
            for leg in reversed(legs)
        ),
        qty=3,
        limit_price=Decimal("2.10"),
        status=OrderStatus.NEW,
        submitted_at=now,
        updated_at=now,
    )
    assert order.matches(request)
    assert not order.matches(request.model_copy(update={"qty": 2}))
    assert order.legs[0].side is OrderSide.SELL
