"""Data-quality checks: the real data's bad prints are caught, its genuine extremes are not."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from alchemiser.market.quality import Issue, IssueKind, QualityReport, check_prices
from alchemiser.market.synthetic import business_days, synthetic_market

REAL_PRICES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prices"
LAST_REAL_DAY = date(2026, 8, 3)


@pytest.fixture(scope="module")
def real() -> PriceHistory:
    return load_price_directory(REAL_PRICES)


def market(columns: dict[str, list[float]], start: date = date(2024, 1, 1)) -> PriceHistory:
    """Build a history on consecutive weekdays from ``start`` (all columns equally long)."""
    rows = len(next(iter(columns.values())))
    dates = business_days(start, date(2100, 1, 1))[:rows]
    closes = np.column_stack([np.asarray(v, dtype=float) for v in columns.values()])
    return PriceHistory(dates=dates, tickers=tuple(columns), closes=closes, source="test")


def zigzag(days: int, step: float = 0.01, start: float = 100.0) -> list[float]:
    """Closes whose log returns alternate +step, -step: a volatility of ``step`` a day."""
    return [start * float(np.exp(step * (i % 2))) for i in range(days)]


def found(report: QualityReport, kind: IssueKind) -> set[tuple[str, date]]:
    return {(i.ticker, i.date) for i in report.of_kind(kind)}


# --- the real data -------------------------------------------------------------------


def test_real_data_has_exactly_two_bad_prints_and_nothing_else_wrong(real: PriceHistory) -> None:
    # Given all 51 real ETFs, checked over their whole history as of the last day
    # When the check runs
    report = check_prices(real, LAST_REAL_DAY, real.tickers)

    # Then the only issues are the two one-day spikes that the next close undoes:
    # BTAL 16.73 -> 11.24 -> 16.73 and UUP 20.63 -> 19.85 -> 20.66
    assert [(i.ticker, i.date, i.kind) for i in report.issues] == [
        ("BTAL", date(2015, 4, 29), IssueKind.BAD_PRINT),
        ("UUP", date(2007, 6, 20), IssueKind.BAD_PRINT),
    ]
    assert not report.ok
    assert "found 11.2412: a -32.8% one-day spike (48.1 sigma" in report.issues[0].detail


@pytest.mark.parametrize(
    ("ticker", "day", "move_at_least"),
    [
        ("SVXY", date(2018, 2, 5), 0.30),  # -32%
        ("SVXY", date(2018, 2, 6), 0.80),  # -83%: the XIV/SVXY collapse
        ("UVXY", date(2018, 2, 5), 0.60),  # +66%, then -33%: only partly undone
        ("UVXY", date(2018, 2, 6), 0.30),
        ("SOXL", date(2025, 4, 3), 0.25),  # the April 2025 tariff crash and rebound
        ("SOXL", date(2025, 4, 4), 0.20),
        ("SOXL", date(2025, 4, 9), 0.50),
        ("VIXM", date(2024, 8, 5), 0.20),  # 12 sigma, 79% undone the next day
        ("XLU", date(2020, 3, 16), 0.10),  # fully undone, but only 5 sigma in March 2020
    ],
)
def test_genuine_extreme_moves_are_not_bad_prints(
    real: PriceHistory, ticker: str, day: date, move_at_least: float
) -> None:
    # Given a real, extreme one-day move
    row = real.index_on_or_before(day)
    column = real.column(ticker)
    assert real.day(row) == day
    assert abs(column[row] / column[row - 1] - 1) >= move_at_least

    # When the days around it are checked, with the next closes known
    report = check_prices(real, date(2025, 12, 31), [ticker], since=day)

    # Then it is not a bad print
    assert (ticker, day) not in found(report, IssueKind.BAD_PRINT)


def test_a_bad_print_is_only_confirmed_by_the_next_close(real: PriceHistory) -> None:
    # Given BTAL's bad print of 2015-04-29
    # When it is the latest close, it is suspicious (no reverting close yet)
    on_the_day = check_prices(real, date(2015, 4, 29), ["BTAL"], since=date(2015, 4, 1))
    assert [i.kind for i in on_the_day.issues] == [IssueKind.SUSPICIOUS]
    assert "no ticker tracked it closely" in on_the_day.issues[0].detail

    # When the next close is in, it is a bad print
    next_day = check_prices(real, date(2015, 4, 30), ["BTAL"], since=date(2015, 4, 1))
    assert [(i.date, i.kind) for i in next_day.issues] == [(date(2015, 4, 29), IssueKind.BAD_PRINT)]


@pytest.mark.parametrize(
    ("as_of", "suspicious"),
    [
        # SOXS -94.6% while SOXL rose 18.5%: a split that was not adjusted
        (date(2026, 5, 26), {"SOXS"}),
        # SVXY -83% while UVXY fell too: genuine, but no peer explains it; fail closed
        (date(2018, 2, 6), {"SVXY"}),
        # Market-wide extremes that the closest peer explains: nothing to stop for
        (date(2018, 2, 5), set()),  # SVXY -32%, UVXY +66%, VIXY +34%
        (date(2024, 8, 5), set()),  # SVIX -39%, VIXY +43%
        (date(2025, 4, 9), set()),  # SOXS -56%, SQQQ -35%, TECS -40%, SPXS -28%
        (LAST_REAL_DAY, set()),  # BIL -0.27%: an unadjusted dividend, far below 25%
    ],
)
def test_an_extreme_latest_move_is_suspicious_unless_its_peer_explains_it(
    real: PriceHistory, as_of: date, suspicious: set[str]
) -> None:
    # Given the real data as of a day with extreme moves
    # When the latest closes are checked
    report = check_prices(real, as_of, real.tickers, since=as_of)

    # Then only the unexplained extreme moves are suspicious
    assert {t for t, _ in found(report, IssueKind.SUSPICIOUS)} == suspicious


def test_suspicious_detail_names_the_peer_and_what_it_implied(real: PriceHistory) -> None:
    report = check_prices(real, date(2026, 5, 26), ["SOXS"], since=date(2026, 5, 26))

    (issue,) = report.issues
    assert issue.detail == (
        "expected a latest move within 25% or 8 sigma, found -94.6% (35.0 sigma) from "
        "1146.15 to 62.1757; SOXL (correlation -1.00) moved +18.5%, which implies -18.6%; "
        "cannot be confirmed before the next close"
    )


# --- bad prints, by hand -------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "spike", "back", "flagged"),
    [
        ("16-sigma drop fully undone", 0.85, 1.0, True),
        ("16-sigma jump fully undone", 1.0 / 0.85, 1.0, True),
        ("16-sigma drop 92% undone", 0.85, 0.9875, True),
        ("16-sigma drop undone but for 1.4 sigma of noise", 0.85, 1.014, True),
        ("16-sigma drop undone but for 2 sigma", 0.85, 1.02, False),
        ("16-sigma drop only half undone", 0.85, 0.92, False),
        ("16-sigma drop that stays", 0.85, 0.85, False),
        ("5-sigma drop fully undone", 0.95, 1.0, False),
    ],
)
def test_reverting_spike_is_a_bad_print_only_when_large_for_its_volatility(
    scenario: str, spike: float, back: float, flagged: bool
) -> None:
    # Given 80 days of +-1% zigzag (volatility 1%/day), then a spike and a next close
    closes = zigzag(80)
    closes += [closes[-1] * spike, closes[-1] * back, closes[-1] * back]

    history = market({"AAA": closes})

    # When it is checked
    report = check_prices(history, history.day(-1), ["AAA"])

    # Then only a >= 10-sigma move that the next close undoes is flagged
    assert (("AAA", history.day(80)) in found(report, IssueKind.BAD_PRINT)) is flagged


def test_a_tiny_reverting_wiggle_in_a_calm_fund_is_not_a_bad_print() -> None:
    # Given a T-bill-like fund (0.01%/day) with a -1% print undone the next day
    closes = zigzag(80, step=0.0001)
    closes += [closes[-1] * 0.99, closes[-1], closes[-1]]
    history = market({"BIL": closes})

    report = check_prices(history, history.day(-1), ["BIL"])

    # Then it is 100 sigma but under the 2% floor, so it is not flagged
    assert report.ok


def noisy(seed: int, days: int = 250, noise: float = 0.01) -> list[float]:
    """Closes whose daily moves are uniform in [-noise, +noise] (sigma ~ 0.58 noise)."""
    moves = np.random.default_rng(seed).uniform(-noise, noise, days)
    return list(100.0 * np.exp(np.cumsum(moves)))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    row=st.integers(min_value=70, max_value=240),
    factor=st.floats(min_value=1.25, max_value=5.0),
    down=st.booleans(),
)
def test_any_reverting_print_far_above_the_noise_is_caught(
    seed: int, row: int, factor: float, down: bool
) -> None:
    # Given a series with bounded daily noise (|move| <= 1%, so sigma < 0.6% and two
    # days never move more than 2%), and one close off by a factor of 1.25 or more
    closes = noisy(seed)
    closes[row] *= 1 / factor if down else factor
    history = market({"AAA": closes})

    # When it is checked
    report = check_prices(history, history.day(-1), ["AAA"])

    # Then exactly that close is a bad print
    assert found(report, IssueKind.BAD_PRINT) == {("AAA", history.day(row))}


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    row=st.integers(min_value=70, max_value=240),
    factor=st.floats(min_value=0.2, max_value=5.0),
)
def test_a_jump_that_stays_is_never_a_bad_print(seed: int, row: int, factor: float) -> None:
    # Given a series that jumps by any factor on one day and stays at the new level
    closes = noisy(seed)
    closes[row:] = [c * factor for c in closes[row:]]
    history = market({"AAA": closes})

    # When it is checked
    report = check_prices(history, history.day(-1), ["AAA"])

    # Then there is no bad print
    assert not report.of_kind(IssueKind.BAD_PRINT)


def test_a_clean_synthetic_market_has_no_issue() -> None:
    clean = synthetic_market(["AAA", "BBB", "CCC"], date(2020, 1, 1), date(2024, 12, 31))

    report = check_prices(clean, clean.day(-1), clean.tickers)

    assert report.ok, report.messages


# --- stale, missing, gaps, impossible prices -----------------------------------------


def test_a_ticker_behind_the_calendar_is_stale() -> None:
    # Given SPY through Friday 2024-01-12 and QQQ only through Wednesday 01-10
    history = market({"SPY": [1.0] * 10, "QQQ": [1.0] * 8 + [np.nan] * 2})

    # When checked as of Monday 2024-01-15 (a holiday: Friday is the latest day)
    report = check_prices(history, date(2024, 1, 15), ["SPY", "QQQ"])

    # Then QQQ is stale and says what was expected
    (issue,) = report.issues
    assert (issue.ticker, issue.date, issue.kind) == ("QQQ", date(2024, 1, 10), IssueKind.STALE)
    assert issue.message == (
        "QQQ 2024-01-10: stale: expected a close on 2024-01-12 (last trading day on or "
        "before 2024-01-15), latest close is 2024-01-10"
    )


def test_a_history_that_stopped_updating_is_stale_for_every_ticker() -> None:
    history = market({"SPY": [1.0] * 10, "QQQ": [2.0] * 10})  # through 2024-01-12

    report = check_prices(history, date(2024, 1, 22), ["SPY", "QQQ"], max_staleness_days=4)

    assert found(report, IssueKind.STALE) == {
        ("SPY", date(2024, 1, 12)),
        ("QQQ", date(2024, 1, 12)),
    }
    assert "within 4 calendar days of 2024-01-22" in report.issues[0].detail


def test_absent_or_not_yet_listed_tickers_are_missing() -> None:
    history = market({"SPY": [1.0] * 10, "NEW": [np.nan] * 8 + [5.0, 5.0]})

    report = check_prices(history, date(2024, 1, 5), ["SPY", "NEW", "ZZZ"])

    assert found(report, IssueKind.MISSING) == {
        ("NEW", date(2024, 1, 5)),
        ("ZZZ", date(2024, 1, 5)),
    }
    assert "its first close is 2024-01-11" in report.of_kind(IssueKind.MISSING)[0].detail


def test_an_as_of_before_the_history_makes_everything_missing() -> None:
    history = market({"SPY": [1.0] * 3})

    report = check_prices(history, date(2023, 6, 1), ["SPY"])

    assert [i.kind for i in report.issues] == [IssueKind.MISSING]
    assert "the history starts 2024-01-01" in report.issues[0].detail


def test_holes_are_gaps_and_since_limits_the_scan() -> None:
    # Given SPY with no close on 2024-01-03 and 2024-01-04, and again on 01-10
    closes = [1.0, 1.0, np.nan, np.nan, 1.0, 1.0, 1.0, np.nan, 1.0, 1.0]
    history = market({"SPY": closes})

    everything = check_prices(history, date(2024, 1, 12), ["SPY"])
    recent = check_prices(history, date(2024, 1, 12), ["SPY"], since=date(2024, 1, 8))

    assert [i.message for i in everything.issues] == [
        "SPY 2024-01-03: gap: expected a close on every trading day of the history, none on "
        "2 day(s) from 2024-01-03 to 2024-01-04",
        "SPY 2024-01-10: gap: expected a close on every trading day of the history, none on "
        "1 day(s) from 2024-01-10 to 2024-01-10",
    ]
    assert found(recent, IssueKind.GAP) == {("SPY", date(2024, 1, 10))}


def test_zero_negative_and_infinite_closes_are_non_positive() -> None:
    history = market({"SPY": [1.0, 0.0, -1.0, np.inf, 1.0]})

    report = check_prices(history, date(2024, 1, 5), ["SPY"])

    assert found(report, IssueKind.NON_POSITIVE) == {
        ("SPY", date(2024, 1, 2)),
        ("SPY", date(2024, 1, 3)),
        ("SPY", date(2024, 1, 4)),
    }
    assert report.of_kind(IssueKind.NON_POSITIVE)[1].detail == (
        "expected a finite close > 0, found -1.0"
    )


# --- suspicious latest move, by hand -------------------------------------------------


def paired(last_long: float, last_short: float) -> PriceHistory:
    """A long ETF and its exact inverse over 100 days, then a chosen last day."""
    rng = np.random.default_rng(7)
    moves = rng.normal(0.0, 0.02, 100)
    long = 100.0 * np.cumprod(1 + moves)
    short = 100.0 * np.cumprod(1 - moves)
    return market(
        {
            "LONG": [*long, long[-1] * (1 + last_long)],
            "SHORT": [*short, short[-1] * (1 + last_short)],
        }
    )


@pytest.mark.parametrize(
    ("scenario", "last_long", "last_short", "suspicious"),
    [
        ("both move together, as they should", 0.30, -0.30, set()),
        ("inverse collapses while long moves normally", 0.10, -0.95, {"SHORT"}),
        ("calm day", 0.01, -0.01, set()),
    ],
)
def test_latest_move_is_suspicious_unless_a_closely_tracking_peer_explains_it(
    scenario: str, last_long: float, last_short: float, suspicious: set[str]
) -> None:
    history = paired(last_long, last_short)

    report = check_prices(history, history.day(-1), history.tickers)

    assert {t for t, _ in found(report, IssueKind.SUSPICIOUS)} == suspicious


# --- the report ----------------------------------------------------------------------


def test_report_round_trips_through_json_with_wire_values() -> None:
    issue = Issue(ticker="SPY", date=date(2024, 1, 2), kind=IssueKind.GAP, detail="x")
    report = QualityReport(as_of=date(2024, 1, 3), tickers=("SPY",), issues=(issue,))

    wire = report.model_dump(mode="json")

    assert wire["issues"][0]["kind"] == "gap"
    assert QualityReport.model_validate(wire) == report
    assert QualityReport(as_of=date(2024, 1, 3), tickers=("SPY",)).ok
