"""The portfolio backtest on real prices: it reproduces the plain backtest, and plans
exactly what the live planner plans.

* One book with share 1, no minimums and no costs is the plain ``backtest`` of its
  symphony, 2012-2026, to 1e-9: every symphony of the shared data whose tickers all
  have real prices, and the three house symphonies.
* On sampled days of a real three-book backtest (a small account, so the minimum
  trade sizes bite; the simulated broker's costs), every book's trades are the ones
  :func:`plan_book_rebalance` plans from the same state, within the planner's rounding
  (quantities to nine decimals, notionals to cents).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from alchemiser.analytics.returns import as_date
from alchemiser.backtest.portfolio_models import DayInspection, PortfolioSettings
from alchemiser.backtest.portfolio_rules import CostModel
from alchemiser.backtest.portfolio_run import PortfolioBacktest, backtest_portfolio
from alchemiser.backtest.symphony import backtest_symphony
from alchemiser.books.config import BookConfig, load_stage
from alchemiser.books.planning import PlanningSettings, plan_book_rebalance
from alchemiser.broker.models import AssetInfo, OrderSide
from alchemiser.cycle.models import BookStatus
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.market.loader import load_price_directory
from alchemiser.money import to_decimal
from tests.conftest import COMPOSER_DIR, PRICES_DIR, REPO_ROOT, SYMPHONIES_DIR

START = date(2012, 1, 3)
COVERED = (
    SYMPHONIES_DIR / "gold.clj",
    SYMPHONIES_DIR / "holy_grail.clj",
    SYMPHONIES_DIR / "soxl_growth.clj",
    SYMPHONIES_DIR / "tqqq_ftlt.clj",
    COMPOSER_DIR / "tqqq_ftlt_mods.clj",
    REPO_ROOT / "strategies" / "nuclear_energy_rotation.clj",
    REPO_ROOT / "strategies" / "tech_momentum_guarded.clj",
    REPO_ROOT / "strategies" / "klm_ensemble.clj",
)
EXACT = PortfolioSettings(
    costs=CostModel(0.0, 0.0),
    planning=PlanningSettings(min_trade_notional=Decimal(0), min_trade_fraction=Decimal(0)),
)


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_one_book_with_share_one_is_the_plain_backtest(path: Path) -> None:
    # Given one symphony as the only book of a stage, share 1, no minimums or costs
    program = compile_symphony(load_symphony(path))
    history = load_price_directory(PRICES_DIR, program.tickers)
    book = BookConfig(id="only", strategy=path.name, share=Decimal(1))
    # When both backtests run from 2012 to the end of the data
    plain = backtest_symphony(program, history, start=START).result
    portfolio = backtest_portfolio([(book, program)], history, EXACT, start=START)
    # Then the account is the plain backtest, day by day, to 1e-9
    assert portfolio.books[0].joined == plain.metrics.start
    assert np.array_equal(portfolio.account.dates, plain.dates)
    np.testing.assert_allclose(portfolio.account.returns, plain.returns, rtol=0, atol=1e-12)
    equity = np.cumprod(1.0 + portfolio.account.returns)
    np.testing.assert_allclose(equity, plain.equity, rtol=1e-9, atol=0)
    # And so are every figure of the JSON and the book's own series
    ours, theirs = portfolio.metrics.to_json_dict(), plain.metrics.to_json_dict()
    for key, value in theirs.items():
        if isinstance(value, float):
            assert ours[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert ours[key] == value, key
    book_returns = portfolio.books[0].returns
    assert book_returns is not None
    np.testing.assert_allclose(book_returns.returns, plain.returns, rtol=0, atol=1e-12)
    assert portfolio.path.decisions[0].transfers[0].amount == Decimal(100_000)
    assert len(portfolio.path.decisions) == 1  # the funding; a share of 1 never drifts


@pytest.fixture(scope="module")
def dev_books() -> list[tuple[BookConfig, Program]]:
    stage = load_stage(REPO_ROOT / "strategies" / "books.yaml", "dev")
    strategies = REPO_ROOT / "strategies"
    return [(b, compile_symphony(load_symphony(strategies / b.strategy))) for b in stage.books]


@pytest.fixture(scope="module")
def small_account(dev_books: list[tuple[BookConfig, Program]]) -> PortfolioBacktest:
    tickers = sorted({t for _, program in dev_books for t in program.tickers})
    history = load_price_directory(PRICES_DIR, tickers)
    # $3,000: books of $900-1,200, so min($5, 1 %) holds many small trades
    settings = PortfolioSettings(capital=Decimal(3000))
    calendar = history.dates[history.dates >= np.datetime64(START)]
    sampled = [as_date(day) for day in calendar[::5]]
    return backtest_portfolio(dev_books, history, settings, start=START, inspect=sampled)


def _live_plan(
    state: DayInspection,
    backtest: PortfolioBacktest,
    index: int,
    program: Program,
) -> tuple[dict[str, float], int]:
    """Plan book ``index`` with the live planner from the backtest's state that day."""
    slots = backtest.path.slots
    symbols = sorted({t for b in backtest.books for t in b.weights.labels if b.weights})
    own = np.flatnonzero(slots.book == index)
    tickers = [symbols[slots.symbol[s]] for s in own]
    close = {t: float(state.closes[slots.symbol[s]]) for t, s in zip(tickers, own, strict=True)}
    value = {t: float(state.values[s]) for t, s in zip(tickers, own, strict=True)}
    weights = {t: float(state.weights[s]) for t, s in zip(tickers, own, strict=True)}
    book = backtest.books[index].config
    plan = plan_book_rebalance(
        run_id="backtest",
        book_id=book.id,
        strategy=book.strategy,
        target_weights={t: w for t, w in weights.items() if w > 0},
        capital=to_decimal(float(state.nav[index])),
        positions={t: to_decimal(v / close[t]) for t, v in value.items() if v > 0},
        prices={t: to_decimal(p) for t, p in close.items() if np.isfinite(p)},
        assets={t: AssetInfo(symbol=t, tradable=True, fractionable=True) for t in tickers},
        # A book's first day and a day its capital changed plan with no corridor.
        threshold=None if state.forced[index] else program.symphony.meta.rebalance_threshold,
        scheduled_day=bool(state.forced[index] or state.scheduled[index]),
        settings=backtest.settings.planning,
    )
    assert (plan.status is BookStatus.PLANNED) == bool(state.trading[index])
    trades = {
        t.symbol: float(t.qty * t.price) * (1 if t.side is OrderSide.BUY else -1)
        for t in plan.trades
    }
    minimum_holds = sum("below the minimum" in held.reason for held in plan.held)
    return trades, minimum_holds


