"""The portfolio simulation on small markets whose every number is worked out by hand.

Book ``a`` holds UP, book ``b`` holds FLAT (both buy and hold: only their first day
and capital transfers make them trade); UP doubles on the second day, FLAT never
moves. $1,000 at the start, no costs and no minimums unless a test says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from alchemiser.backtest.portfolio import simulate_portfolio
from alchemiser.backtest.portfolio_models import BookSchedule, PortfolioPath, PortfolioSettings
from alchemiser.backtest.portfolio_rules import CostModel
from alchemiser.backtest.rebalance import RebalanceFrequency
from alchemiser.books.capital_policy import (
    DEFAULT_CAPITAL_POLICY,
    CapitalPolicy,
    CapitalRebalance,
)
from alchemiser.books.planning import PlanningSettings

D = Decimal
NO_MINIMUMS = PlanningSettings(min_trade_notional=D(0), min_trade_fraction=D(0))
FREE = CostModel(0.0, 0.0)
MONTHLY = CapitalPolicy(rebalance=CapitalRebalance.MONTHLY)
QUARTERLY = CapitalPolicy(rebalance=CapitalRebalance.QUARTERLY)
NONE = CapitalPolicy(rebalance=CapitalRebalance.NONE)
SYMBOLS = ("FLAT", "UP")


def days(*texts: str) -> np.ndarray:
    return np.array(texts, dtype="datetime64[D]")


def holding(
    book_id: str,
    ticker: str,
    rows: int,
    share: str = "0.5",
    start: int = 0,
    frequency: RebalanceFrequency = RebalanceFrequency.NONE,
) -> BookSchedule:
    weights = np.zeros((rows, 1))
    weights[start:, 0] = 1.0
    return BookSchedule(book_id, D(share), (ticker,), weights, start, frequency, None)


def closes(up: Sequence[float]) -> np.ndarray:
    return np.column_stack([np.full(len(up), 100.0), np.asarray(up, dtype=float)])


def run(
    dates: np.ndarray,
    up: Sequence[float],
    policy: CapitalPolicy,
    books: Sequence[BookSchedule] | None = None,
) -> PortfolioPath:
    rows = len(dates)
    books = books or [holding("a", "UP", rows), holding("b", "FLAT", rows)]
    settings = PortfolioSettings(capital=D(1000), policy=policy, costs=FREE, planning=NO_MINIMUMS)
    return simulate_portfolio(dates, SYMBOLS, closes(up), books, settings)


def moved(path: PortfolioPath) -> dict[str, dict[str, float]]:
    """Return each day's transfers by book, days without any left out."""
    return {
        str(day): {b: float(x) for b, x in zip("ab", row, strict=False) if x}
        for day, row in zip(path.dates, path.transfers, strict=True)
        if row.any()
    }


def test_threshold_moves_capital_back_the_day_a_book_drifts() -> None:
    # When UP doubles on day 2: a = 1,000, b = 500, a's share 2/3 is 0.167 off its 0.5
    path = run(days("2024-01-30", "2024-01-31", "2024-02-01"), [10, 20, 20], DEFAULT_CAPITAL_POLICY)
    # Then both are funded with 500 on day 1, and 250 moves from a to b on day 2
    assert moved(path) == {
        "2024-01-30": {"a": 500.0, "b": 500.0},
        "2024-01-31": {"a": -250.0, "b": 250.0},
    }
    # And each book trades its transfer: a sells 250 of UP, b buys 250 of FLAT
    np.testing.assert_allclose(path.nav, [[500, 500], [750, 750], [750, 750]])
    np.testing.assert_allclose(path.values, [[500, 500], [750, 750], [750, 750]])
    # And the transfers are not performance: a made 100 % on day 2, b nothing
    np.testing.assert_allclose(path.book_returns, [[0, 0], [1, 0], [0, 0]])
    np.testing.assert_allclose(path.value, [1000, 1500, 1500])
    assert path.decisions[1].rebalanced and "a's share 0.6667" in path.decisions[1].reason


def test_monthly_waits_for_the_first_day_of_the_next_month() -> None:
    path = run(
        days("2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"), [10, 20, 20, 20], MONTHLY
    )
    # a drifted on January 31st; the move comes on February 1st
    assert moved(path) == {
        "2024-01-30": {"a": 500.0, "b": 500.0},
        "2024-02-01": {"a": -250.0, "b": 250.0},
    }
    np.testing.assert_allclose(path.nav[-1], [750, 750])


def test_quarterly_waits_for_the_first_day_of_the_next_quarter() -> None:
    dates = days("2024-01-30", "2024-01-31", "2024-02-01", "2024-04-01")
    path = run(dates, [10, 20, 20, 20], QUARTERLY)
    # Not at the new month: at the new quarter
    assert moved(path) == {
        "2024-01-30": {"a": 500.0, "b": 500.0},
        "2024-04-01": {"a": -250.0, "b": 250.0},
    }


def test_none_lets_the_winner_keep_its_gains() -> None:
    path = run(days("2024-01-30", "2024-01-31", "2024-04-01"), [10, 20, 20], NONE)
    assert moved(path) == {"2024-01-30": {"a": 500.0, "b": 500.0}}
    np.testing.assert_allclose(path.nav[-1], [1000, 500])


