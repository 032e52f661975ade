"""Outcome words agree with the quantities: a book's status once reconciled, an order's fill."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from alchemiser.broker.models import OrderSide
from alchemiser.cycle.models import BookPlan, BookStatus, BookTrade, HeldTrade
from alchemiser.ledger.models import FillRecord, FillSource, OrderState
from alchemiser.reporting.wording import order_outcome, settled_book_status

D = Decimal
RUN = "cycle-2024-03-15-dev"
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def trade(symbol: str, side: OrderSide, qty: str, price: str) -> BookTrade:
    return BookTrade(
        book_id="tech", symbol=symbol, side=side, qty=D(qty), price=D(price),
        notional=(D(qty) * D(price)).quantize(D("0.01")),
    )  # fmt: skip


def fill(symbol: str, side: OrderSide, qty: str, price: str, book: str = "tech") -> FillRecord:
    return FillRecord(
        fill_id=f"{book}-{symbol}-{qty}", run_id=RUN, trading_date=date(2024, 3, 15),
        book_id=book, symbol=symbol, side=side, qty=D(qty), price=D(price),
        source=FillSource.MARKET,
    )  # fmt: skip


def plan(
    *trades: BookTrade, status: BookStatus = BookStatus.PLANNED, held: bool = False
) -> BookPlan:
    return BookPlan(
        run_id=RUN, book_id="tech", strategy="tech.clj", status=status, trades=list(trades),
        held=[HeldTrade(symbol="X", notional=D("3"), reason="below the minimum trade")] if held else [],
    )  # fmt: skip


TECL = trade("TECL", BUY, "14.317753241", "71.94")  # $1,030.01 planned
XLE = trade("XLE", SELL, "8.27453422", "42.29")


def test_a_buy_that_spent_its_planned_dollars_is_traded_though_a_few_shares_short() -> None:
    # Filled above the reference price: 14.3159 shares for $1,029.99 of the $1,030.01
    fills = [fill("TECL", BUY, "14.3159", "71.95"), fill("XLE", SELL, "8.27453422", "42.29")]
    assert settled_book_status(plan(TECL, XLE), fills) is BookStatus.TRADED


def test_a_buy_scaled_to_42_percent_is_partially_traded_not_planned() -> None:
    fills = [fill("TECL", BUY, "5.990271021", "71.95"), fill("XLE", SELL, "8.27453422", "42.29")]
    assert settled_book_status(plan(TECL, XLE), fills) is BookStatus.PARTIALLY_TRADED


def test_the_buy_tolerance_covers_what_the_walk_keeps_back_for_slippage() -> None:
    from alchemiser.reporting.wording import BUY_SIZING_TOLERANCE
    from alchemiser.settings import Settings

    settings = Settings()
    kept_back = (settings.market_buy_buffer_bps + settings.sim_slippage_bps) / 10_000
    assert kept_back + settings.sim_spread_bps / 20_000 < BUY_SIZING_TOLERANCE / 2


def test_a_book_whose_orders_never_went_out_is_not_traded() -> None:
    other_books_fill = [fill("TECL", BUY, "14.3", "71.95", book="nuclear")]
    assert settled_book_status(plan(TECL), other_books_fill) is BookStatus.NOT_TRADED
    assert settled_book_status(plan(held=True), []) is BookStatus.NOT_TRADED


def test_nothing_to_trade_is_on_target_and_held_or_failed_books_keep_their_status() -> None:
    assert settled_book_status(plan(), []) is BookStatus.ON_TARGET
    assert settled_book_status(plan(status=BookStatus.HELD), []) is BookStatus.HELD
    assert settled_book_status(plan(status=BookStatus.FAILED), []) is BookStatus.FAILED
    assert settled_book_status(None, []) is BookStatus.FAILED


def test_a_sell_is_done_only_when_what_is_left_is_worth_less_than_a_dollar() -> None:
    assert settled_book_status(plan(XLE), [fill("XLE", SELL, "8.26", "42.29")]) is (
        BookStatus.TRADED  # $0.61 left
    )
    assert settled_book_status(plan(XLE), [fill("XLE", SELL, "8", "42.29")]) is (
        BookStatus.PARTIALLY_TRADED  # $11.61 left
    )


@pytest.mark.parametrize(
    ("side", "qty", "ref", "filled", "avg", "state", "words"),
    [
        (BUY, "14.317753241", "71.94", "5.990271021", "71.95", OrderState.FILLED, "41.8 % filled"),
        (BUY, "355.701419485", "42.17", "355.618776671", "42.18", OrderState.FILLED, "filled"),
        (
            BUY,
            "355.701419485",
            "42.17",
            "354.6",
            "42.2",
            OrderState.FILLED,
            "filled",
        ),  # 0.3 % kept back
        (BUY, "100", "10", "98.8", "10", OrderState.FILLED, "98.8 % filled"),  # $12 short of $1000
        (BUY, "20", "88", "12.25", "88.07", OrderState.PARTIALLY_FILLED, "61.2 % filled"),
        (SELL, "20", "88", "20", "88.07", OrderState.FILLED, "filled"),
        (SELL, "20", "88", "19.9999", "88.07", OrderState.PARTIALLY_FILLED, "filled"),
        (BUY, "1000", "10", "0.0001", "10", OrderState.FAILED, "under 0.1 % filled"),
        (BUY, "10", "10", "0", None, OrderState.FAILED, "failed"),
        (BUY, "10", "10", "0", None, OrderState.SKIPPED, "skipped"),
        (BUY, "10", "10", "0", None, OrderState.PLANNED, "not executed"),
    ],
)
def test_an_orders_words_agree_with_its_quantity_and_fill(
    side: OrderSide, qty: str, ref: str, filled: str, avg: str | None, state: OrderState, words: str
) -> None:
    average = None if avg is None else D(avg)
    assert order_outcome(side, D(qty), D(ref), D(filled), average, state) == words