def test_the_backtest_plans_what_the_live_planner_plans(
    small_account: PortfolioBacktest, dev_books: list[tuple[BookConfig, Program]]
) -> None:
    slots = small_account.path.slots
    symbols = sorted({t for b in small_account.books for t in b.weights.labels if b.weights})
    compared = trading_books = minimum_holds = 0
    for state in small_account.path.inspections.values():
        for index, (_, program) in enumerate(dev_books):
            if not state.nav[index] > 0:
                continue  # not joined yet
            live, held = _live_plan(state, small_account, index, program)
            own = np.flatnonzero(slots.book == index)
            ours = {
                symbols[slots.symbol[s]]: float(state.trades[s]) for s in own if state.trades[s]
            }
            assert set(ours) == set(live), (state.day, index, ours, live)
            for symbol, amount in ours.items():
                # The planner rounds quantities down to 9 decimals: one step is
                # 1e-9 x the price (UVXY's adjusted 2012 close is $3e10), plus a cent.
                price = float(state.closes[symbols.index(symbol)])
                assert abs(live[symbol] - amount) <= 0.01 + 1e-9 * price + 1e-9 * abs(amount)
            compared += 1
            trading_books += bool(ours)
            minimum_holds += held
    # The sample covers every kind of day: quiet, trading, and trades held as too small
    assert compared > 1000
    assert trading_books > 300
    assert minimum_holds > 50


def test_a_book_whose_data_starts_late_joins_on_its_first_valid_day(
    small_account: PortfolioBacktest,
) -> None:
    klm = next(b for b in small_account.books if b.config.id == "klm-ensemble")
    assert klm.joined == klm.valid_from == date(2020, 12, 31)
    assert "2020-12-31" in klm.valid_reason
    # Until then its 30 % waits in the pool: each of the two other books stays within 5
    # points of its share (the threshold policy), so the pool within 10 points of 30 %
    before = small_account.path.dates < np.datetime64(klm.joined)
    pool_share = small_account.path.pool / small_account.path.value
    assert pool_share[0] == pytest.approx(0.3, abs=1e-3)
    assert pool_share[before].min() >= 0.2 and pool_share[before].max() <= 0.4
    # ... and the day it joins the pool funds it
    assert pool_share[~before].max() < 0.001
    assert klm.returns is not None and klm.returns.start == date(2020, 12, 31)