def test_a_late_book_waits_in_the_pool_and_joins_when_valid() -> None:
    # Given b's symphony valid only from the third day
    rows = 3
    books = [holding("a", "UP", rows), holding("b", "FLAT", rows, start=2)]
    dates = days("2024-01-30", "2024-01-31", "2024-02-01")
    # Under the threshold policy: day 2, a is 1,000 of 1,500 (pool 500): 2/3, past 0.5 + 0.05
    path = run(dates, [10, 20, 20], DEFAULT_CAPITAL_POLICY, books)
    # Then a goes back to 750 (the pool keeps b's half), and b joins with 750 on day 3
    assert moved(path) == {
        "2024-01-30": {"a": 500.0},
        "2024-01-31": {"a": -250.0},
        "2024-02-01": {"b": 750.0},
    }
    np.testing.assert_allclose(path.pool, [500, 750, 0])
    assert path.joined == (0, 2)
    # Under none, the pool still holds only b's 500: b joins with that, not 750
    path = run(dates, [10, 20, 20], NONE, books)
    np.testing.assert_allclose(path.transfers[2], [0, 500])
    assert "the rest comes at the next capital rebalance" in path.decisions[-1].transfers[0].detail


def test_the_account_pays_the_costs_of_the_net_orders_only() -> None:
    # Given a (60 %) in X and b (40 %) in Y, both switching to the other one on day 2
    dates = days("2024-01-30", "2024-01-31")
    x_then_y = np.array([[1.0, 0.0], [0.0, 1.0]])
    books = [
        BookSchedule("a", D("0.6"), ("X", "Y"), x_then_y, 0, RebalanceFrequency.DAILY, None),
        BookSchedule(
            "b", D("0.4"), ("X", "Y"), x_then_y[:, ::-1].copy(), 0, RebalanceFrequency.DAILY, None
        ),
    ]
    settings = PortfolioSettings(
        capital=D(1000), policy=NONE, costs=CostModel(2.0, 0.0), planning=NO_MINIMUMS
    )
    # A spread of 2 bps: a market buy fills 1 bp above the close, a sell 1 bp below
    path = simulate_portfolio(dates, ("X", "Y"), np.full((2, 2), 100.0), books, settings)
    # Day 1: a buys 600 of X (pays 0.06), b 400 of Y (0.04): NAVs 599.94 and 399.96
    np.testing.assert_allclose(path.book_costs[0], [0.06, 0.04])
    # Day 2: a sells its 600 of X and buys 599.94 of Y; b sells 400 of Y and buys 399.96
    # of X. The orders: SELL 200.04 of X, BUY 199.94 of Y; every book settles at them.
    # a: 600 x 1bp + 599.94 x 1bp = 0.119994; b gains 400 x 1bp + 399.96 x 1bp = 0.079996
    np.testing.assert_allclose(path.book_costs[1], [0.119994, -0.079996], rtol=1e-9)
    # The account pays (200.04 + 199.94) x 1bp = 0.039998, not the books' 0.2 unnetted
    assert path.book_costs[1].sum() == pytest.approx(0.039998, rel=1e-9)
    assert path.value[1] == pytest.approx(1000 - 0.1 - 0.039998, rel=1e-12)
    assert path.account_traded[1] == pytest.approx((200.04 + 199.94) / 999.9, rel=1e-9)


def test_trades_under_the_minimum_are_held_but_an_exit_is_not() -> None:
    # Given one book, share 1, daily, 50/50 in X and Y, then 0.1 % X, then no X at all
    dates = days("2024-01-29", "2024-01-30", "2024-01-31", "2024-02-01")
    weights = np.array([[0.5, 0.5], [0.5, 0.5], [0.001, 0.999], [0.0, 1.0]])
    book = BookSchedule("a", D(1), ("X", "Y"), weights, 0, RebalanceFrequency.DAILY, None)
    prices = np.array([[100.0, 100.0], [100.8, 100.0], [100.8, 100.0], [100.8, 100.0]])
    settings = PortfolioSettings(capital=D(1000), policy=NONE, costs=FREE)
    path = simulate_portfolio(dates, ("X", "Y"), prices, [book], settings)
    # Day 2: X is 504, Y 500; the targets 502 each want $2 trades, under min($5, 1 %): held
    np.testing.assert_allclose(path.values[1], [504, 500])
    # Day 3: X goes to 0.1 % (1.004): a trade of 502.996, made
    np.testing.assert_allclose(path.values[2], [1.004, 1002.996])
    # Day 4: X leaves the targets: its 1.004 is sold although it is under $5, while
    # the buy of Y with the proceeds (1.004) is held: the cash stays in the book
    np.testing.assert_allclose(path.values[3], [0.0, 1002.996])
    np.testing.assert_allclose(path.nav[3], [1004.0])


def test_a_held_ticker_without_a_close_fails_the_backtest_naming_it() -> None:
    dates = days("2024-01-30", "2024-01-31")
    prices = closes([10, float("nan")])
    books = [holding("a", "UP", 2), holding("b", "FLAT", 2)]
    settings = PortfolioSettings(capital=D(1000), costs=FREE, planning=NO_MINIMUMS)
    with pytest.raises(ValueError, match="book a holds UP on 2024-01-31 but it has no close"):
        simulate_portfolio(dates, SYMBOLS, prices, books, settings)


def test_a_target_without_a_close_fails_the_backtest_naming_it() -> None:
    dates = days("2024-01-30", "2024-01-31")
    prices = closes([float("nan"), 10])
    books = [holding("a", "UP", 2), holding("b", "FLAT", 2)]
    settings = PortfolioSettings(capital=D(1000), costs=FREE, planning=NO_MINIMUMS)
    with pytest.raises(ValueError, match="book a targets UP on 2024-01-30, which has no close"):
        simulate_portfolio(dates, SYMBOLS, prices, books, settings)


def test_a_window_before_any_book_is_valid_is_refused() -> None:
    books = [holding("a", "UP", 2, start=5)]
    with pytest.raises(ValueError, match="no book can trade in the window"):
        simulate_portfolio(
            days("2024-01-30", "2024-01-31"),
            SYMBOLS,
            closes([10, 10]),
            books,
            PortfolioSettings(),
            first_day=date(2024, 1, 30),
        )
