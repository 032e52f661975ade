"""The quality rules on the 51 real ETFs: what they flag, what they leave, what they catch.

Every figure of the docstring of ``alchemiser.market.moves`` is checked here: the
whole data set flags the three known bad closes and three genuine moves (the false
positives), none of the named extreme days, and a +-20 % error injected into SPY, QQQE
or TQQQ is caught as soon as it shows, whether it is the latest close (the cycle's
case) or a close inside the history (a backtest's).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.moves import MarketMoves
from alchemiser.market.quality import IssueKind, QualityReport, check_prices
from tests.conftest import PRICES_DIR

LAST_REAL_DAY = date(2026, 8, 3)
KNOWN_BAD = [
    ("BTAL", date(2015, 4, 29), IssueKind.BAD_PRINT),  # -33 %, undone to the digit
    ("SOXS", date(2026, 5, 26), IssueKind.SUSPICIOUS),  # -94.6 %: a split never adjusted
    ("UUP", date(2007, 6, 20), IssueKind.BAD_PRINT),  # -3.8 % in a dollar fund, undone
]
# Genuine moves the rule flags: bond funds without a close peer in the 2008 crisis.
FALSE_POSITIVES = [
    ("AGG", date(2008, 10, 10), IssueKind.SUSPICIOUS),
    ("BSV", date(2008, 10, 1), IssueKind.BAD_PRINT),
    ("LQD", date(2008, 9, 16), IssueKind.SUSPICIOUS),
]
# Rows of data kept before a checked day: the 60-day statistics need 61 rows.
CONTEXT_ROWS = 80


@pytest.fixture(scope="module")
def real() -> PriceHistory:
    return load_price_directory(PRICES_DIR)


@pytest.fixture(scope="module")
def whole(real: PriceHistory) -> QualityReport:
    return check_prices(real, LAST_REAL_DAY, real.tickers)


def flagged(report: QualityReport) -> list[tuple[str, date, IssueKind]]:
    return sorted((i.ticker, i.date, i.kind) for i in report.issues)


def test_the_whole_data_set_flags_the_three_bad_closes_and_three_genuine_moves(
    whole: QualityReport,
) -> None:
    # Given all 51 real ETFs (2,650 ticker-years), checked over their whole history
    # Then exactly the known bad closes are flagged, plus three false positives
    assert flagged(whole) == sorted(KNOWN_BAD + FALSE_POSITIVES)
    btal = next(i for i in whole.issues if i.ticker == "BTAL")
    assert btal.value == pytest.approx(11.2412, rel=1e-5)
    assert "found -32.8% (39.7 sigma of its last 60 days)" in btal.detail
    assert "undone the next close (16.7317)" in btal.detail


@pytest.mark.parametrize(
    ("tickers", "first", "last"),
    [
        (("UVXY", "SVXY", "VIXY", "VIXM"), date(2018, 2, 1), date(2018, 2, 28)),
        (("SOXL", "SOXS"), date(2025, 4, 1), date(2025, 4, 30)),
        (None, date(2020, 3, 1), date(2020, 3, 31)),  # every ticker, the whole crash month
    ],
)
def test_genuine_extreme_days_are_not_flagged(
    whole: QualityReport, tickers: tuple[str, ...] | None, first: date, last: date
) -> None:
    hits = [
        i.message
        for i in whole.issues
        if first <= i.date <= last and (tickers is None or i.ticker in tickers)
    ]
    assert hits == []


def window(history: PriceHistory, day: date, rows: int = CONTEXT_ROWS) -> PriceHistory:
    """Return the ``rows`` trading days up to and including ``day``."""
    end = history.index_on_or_before(day) + 1
    start = max(end - rows, 0)
    return PriceHistory(
        dates=np.array(history.dates[start:end]),
        tickers=history.tickers,
        closes=np.array(history.closes[start:end]),
        source=history.source,
    )


@pytest.mark.parametrize(
    ("ticker", "day", "kind"),
    [
        ("BTAL", date(2015, 4, 29), IssueKind.SUSPICIOUS),
        ("UUP", date(2007, 6, 20), IssueKind.SUSPICIOUS),
        ("SOXS", date(2026, 5, 26), IssueKind.SUSPICIOUS),
    ],
)
def test_each_bad_close_stops_the_cycle_on_its_own_day(
    real: PriceHistory, ticker: str, day: date, kind: IssueKind
) -> None:
    # Given the data as the cycle sees it that day: the bad close is the latest one
    data = window(real, day)
    report = check_prices(data, day, listed(data), since=day)

    # Then it is suspicious (it cannot be confirmed yet) and nothing else is
    assert flagged(report) == [(ticker, day, kind)]
    assert "cannot be confirmed before the next close" in report.issues[0].detail


def test_a_day_is_judged_the_same_live_and_in_hindsight(
    real: PriceHistory, whole: QualityReport
) -> None:
    # Given days with flags and extreme days without, checked as if each were today
    days = [d for _, d, _ in KNOWN_BAD + FALSE_POSITIVES] + [
        date(2018, 2, 5),
        date(2018, 2, 6),
        date(2020, 3, 16),
        date(2025, 4, 9),
    ]
    for day in days:
        data = window(real, day)
        live = check_prices(data, day, listed(data), since=day)
        # Then the same tickers are flagged as when the later data is known
        later = {(i.ticker, i.date) for i in whole.issues if i.date == day}
        assert {(i.ticker, i.date) for i in live.issues} == later, day


def listed(history: PriceHistory) -> list[str]:
    """Return the tickers with a close on the last day (the others are not listed yet)."""
    return [t for j, t in enumerate(history.tickers) if not np.isnan(history.closes[-1, j])]


def injected(history: PriceHistory, ticker: str, day: date, factor: float) -> PriceHistory:
    closes = np.array(history.closes)
    closes[history.index_on_or_before(day), history.tickers.index(ticker)] *= factor
    return history.with_closes(closes)


def sample_days(history: PriceHistory, ticker: str, every: int) -> list[date]:
    """Every ``every``-th trading day of ``ticker`` once it has 100 days of history."""
    first = history.first_valid[ticker] + 100
    return [history.day(row) for row in range(first, len(history.dates), every)]


def judged_live(
    history: PriceHistory, ticker: str, day: date, factor: float
) -> tuple[list[tuple[str, date, IssueKind]], bool, bool]:
    """Check ``day`` as the cycle would with ``ticker``'s close off by ``factor``.

    Return the flags, whether the error is within the ticker's own noise (under the
    sigmas of its trailing volatility the rule needs for it, at least MIN_SIGMAS) and
    whether the day was market-wide.
    """
    data = injected(window(history, day), ticker, day, factor)
    report = check_prices(data, day, listed(data), since=day)
    row, j = len(data.dates) - 1, data.tickers.index(ticker)
    moves = MarketMoves(data.closes, data.tickers, row)
    within_noise = bool(abs(moves.z[row, j]) < moves.sigmas_needed(row, j))
    market_wide = bool(moves.market_wide(np.array([row]), j)[0])
    return flagged(report), within_noise, market_wide


@pytest.mark.parametrize("factor", [1.2, 0.8])
@pytest.mark.parametrize(("ticker", "every"), [("SPY", 211), ("QQQE", 97), ("TQQQ", 61)])
def test_a_20_percent_error_as_the_latest_close_is_caught(
    real: PriceHistory, ticker: str, every: int, factor: float
) -> None:
    # Given the real data on a spread of days, with that day's close off by 20 %
    caught, excused = 0, []
    for day in sample_days(real, ticker, every):
        # When the cycle checks it that day
        flags, within_noise, market_wide = judged_live(real, ticker, day, factor)

        # Then that close is suspicious (a ticker whose best peer it is may be flagged
        # with it, never another day), unless a 20 % move is ordinary for it (a 3x
        # fund in a storm) or a market-wide day excuses it
        if (ticker, day, IssueKind.SUSPICIOUS) in flags:
            assert {d for _, d, _ in flags} == {day}
            caught += 1
        else:
            assert within_noise or market_wide, (day, flags)
            excused.append(day)
    assert caught >= 10 * max(len(excused), 1), excused


@pytest.mark.parametrize(
    ("ticker", "day"),
    [("SPY", date(2013, 5, 15)), ("QQQE", date(2019, 11, 6)), ("TQQQ", date(2016, 8, 24))],
)
@pytest.mark.parametrize("factor", [1.2, 0.8])
def test_a_20_percent_error_inside_the_history_is_a_bad_print(
    real: PriceHistory, ticker: str, day: date, factor: float
) -> None:
    # Given the real history around a day, with that close off by 20 %, undone the next day
    after = real.day(real.index_on_or_before(day) + 2)
    data = injected(window(real, after, CONTEXT_ROWS + 2), ticker, day, factor)

    # When a backtest's check reads it, two days later
    report = check_prices(data, after, listed(data))

    # Then it is a bad print, and nothing else is flagged
    assert flagged(report) == [(ticker, day, IssueKind.BAD_PRINT)]
