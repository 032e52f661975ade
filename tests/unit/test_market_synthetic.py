"""Synthetic markets: deterministic, plausible, labelled, and mixed with real data.

The values here carry no meaning (they are synthetic); the tests check the properties
the rest of the system relies on: same input, same series, in every process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.synthetic import (
    business_days,
    synthetic_daily_vol,
    synthetic_market,
    synthetic_series,
    with_stand_ins,
)

REAL_PRICES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prices"
tickers = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ.", min_size=1, max_size=6)


def test_series_is_pinned_for_a_known_ticker() -> None:
    # Given SPY on the first six weekdays of 2024
    dates = business_days(date(2024, 1, 1), date(2024, 1, 8))

    # When its synthetic series is drawn
    series = synthetic_series("SPY", dates)

    # Then it is exactly the series every earlier run produced (a change here moves
    # every stand-in and the demo market, so it must be deliberate)
    assert series[0] == 131.28354492481793  # the start price: no random walk yet
    assert synthetic_daily_vol("SPY") == 0.03507032017311583
    np.testing.assert_allclose(
        series,
        [131.28354492481793, 127.84621411069894, 123.93576485092728,
         122.78220076636443, 125.61202592409298, 135.61348058995455],
        rtol=1e-12,
    )  # fmt: skip


def test_series_does_not_depend_on_python_hash_randomisation() -> None:
    # Given a fresh interpreter with a different PYTHONHASHSEED
    code = (
        "from datetime import date\n"
        "from alchemiser.market.synthetic import business_days, synthetic_series\n"
        "print(repr(float(synthetic_series('TQQQ', business_days(date(2024,1,1), "
        "date(2024,6,28)))[-1])))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}

    # When it draws the same series
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    # Then it is the same as in this process
    here = synthetic_series("TQQQ", business_days(date(2024, 1, 1), date(2024, 6, 28)))[-1]
    assert float(out.stdout) == float(here)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(ticker=tickers)
def test_every_ticker_gets_a_plausible_positive_series(ticker: str) -> None:
    # Given any ticker name
    dates = business_days(date(2021, 1, 1), date(2023, 12, 29))

    # When its series is drawn
    series = synthetic_series(ticker, dates)

    # Then it is finite and positive, starts in 20-200 and has 1%-5% daily volatility
    assert np.isfinite(series).all()
    assert (series > 0).all()
    assert 20.0 <= series[0] <= 200.0
    assert 0.01 <= synthetic_daily_vol(ticker) <= 0.05
    returns = np.diff(np.log(series))
    assert 0.7 < returns.std() / synthetic_daily_vol(ticker) < 1.3
    # and no day moves more than 4 sigma (quality checks never mistake it for an error)
    assert np.abs(returns).max() <= 4.0 * synthetic_daily_vol(ticker) + 1e-12


def test_tickers_and_namespaces_get_different_series() -> None:
    dates = business_days(date(2024, 1, 1), date(2024, 3, 29))

    spy, qqq = synthetic_series("SPY", dates), synthetic_series("QQQ", dates)
    other = synthetic_series("SPY", dates, seed_namespace="elsewhere")

    assert not np.allclose(spy, qqq)
    assert not np.allclose(spy, other)


def test_overlapping_windows_see_the_same_returns_on_shared_days() -> None:
    # Given two windows that share 2021
    early = synthetic_market(["AAA"], date(2020, 1, 1), date(2021, 12, 31))
    late = synthetic_market(["AAA"], date(2021, 1, 1), date(2022, 12, 30))

    # When their daily returns over 2021 are compared
    shared = np.intersect1d(early.dates, late.dates)
    returns = [np.diff(np.log(h.column("AAA")[np.isin(h.dates, shared)])) for h in (early, late)]

    # Then they are the same: a window never changes a day's return
    np.testing.assert_allclose(returns[0], returns[1], rtol=1e-12, atol=1e-15)


def test_a_holiday_folds_its_return_into_the_next_day_and_weekends_keep_friday() -> None:
    # Given the weekdays of a week and the same week without Wednesday
    week = business_days(date(2024, 7, 1), date(2024, 7, 5))
    without_wednesday = week[week != np.datetime64("2024-07-03")]

    full = synthetic_series("AAA", week)
    holiday = synthetic_series("AAA", without_wednesday)
    weekend = synthetic_series("AAA", np.array(["2024-07-05", "2024-07-06"], "datetime64[D]"))

    # Then the closes on the days both have are equal, and Saturday repeats Friday
    np.testing.assert_allclose(holiday, np.delete(full, 2), rtol=1e-12)
    assert weekend[0] == weekend[1]


def test_bad_dates_are_rejected() -> None:
    with pytest.raises(ValueError, match="on or after 1980-01-01"):
        synthetic_series("AAA", np.array(["1979-12-31"], "datetime64[D]"))
    with pytest.raises(ValueError, match="ascending"):
        synthetic_series("AAA", np.array(["2024-01-03", "2024-01-02"], "datetime64[D]"))
    with pytest.raises(ValueError, match="on or after start"):
        business_days(date(2024, 1, 2), date(2024, 1, 1))


def test_synthetic_market_trades_on_nyse_sessions_and_is_labelled_synthetic() -> None:
    market = synthetic_market(["AAA", "BBB", "AAA"], date(2024, 1, 1), date(2024, 12, 31))

    assert market.tickers == ("AAA", "BBB")
    assert market.synthetic == frozenset({"AAA", "BBB"})
    assert market.source == "synthetic"
    assert len(market.dates) == 252  # the NYSE's 2024 sessions, not its 262 weekdays
    for holiday in ("2024-01-01", "2024-03-29", "2024-07-04", "2024-11-28", "2024-12-25"):
        assert np.datetime64(holiday) not in market.dates
    assert not np.isnan(market.closes).any()


def test_the_synthetic_calendar_is_the_one_real_prices_trade_on() -> None:
    # Given SPY's real closes (the exchange's own calendar) over 2019-2024
    real = load_price_directory(REAL_PRICES, ["SPY"]).truncate(date(2024, 12, 31))
    real_days = real.dates[real.dates >= np.datetime64("2019-01-02")]

    # When a synthetic market covers the same years
    market = synthetic_market(["AAA"], date(2019, 1, 1), date(2024, 12, 31))

    # Then it has a bar on exactly the days the real market traded
    np.testing.assert_array_equal(market.dates, real_days)


def test_a_synthetic_market_outside_the_exchange_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="NYSE calendar covers 1990-01-02"):
        synthetic_market(["AAA"], date(1985, 1, 1), date(1986, 1, 1))


# --- with_stand_ins ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> PriceHistory:
    return load_price_directory(REAL_PRICES, ["SPY", "SVIX", "QQQ"])


def test_stand_ins_fill_only_tickers_without_real_data_over_the_window(
    real: PriceHistory,
) -> None:
    # Given real SPY, QQQ and SVIX (launched 2022-03-30), and FTLS with no real data
    start, end = date(2020, 1, 1), date(2024, 12, 31)

    # When a 2020-2024 market is asked for
    market = with_stand_ins(real, ["SPY", "FTLS", "SVIX", "QQQ"], start, end)

    # Then SPY and QQQ are real, FTLS and SVIX (which misses the start) are stand-ins
    assert market.synthetic == frozenset({"FTLS", "SVIX"})
    window = (real.dates >= np.datetime64(start)) & (real.dates <= np.datetime64(end))
    np.testing.assert_array_equal(market.dates, real.dates[window])
    np.testing.assert_array_equal(market.column("SPY"), real.column("SPY")[window])
    np.testing.assert_array_equal(
        market.column("SVIX"), synthetic_series("SVIX", real.dates[window])
    )
    assert "2 synthetic stand-in(s)" in market.source


def test_a_window_that_real_data_covers_needs_no_stand_in(real: PriceHistory) -> None:
    market = with_stand_ins(real, ["SVIX", "SPY"], date(2023, 1, 1), date(2023, 12, 31))

    assert market.synthetic == frozenset()
    assert market.source == real.source
    assert not np.isnan(market.closes).any()


def test_without_real_data_everything_is_synthetic_on_weekdays() -> None:
    market = with_stand_ins(None, ["AAA"], date(2024, 1, 1), date(2024, 1, 31))

    assert market.synthetic == frozenset({"AAA"})
    assert np.is_busday(market.dates).all()


def test_a_window_outside_the_real_calendar_is_an_error(real: PriceHistory) -> None:
    with pytest.raises(ValueError, match="no trading day in"):
        with_stand_ins(real, ["SPY"], date(2030, 1, 1), date(2030, 12, 31))


def test_the_demo_market_run_on_a_holiday_trades_the_session_before() -> None:
    from alchemiser.local.environment import trading_day
    from alchemiser.market.local_data import DemoMarketData

    # Given `alchemiser run` without --data on Thanksgiving 2025
    thanksgiving = date(2025, 11, 27)
    demo = DemoMarketData(["SPY", "QQQ"], thanksgiving)
    history = demo.history(["SPY"], thanksgiving)
    # Then the demo has no bar that day, and the run trades the Wednesday before
    assert np.datetime64(thanksgiving) not in history.dates
    assert trading_day(history, None, thanksgiving) == date(2025, 11, 26)
    assert "NYSE sessions 2019-01-02 to 2025-11-26" in demo.describe()
