"""Attribution: one order's execution becomes per-book fills that add up exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alchemiser.books.attribution import (
    attribute_crosses,
    attribute_fills,
    attribute_order_plan,
    cross_fills,
)
from alchemiser.broker.models import OrderSide
from alchemiser.cycle.models import BookPlan, Cross, OrderResult
from alchemiser.errors import DataError
from alchemiser.ledger.models import FillRecord, FillSource, OrderState
from tests.unit.test_books_netting import DAY, PRICES, RUN, book, net

D = Decimal


def rows(fills: list[FillRecord]) -> list[tuple[str, str, str, Decimal, Decimal, str]]:
    return [(f.fill_id, f.book_id, f.side.value, f.qty, f.price, f.source.value) for f in fills]


def test_a_complete_fill_gives_the_market_share_and_the_crosses_at_the_fill_price() -> None:
    # Given A buying 3 SPY, B selling 2: one order to buy 1
    plan = net(book("a", ("buy", "SPY", "3")), book("b", ("sell", "SPY", "2")))
    (order,) = plan.buy_orders
    # When the order fills 1 at $101
    fills = attribute_fills(order, D(1), D(101), plan.crosses)
    # Then A gets the market share and B's 2 shares, both at $101; B records the sell
    assert rows(fills) == [
        ("cycle-2026-11-20-dev-b-SPY-b:a", "a", "buy", D(1), D(101), "market"),
        ("cycle-2026-11-20-dev:X:SPY:b->a:s", "b", "sell", D(2), D(101), "cross"),
        ("cycle-2026-11-20-dev:X:SPY:b->a:b", "a", "buy", D(2), D(101), "cross"),
    ]
    assert fills[0].client_order_id == order.client_order_id and fills[1].client_order_id is None


def test_a_partial_fill_is_shared_pro_rata_with_the_remainder_to_the_largest() -> None:
    # Given two books buying 6 and 3 whole BRK shares, and 5 of the 9 filled
    plan = net(book("a", ("buy", "BRK", "6")), book("b", ("buy", "BRK", "3")))
    (order,) = plan.buy_orders
    fills = attribute_fills(order, D(5), D(400), plan.crosses)
    # Then 5 x (6, 3) / 9 = (3.33, 1.67) rounds to (3, 1) and the share left goes to a
    assert [(f.book_id, f.qty) for f in fills] == [("a", D(4)), ("b", D(1))]


def test_the_market_share_follows_what_each_book_still_needed_after_crossing() -> None:
    # Given sellers a (6) and b (4), buyer c (5): c crosses 3 from a and 2 from b; sell 5
    plan = net(
        book("a", ("sell", "SPY", "6")),
        book("b", ("sell", "SPY", "4")),
        book("c", ("buy", "SPY", "5")),
    )
    (order,) = plan.sell_orders
    # When 2.5 of the 5 are sold at $99.50
    fills = attribute_fills(order, D("2.5"), D("99.50"), plan.crosses)
    # Then a and b sell half of what each still had to sell (3 and 2), the crosses complete
    market = [(f.book_id, f.qty) for f in fills if f.source is FillSource.MARKET]
    assert market == [("a", D("1.5")), ("b", D("1.0"))]
    crossed = [(f.book_id, f.side, f.qty, f.price) for f in fills if f.source is FillSource.CROSS]
    assert crossed == [
        ("a", OrderSide.SELL, D(3), D("99.50")),
        ("c", OrderSide.BUY, D(3), D("99.50")),
        ("b", OrderSide.SELL, D(2), D("99.50")),
        ("c", OrderSide.BUY, D(2), D("99.50")),
    ]


def test_nothing_filled_still_completes_the_crosses_at_the_reference_price() -> None:
    plan = net(book("a", ("buy", "SPY", "3")), book("b", ("sell", "SPY", "2")))
    (order,) = plan.buy_orders
    fills = attribute_fills(order, D(0), None, plan.crosses)
    assert [(f.book_id, f.qty, f.price, f.source) for f in fills] == [
        ("b", D(2), D(100), FillSource.CROSS),
        ("a", D(2), D(100), FillSource.CROSS),
    ]


def test_a_whole_plan_is_attributed_from_its_order_results() -> None:
    # Given one crossed-out symbol (TLT) and one netted buy (SPY) whose order filled
    plan = net(
        book("a", ("buy", "SPY", "3"), ("sell", "TLT", "4")),
        book("b", ("sell", "SPY", "2"), ("buy", "TLT", "4")),
    )
    (order,) = plan.buy_orders
    result = OrderResult(
        client_order_id=order.client_order_id,
        run_id=RUN,
        phase=order.phase,
        symbol="SPY",
        side=OrderSide.BUY,
        requested_qty=D(1),
        filled_qty=D(1),
        avg_price=D("100.10"),
        state=OrderState.FILLED,
    )
    # When attributed
    fills = attribute_order_plan(plan, [result], PRICES)
    # Then SPY completes at its fill price and TLT's cross at its reference price
    assert {(f.symbol, f.book_id, f.side.value, f.qty, f.price) for f in fills} == {
        ("SPY", "a", "buy", D(1), D("100.10")),
        ("SPY", "b", "sell", D(2), D("100.10")),
        ("SPY", "a", "buy", D(2), D("100.10")),
        ("TLT", "a", "sell", D(4), D(90)),
        ("TLT", "b", "buy", D(4), D(90)),
    }
    assert all(f.trading_date == DAY for f in fills)


def test_impossible_results_and_inconsistent_crosses_are_refused() -> None:
    plan = net(book("a", ("buy", "SPY", "3")), book("b", ("sell", "SPY", "2")))
    (order,) = plan.buy_orders
    with pytest.raises(ValueError, match="filled_qty must be within"):
        attribute_fills(order, D(2), D(100), plan.crosses)
    with pytest.raises(ValueError, match="needs an average price"):
        attribute_fills(order, D(1), None, plan.crosses)
    with pytest.raises(ValueError, match="b crossed 0 of its 2"):
        attribute_fills(order, D(1), D(100), [])
    stray = [*plan.crosses, Cross(symbol="SPY", qty=D(1), seller="z", buyer="a")]
    with pytest.raises(ValueError, match="z crossed 1 without an allocation"):
        attribute_fills(order, D(1), D(100), stray)


def test_a_cross_needs_a_positive_price_and_one_symbol() -> None:
    spy = Cross(symbol="SPY", qty=D(1), seller="a", buyer="b")
    with pytest.raises(ValueError, match="cross price must be > 0"):
        cross_fills(RUN, DAY, [spy], D(0))
    with pytest.raises(ValueError, match="must share a symbol"):
        cross_fills(RUN, DAY, [spy, spy.model_copy(update={"symbol": "TLT"})], D(1))


def test_crosses_without_an_order_complete_at_the_reference_price_or_fail_closed() -> None:
    # Given two books whose TLT trades cancel out
    plan = net(book("a", ("sell", "TLT", "4")), book("b", ("buy", "TLT", "4")))
    # When attributed at the reference prices / Then both sides fill at $90
    fills = attribute_crosses(RUN, DAY, plan.crosses, PRICES)
    assert [(f.book_id, f.side.value, f.qty, f.price) for f in fills] == [
        ("a", "sell", D(4), D(90)),
        ("b", "buy", D(4), D(90)),
    ]
    # And without a reference price nothing is recorded
    with pytest.raises(DataError, match=r"missing \['TLT'\]"):
        attribute_crosses(RUN, DAY, plan.crosses, {})


# -- properties -------------------------------------------------------------------------


@st.composite
def executions(draw: st.DrawFn) -> tuple[list[BookPlan], int]:
    fractional = draw(st.booleans())
    symbol = "SPY" if fractional else "BRK"
    places = 9 if fractional else 0
    side = draw(st.sampled_from(["buy", "sell"]))
    other = "sell" if side == "buy" else "buy"
    plans = []
    for index, book_id in enumerate(
        draw(st.lists(st.sampled_from("abcdefg"), unique=True, min_size=1))
    ):
        qty = D(draw(st.integers(1, 10**7))).scaleb(-draw(st.integers(0, places)))
        plans.append(book(book_id, (side if index % 3 else other, symbol, str(qty))))
    return plans, draw(st.integers(0, 10**6))


@settings(max_examples=300, deadline=None)
@given(executions())
def test_attribution_conserves_quantity_exactly(execution: tuple[list[BookPlan], int]) -> None:
    # Given a netted order and any partial fill of it
    plans, per_million = execution
    plan = net(*plans)
    orders = plan.sell_orders + plan.buy_orders
    assume(orders)  # when everything crossed nothing goes to the market
    (order,) = orders
    places = 9 if order.fractionable else 0
    filled = (order.qty * per_million / 10**6).quantize(D(1).scaleb(-places), rounding="ROUND_DOWN")
    # When attributed
    fills = attribute_fills(order, filled, order.ref_price, plan.crosses)
    market = [f for f in fills if f.source is FillSource.MARKET]
    # Then the books' market quantities add up exactly to the fill, on the order's side,
    assert sum((f.qty for f in market), D(0)) == filled
    assert all(f.side is order.side for f in market)
    # never more than a book asked for, at the asset's precision
    asked = {a.book_id: a.qty for a in order.allocations if a.side is order.side}
    crossed: dict[str, Decimal] = {}
    for c in plan.crosses:
        book_id = c.buyer if order.side is OrderSide.BUY else c.seller
        crossed[book_id] = crossed.get(book_id, D(0)) + c.qty
    for f in market:
        assert f.qty <= asked[f.book_id] - crossed.get(f.book_id, D(0))
        assert f.qty == f.qty.quantize(D(1).scaleb(-places))
    # and each cross yields one sell and one buy of equal quantity
    cross = [f for f in fills if f.source is FillSource.CROSS]
    assert sum((f.qty for f in cross if f.side is OrderSide.BUY), D(0)) == sum(
        (f.qty for f in cross if f.side is OrderSide.SELL), D(0)
    )
    assert len({f.fill_id for f in fills}) == len(fills)
