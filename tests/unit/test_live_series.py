"""The live account's daily returns and execution quality, worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from alchemiser.analytics.dashboard import _holdings
from alchemiser.analytics.execution_quality import execution_page, order_quality
from alchemiser.analytics.live_series import BookDay, LiveHistory, RunDay
from alchemiser.broker.models import OrderSide
from alchemiser.ledger.models import OrderPhase, OrderRecord, OrderState

D = Decimal


def book(day: int, *, capital: str, plan_cash: str, equity: str, cash: str) -> BookDay:
    return BookDay(
        book_id="a",
        strategy="a.clj",
        status="traded",
        reason="",
        capital=D(capital),
        plan_cash=D(plan_cash),
        equity=D(equity),
        cash=D(cash),
        positions={},
        prices={},
        target_weights={"SPY": D(1)},
        trace="",
    )


def run(day: int, equity: str, *books: BookDay) -> RunDay:
    return RunDay(
        run_id=f"cycle-2024-03-{day:02d}-dev",
        trading_date=date(2024, 3, day),
        status="completed",
        message="",
        account_equity=D(equity),
        books=books,
        orders=(),
        fills=(),
        warnings=(),
    )


def test_a_books_return_counts_the_daily_share_reset_as_a_flow_not_as_performance() -> None:
    # Given a book started with 1,000 in cash that ends day 1 at 990 (10 of costs, 0 cash),
    # then is handed 100 more by the share rule (its plan starts day 2 with 100 of cash)
    # and ends day 2 at 1,188 with its holdings up 9 %
    history = LiveHistory(
        "dev",
        (
            run(11, "2000", book(11, capital="1000", plan_cash="1000", equity="990", cash="0")),
            run(
                12, "2200", book(12, capital="1179.10", plan_cash="100", equity="1179.10", cash="0")
            ),
        ),
    )

    # When its daily returns are read
    series = history.book_returns("a")

    # Then day 1 is -1 % against its starting capital, and day 2 is what its holdings did:
    # (1179.10 - 100) / 990 - 1 = 9 %, not the 19.1 % the NAV grew by
    assert series is not None
    assert series.returns.tolist() == pytest.approx([-0.01, 0.09], abs=1e-12)
    assert history.book_flows("a") == [(date(2024, 3, 12), D("100"))]


def test_the_accounts_nav_includes_what_no_book_owns() -> None:
    # Given an account of 2,000 whose one book has 1,000 of it and ends the day at 990
    history = LiveHistory(
        "dev",
        (run(11, "2000", book(11, capital="1000", plan_cash="1000", equity="990", cash="0")),),
    )

    # Then the account's NAV is 1,990 and its first day return is against the 2,000
    assert history.days[0].nav == D("1990")
    account = history.account_returns()
    assert account is not None
    assert account.returns.tolist() == pytest.approx([-0.005], abs=1e-12)


def order(side: OrderSide, fill: str, *, bid: str | None, ask: str | None) -> OrderRecord:
    at = datetime(2024, 3, 11, 19, 45, tzinfo=UTC)
    return OrderRecord(
        client_order_id="o",
        run_id="cycle-2024-03-11-dev",
        trading_date=date(2024, 3, 11),
        phase=OrderPhase.BUY if side is OrderSide.BUY else OrderPhase.SELL,
        symbol="SPY",
        side=side,
        qty=D(10),
        ref_price=D("100"),
        state=OrderState.FILLED,
        filled_qty=D(10),
        avg_fill_price=D(fill),
        arrival_bid=None if bid is None else D(bid),
        arrival_ask=None if ask is None else D(ask),
        steps_used=3,
        submitted_at=at,
        last_fill_at=at.replace(second=42),
    )


def test_order_quality_in_basis_points_with_costs_positive_for_buys_and_sells() -> None:
    # A buy filled at 100.05 against a 100 close and a 100.00 x 100.04 arrival quote
    buy = order_quality(order(OrderSide.BUY, "100.05", bid="100.00", ask="100.04"))
    assert buy is not None
    assert buy.vs_reference_bps == pytest.approx(5.0)
    assert buy.vs_arrival_bps == pytest.approx((100.05 - 100.02) / 100.02 * 10_000)
    assert buy.spread_bps == pytest.approx(0.04 / 100.02 * 10_000)
    assert (buy.steps, buy.seconds) == (3, 42.0)
    # A sell filled at 99.90 paid 10 bps against the close
    sell = order_quality(order(OrderSide.SELL, "99.90", bid=None, ask=None))
    assert sell is not None
    assert sell.vs_reference_bps == pytest.approx(10.0)
    # and an order recorded before the walk kept its arrival quote shows none
    assert sell.vs_arrival_bps is None
    assert sell.spread_bps is None


def test_the_execution_page_weights_by_notional() -> None:
    orders = [
        order(OrderSide.BUY, "100.10", bid="100.00", ask="100.04"),  # 10 bps on 1,001
        order(OrderSide.SELL, "100.00", bid="100.00", ask="100.04"),  # 0 bps on 1,000
    ]
    page = execution_page(orders)
    overall = dict(page.blocks[0].rows)  # type: ignore[union-attr]
    expected = 1001 * 10 / 2001
    assert overall["Cost vs reference close"] == f"{expected:,.1f} bps"


def test_the_holdings_table_shows_the_hedge_books_options_apart_from_cash() -> None:
    # Given a day whose account NAV (2,000) holds 150 of options in the hedge book
    day = run(11, "2000", book(11, capital="1000", plan_cash="1000", equity="990", cash="0"))
    day = replace(day, account_nav=D("2000"), hedge_options=D("150"))
    # Then the holdings list them, and cash is what is left
    table = _holdings(day)
    rows = {row[0]: row[1] for row in table.rows}
    assert rows == {"Options (hedge book)": "150.00", "Cash": "1,850.00"}
