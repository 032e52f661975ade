"""Netting: one broker order per symbol, every book's intended trade kept, crosses recorded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.books.attribution import attribute_fills, attribute_order_plan
from alchemiser.books.client_ids import client_order_id, step_client_order_id
from alchemiser.books.netting import net_book_trades, reference_prices, split_pro_rata
from alchemiser.books.planning import trade_notional
from alchemiser.broker.models import AssetInfo, OrderSide
from alchemiser.cycle.models import BookPlan, BookStatus, BookTrade, Cross, OrderPlan
from alchemiser.errors import DataError
from alchemiser.ledger.models import OrderPhase

D = Decimal
RUN = "cycle-2026-11-20-dev"
DAY = date(2026, 11, 20)
PRICES = {"SPY": D(100), "TLT": D(90), "BRK": D(400), "GLD": D(200)}
ASSETS = {
    "SPY": AssetInfo(symbol="SPY", tradable=True, fractionable=True, qty_places=9),
    "TLT": AssetInfo(symbol="TLT", tradable=True, fractionable=True, qty_places=9),
    "GLD": AssetInfo(symbol="GLD", tradable=True, fractionable=True, qty_places=9),
    "BRK": AssetInfo(symbol="BRK", tradable=True, fractionable=False, qty_places=0),
}


def book(
    book_id: str,
    *trades: tuple[str, str, str],
    status: BookStatus = BookStatus.PLANNED,
    run_id: str = RUN,
    exit_: bool = False,
) -> BookPlan:
    """A plan of ``(side, symbol, qty)`` trades at the reference prices."""
    return BookPlan(
        run_id=run_id,
        book_id=book_id,
        strategy=f"{book_id}.clj",
        status=status,
        trades=[
            BookTrade(
                book_id=book_id,
                symbol=symbol,
                side=OrderSide(side),
                qty=D(qty),
                price=PRICES[symbol],
                notional=trade_notional(D(qty), PRICES[symbol]),
                exit=exit_ and side == "sell",
            )
            for side, symbol, qty in trades
        ],
    )


def net(*plans: BookPlan, blocked_reason: str = "") -> OrderPlan:
    return net_book_trades(RUN, DAY, list(plans), ASSETS, PRICES, blocked_reason=blocked_reason)


def test_a_buy_and_a_sell_in_two_books_become_one_smaller_order() -> None:
    # Given book A buying $300 of SPY and book B selling $200
    plan = net(book("a", ("buy", "SPY", "3")), book("b", ("sell", "SPY", "2")))
    # When netted / Then one $100 buy goes to the broker, in the BUY phase
    assert plan.sell_orders == []
    (order,) = plan.buy_orders
    assert (order.symbol, order.side, order.qty, order.phase) == (
        "SPY",
        OrderSide.BUY,
        D(1),
        OrderPhase.BUY,
    )
    assert order.client_order_id == "cycle-2026-11-20-dev-b-SPY-b"
    # And both books' intended trades stay on it, with B's 2 shares passed to A
    assert [(a.book_id, a.side, a.qty) for a in order.allocations] == [
        ("a", OrderSide.BUY, D(3)),
        ("b", OrderSide.SELL, D(2)),
    ]
    assert plan.crosses == [Cross(symbol="SPY", qty=D(2), seller="b", buyer="a")]
    # And the summary counts 2 book trades, 1 order and $400 not sent to the market
    assert (plan.netting.book_trades, plan.netting.orders, plan.netting.notional_saved) == (
        2,
        1,
        D("400.00"),
    )


def test_trades_that_cancel_out_send_no_order_and_cross_everything() -> None:
    plan = net(book("a", ("buy", "SPY", "2.5")), book("b", ("sell", "SPY", "2.5")))
    assert plan.sell_orders == plan.buy_orders == []
    assert plan.crosses == [Cross(symbol="SPY", qty=D("2.5"), seller="b", buyer="a")]
    assert plan.netting.notional_saved == D("500.00")


def test_orders_split_into_a_sell_phase_and_a_buy_phase_sorted_by_symbol() -> None:
    plan = net(
        book("a", ("sell", "TLT", "5"), ("buy", "SPY", "1")),
        book("b", ("sell", "GLD", "1"), ("buy", "BRK", "2")),
    )
    assert [(o.symbol, o.side) for o in plan.sell_orders] == [
        ("GLD", OrderSide.SELL),
        ("TLT", OrderSide.SELL),
    ]
    assert [(o.symbol, o.side) for o in plan.buy_orders] == [
        ("BRK", OrderSide.BUY),
        ("SPY", OrderSide.BUY),
    ]
    assert plan.crosses == [] and plan.netting.notional_saved == D(0)


def test_the_smaller_side_is_crossed_pro_rata_over_the_larger_side() -> None:
    # Given sellers a (6) and b (4) and one buyer c (5)
    plan = net(
        book("a", ("sell", "SPY", "6")),
        book("b", ("sell", "SPY", "4")),
        book("c", ("buy", "SPY", "5")),
    )
    # Then c's 5 come 3 from a and 2 from b, and the market sells the other 5
    assert plan.crosses == [
        Cross(symbol="SPY", qty=D(3), seller="a", buyer="c"),
        Cross(symbol="SPY", qty=D(2), seller="b", buyer="c"),
    ]
    assert [(o.side, o.qty) for o in plan.sell_orders] == [(OrderSide.SELL, D(5))]


def test_held_and_failed_books_contribute_nothing() -> None:
    plan = net(
        book("a", ("buy", "SPY", "3")),
        book("b", ("sell", "SPY", "3"), status=BookStatus.HELD),
        book("c", ("sell", "SPY", "3"), status=BookStatus.FAILED),
    )
    assert [(o.side, o.qty) for o in plan.buy_orders] == [(OrderSide.BUY, D(3))]
    assert plan.crosses == [] and plan.netting.book_trades == 1


def test_a_fractional_net_of_a_whole_share_asset_rounds_down_and_says_what_stays() -> None:
    # Given a book exiting 2.5 BRK (a leftover fraction) and nobody buying
    plan = net(book("a", ("sell", "BRK", "2.5"), exit_=True))
    # Then 2 whole shares are sold and the 0.5 left is reported
    assert [o.qty for o in plan.sell_orders] == [D(2)]
    assert plan.warnings == [
        "BRK: net sell of 2.5 rounded down to 2 (whole shares); 0.5 stays untraded for books a"
    ]


def test_a_net_that_rounds_to_zero_sends_no_order_crosses_the_rest_and_warns() -> None:
    plan = net(book("a", ("sell", "BRK", "1.5"), exit_=True), book("b", ("buy", "BRK", "1")))
    assert plan.sell_orders == plan.buy_orders == []
    assert plan.crosses == [Cross(symbol="BRK", qty=D(1), seller="a", buyer="b")]
    assert plan.warnings == [
        "BRK: net sell of 0.5 rounds to 0 whole shares: no order; 0.5 stays untraded for books a"
    ]


def test_a_blocked_run_plans_no_orders_and_no_crosses() -> None:
    plan = net(
        book("a", ("buy", "SPY", "3")),
        book("b", ("sell", "SPY", "2")),
        blocked_reason="kill switch on",
    )
    assert (plan.sell_orders, plan.buy_orders, plan.crosses) == ([], [], [])
    assert plan.blocked_reason == "kill switch on" and plan.netting.book_trades == 2


def test_a_traded_symbol_without_a_price_or_asset_details_fails_closed() -> None:
    with pytest.raises(DataError, match=r"missing prices for \['SPY'\]"):
        net_book_trades(RUN, DAY, [book("a", ("buy", "SPY", "1"))], ASSETS, {}, blocked_reason="")
    with pytest.raises(DataError, match=r"asset details for \['SPY'\]"):
        net_book_trades(RUN, DAY, [book("a", ("buy", "SPY", "1"))], {}, PRICES)


def test_inconsistent_plans_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicates \\['a'\\]"):
        net(book("a", ("buy", "SPY", "1")), book("a", ("buy", "TLT", "1")))
    with pytest.raises(ValueError, match="found runs \\['other'\\]"):
        net(book("a", ("buy", "SPY", "1"), run_id="other"))
    with pytest.raises(ValueError, match="one trade per book and symbol"):
        net(book("a", ("buy", "SPY", "1"), ("sell", "SPY", "1")))


def test_reference_prices_come_from_the_plans_and_books_must_agree() -> None:
    assert reference_prices([book("a", ("buy", "SPY", "1")), book("b", ("sell", "TLT", "1"))]) == {
        "SPY": D(100),
        "TLT": D(90),
    }
    other = book("b", ("sell", "SPY", "1"))
    other = other.model_copy(
        update={"trades": [other.trades[0].model_copy(update={"price": D(101)})]}
    )
    with pytest.raises(DataError, match="one reference price"):
        reference_prices([book("a", ("buy", "SPY", "1")), other])


def test_split_pro_rata_gives_the_remainder_to_the_largest_without_passing_any_cap() -> None:
    assert split_pro_rata(D(2), {"a": D(1), "b": D(1), "c": D(1)}, 0) == {
        "a": D(1),
        "b": D(1),
        "c": D(0),
    }
    assert split_pro_rata(D(10), {"a": D(6), "b": D(3), "c": D(1)}, 0) == {
        "a": D(6),
        "b": D(3),
        "c": D(1),
    }
    # 5 x (6, 3, 1) / 10 = (3, 1.5, 0.5) rounds down to (3, 1, 0); the 1 left goes to a
    assert split_pro_rata(D(5), {"a": D(6), "b": D(3), "c": D(1)}, 0) == {
        "a": D(4),
        "b": D(1),
        "c": D(0),
    }
    with pytest.raises(ValueError, match="total <= sum of caps"):
        split_pro_rata(D(11), {"a": D(10)}, 0)


# -- client order ids ------------------------------------------------------------------


def test_a_client_order_id_is_readable_when_it_fits() -> None:
    assert (
        client_order_id(RUN, OrderPhase.SELL, "BRK.B", OrderSide.SELL)
        == "cycle-2026-11-20-dev-s-BRK.B-s"
    )


def test_a_long_run_id_is_shortened_keeping_date_and_symbol_deterministically() -> None:
    run = "cycle-2026-11-20-prod-redrive-attempt-with-a-very-long-suffix"
    cid = client_order_id(run, OrderPhase.BUY, "TQQQ", OrderSide.BUY)
    assert len(cid) <= 48 and cid.startswith("2026-11-20-b-TQQQ-b-")
    assert cid == client_order_id(run, OrderPhase.BUY, "TQQQ", OrderSide.BUY)
    assert cid != client_order_id(run + "x", OrderPhase.BUY, "TQQQ", OrderSide.BUY)


@pytest.mark.parametrize("run", [RUN, "cycle-2026-11-20-" + "x" * 60, "no-date-" + "y" * 70])
def test_client_order_ids_are_unique_across_phases_sides_and_symbols(run: str) -> None:
    symbols = ["SPY", "SPYG", "SPY.A", "BRK-B", "ABCDEFGHIJKLMNOP"]
    ids = [
        client_order_id(run, phase, symbol, side)
        for phase in OrderPhase
        for side in OrderSide
        for symbol in symbols
    ]
    assert len(set(ids)) == len(ids) and all(len(i) <= 48 for i in ids)
    steps = [step_client_order_id(i, s) for i in ids for s in range(4)]
    assert len(set(steps) | set(ids)) == len(steps) + len(ids)
    assert all(len(s) <= 48 for s in steps)
    assert steps == [step_client_order_id(i, s) for i in ids for s in range(4)]


def test_a_step_id_of_a_full_length_base_keeps_its_head_and_a_hash() -> None:
    base = "a" * 48
    step = step_client_order_id(base, 12)
    assert len(step) == 48 and step.startswith("a" * 34 + "~") and step.endswith(".12")
    with pytest.raises(ValueError, match="step must be in"):
        step_client_order_id(base, -1)


def test_an_unusable_symbol_or_run_id_is_refused() -> None:
    with pytest.raises(ValueError, match="symbol must be 1-16"):
        client_order_id(RUN, OrderPhase.BUY, "X" * 17, OrderSide.BUY)
    with pytest.raises(ValueError, match="run_id must be non-empty"):
        client_order_id("", OrderPhase.BUY, "SPY", OrderSide.BUY)


# -- properties -------------------------------------------------------------------------

BOOKS = ["a", "b", "c", "d"]


@st.composite
def book_trades(draw: st.DrawFn) -> list[BookPlan]:
    plans = []
    for book_id in draw(st.lists(st.sampled_from(BOOKS), unique=True, min_size=1)):
        symbols = draw(st.lists(st.sampled_from(sorted(PRICES)), unique=True))
        trades = []
        for symbol in symbols:
            places = ASSETS[symbol].qty_places if ASSETS[symbol].fractionable else 0
            qty = D(draw(st.integers(1, 10**6))).scaleb(-min(places, draw(st.integers(0, 4))))
            trades.append((draw(st.sampled_from(["buy", "sell"])), symbol, str(qty)))
        status = draw(st.sampled_from([BookStatus.PLANNED, BookStatus.PLANNED, BookStatus.HELD]))
        plans.append(book(book_id, *trades, status=status))
    return plans


def signed(side: OrderSide, qty: Decimal) -> Decimal:
    return qty if side is OrderSide.BUY else -qty


@settings(max_examples=300, deadline=None)
@given(book_trades())
def test_netting_preserves_every_books_intended_trade(plans: list[BookPlan]) -> None:
    # Given any planned books' trades at the precision of each asset
    plan = net(*plans)
    intended = {
        (t.book_id, t.symbol): signed(t.side, t.qty)
        for p in plans
        if p.status is BookStatus.PLANNED
        for t in p.trades
    }
    # Then per symbol the signed allocations equal the signed net order (crosses add zero)
    orders = plan.sell_orders + plan.buy_orders
    for order in orders:
        assert sum(signed(a.side, a.qty) for a in order.allocations) == signed(
            order.side, order.qty
        )
        assert {
            (a.book_id, order.symbol): signed(a.side, a.qty) for a in order.allocations
        }.items() <= intended.items()
    ordered = {o.symbol for o in orders}
    for symbol in {s for _, s in intended} - ordered:
        assert sum(q for (_, s), q in intended.items() if s == symbol) == 0
    # And when every order fills completely, each book ends with exactly its intended trade
    fills = attribute_order_plan(
        plan,
        [],
        PRICES,
    )
    full = [f for o in orders for f in attribute_fills(o, o.qty, o.ref_price, plan.crosses)]
    crossed_only = [f for f in fills if f.symbol not in ordered]
    received: dict[tuple[str, str], Decimal] = {}
    for f in full + crossed_only:
        received[(f.book_id, f.symbol)] = received.get((f.book_id, f.symbol), D(0)) + signed(
            f.side, f.qty
        )
    assert {k: v for k, v in received.items() if v} == {k: v for k, v in intended.items() if v}
    # And fill ids are unique
    assert len({f.fill_id for f in full + crossed_only}) == len(full + crossed_only)
    assert plan.netting.orders == len(orders)
