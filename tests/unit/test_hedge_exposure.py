"""The account's delta to QQQ/SPY, estimated from the books' target-allocation streams.

Correctness on real data: a book holding TQQQ has a beta near +3 to QQQ, SQQQ near -3,
TLT/GLD/BIL near 0; ``auto`` picks the underlying that explains the books better.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from alchemiser.dsl.engine import AllocationHistory, evaluate_history
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.errors import DataError
from alchemiser.hedge.exposure import (
    Fit,
    allocation_stream,
    choose_underlying,
    daily_returns,
    estimate_exposure,
    fit_window,
    option_dollar_delta,
    rolling_fits,
)
from alchemiser.hedge.policy import HedgeUnderlying
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory

TICKERS = ("QQQ", "SPY", "TQQQ", "SQQQ", "TLT", "GLD", "BIL", "UPRO")
DAYS = (
    date(2015, 6, 30),
    date(2018, 12, 31),
    date(2020, 3, 31),
    date(2022, 6, 30),
    date(2024, 12, 31),
)


@pytest.fixture(scope="module")
def history(prices_dir: Path) -> PriceHistory:
    return load_price_directory(prices_dir, TICKERS)


def holding(history: PriceHistory, ticker: str, tmp: Path) -> AllocationHistory:
    path = tmp / f"{ticker}.clj"
    path.write_text(f'(defsymphony "{ticker} only" {{}} (asset "{ticker}"))', encoding="utf-8")
    return evaluate_history(compile_symphony(load_symphony(path)), history)


@pytest.fixture(scope="module")
def streams(
    history: PriceHistory, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, np.ndarray]:
    tmp = tmp_path_factory.mktemp("books")
    return {t: allocation_stream(holding(history, t, tmp), history) for t in TICKERS[2:]}


@pytest.fixture(scope="module")
def underlyings(history: PriceHistory) -> dict[str, np.ndarray]:
    return {u: daily_returns(history.column(u)) for u in ("QQQ", "SPY")}


@pytest.mark.parametrize(("ticker", "low", "high"), [("TQQQ", 2.8, 3.2), ("SQQQ", -3.2, -2.8)])
def test_leveraged_and_inverse_books_have_betas_near_their_leverage(
    history: PriceHistory, streams: dict[str, np.ndarray], underlyings: dict[str, np.ndarray],
    ticker: str, low: float, high: float,
) -> None:  # fmt: skip
    for day in DAYS:
        fit = fit_window(streams[ticker], underlyings["QQQ"], history.index_on_or_before(day), 126)
        assert low <= fit.beta <= high, (ticker, day, fit)
        assert fit.r2 > 0.95


@pytest.mark.parametrize(("ticker", "bound"), [("TLT", 0.6), ("GLD", 0.6), ("BIL", 0.05)])
def test_bonds_gold_and_bills_have_betas_near_zero(
    history: PriceHistory, streams: dict[str, np.ndarray], underlyings: dict[str, np.ndarray],
    ticker: str, bound: float,
) -> None:  # fmt: skip
    for day in DAYS:
        fit = fit_window(streams[ticker], underlyings["QQQ"], history.index_on_or_before(day), 126)
        assert abs(fit.beta) <= bound, (ticker, day, fit)


def test_the_dollar_delta_is_beta_times_nav_summed_over_books_and_nets_held_options(
    history: PriceHistory, streams: dict[str, np.ndarray], underlyings: dict[str, np.ndarray]
) -> None:
    # Given $40k in a TQQQ book and $60k in a BIL book on 2024-12-31
    row = history.index_on_or_before(date(2024, 12, 31))
    navs = {"tqqq": Decimal(40_000), "bills": Decimal(60_000)}
    books = {"tqqq": streams["TQQQ"], "bills": streams["BIL"]}
    # and 5 long puts of delta -0.15 at a spot of 500 ($37,500 of short delta)
    puts = option_dollar_delta([(5, -0.15)], 500.0)
    exposure = estimate_exposure(
        books, navs, underlyings, row, HedgeUnderlying.AUTO, option_deltas={"QQQ": puts}
    )
    # Then QQQ explains the account better than SPY, and its delta is about 3 x $40k
    assert exposure.underlying == "QQQ"
    assert Decimal(114_000) < exposure.equity_delta < Decimal(126_000)
    by_book = {b.book_id: b.delta for b in exposure.books}
    assert abs(by_book["bills"]) < Decimal(1_000)
    assert puts == Decimal("-37500.00")
    assert exposure.net_delta == exposure.equity_delta - Decimal(37_500)


def test_auto_picks_spy_for_an_sp500_book_and_a_fixed_underlying_is_kept(
    history: PriceHistory, streams: dict[str, np.ndarray], underlyings: dict[str, np.ndarray]
) -> None:
    row = history.index_on_or_before(date(2024, 12, 31))
    navs = {"upro": Decimal(10_000)}
    auto = estimate_exposure(
        {"upro": streams["UPRO"]}, navs, underlyings, row, HedgeUnderlying.AUTO
    )
    assert auto.underlying == "SPY"
    assert auto.account_fits["SPY"].r2 > auto.account_fits["QQQ"].r2
    fixed = estimate_exposure(
        {"upro": streams["UPRO"]}, navs, underlyings, row, HedgeUnderlying.QQQ
    )
    assert fixed.underlying == "QQQ"


def test_a_near_tie_keeps_the_underlying_already_hedged() -> None:
    fits = {"QQQ": Fit(1.0, 0.80, 126), "SPY": Fit(1.2, 0.83, 126)}
    assert choose_underlying(HedgeUnderlying.AUTO, fits) == "SPY"
    assert choose_underlying(HedgeUnderlying.AUTO, fits, current="QQQ") == "QQQ"
    clearer = {"QQQ": Fit(1.0, 0.70, 126), "SPY": Fit(1.2, 0.83, 126)}
    assert choose_underlying(HedgeUnderlying.AUTO, clearer, current="QQQ") == "SPY"


def test_too_little_history_is_a_data_error_naming_the_book(
    history: PriceHistory, streams: dict[str, np.ndarray], underlyings: dict[str, np.ndarray]
) -> None:
    # TQQQ starts in 2010-02: thirty rows later its stream has under 60 days
    row = int(np.flatnonzero(np.isfinite(streams["TQQQ"]))[0]) + 30
    with pytest.raises(DataError, match=r"book tqqq's beta to QQQ: 31 days .* at least 60"):
        estimate_exposure(
            {"tqqq": streams["TQQQ"]}, {"tqqq": Decimal(1)}, underlyings, row, HedgeUnderlying.QQQ
        )


def test_rolling_fits_equal_the_one_window_fit_on_every_row(
    streams: dict[str, np.ndarray], underlyings: dict[str, np.ndarray]
) -> None:
    beta, r2, days = rolling_fits(streams["TQQQ"], underlyings["QQQ"], 126)
    for row in (len(days) - 1, len(days) - 700, len(days) - 2000, len(days) - 3500):
        fit = fit_window(streams["TQQQ"], underlyings["QQQ"], row, 126)
        assert beta[row] == pytest.approx(fit.beta, rel=1e-9)
        assert r2[row] == pytest.approx(fit.r2, rel=1e-9)
        assert days[row] == fit.days
