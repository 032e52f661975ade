"""Data-quality checks, by hand: each rule on series built to show it (real data: *_real.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.market.history import PriceHistory
from alchemiser.market.quality import Issue, IssueKind, QualityReport, check_prices, neutralised
from alchemiser.market.synthetic import business_days, synthetic_market


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


# --- unexplained moves, by hand -------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "spike", "back", "kind"),
    [
        ("16-sigma drop fully undone", 0.85, 1.0, IssueKind.BAD_PRINT),
        ("16-sigma jump fully undone", 1.0 / 0.85, 1.0, IssueKind.BAD_PRINT),
        ("16-sigma drop undone but for 2 %", 0.85, 1.02, IssueKind.BAD_PRINT),
        ("16-sigma drop only half undone", 0.85, 0.92, IssueKind.SUSPICIOUS),
        ("16-sigma drop that stays", 0.85, 0.85, IssueKind.SUSPICIOUS),
        ("9-sigma drop fully undone", 0.91, 1.0, IssueKind.BAD_PRINT),
        ("5-sigma drop fully undone", 0.95, 1.0, None),
    ],
)
def test_a_lone_ticker_is_judged_by_its_own_volatility_alone(
    scenario: str, spike: float, back: float, kind: IssueKind | None
) -> None:
    # Given 80 days of +-1% zigzag (volatility 1 %/day) and no other ticker, then a
    # jump and a next close
    closes = zigzag(80)
    closes += [closes[-1] * spike, closes[-1] * back, closes[-1] * back]
    history = market({"AAA": closes})

    # When it is checked
    report = check_prices(history, history.day(-1), ["AAA"])

    # Then only a move of 8 sigma or more is flagged: a bad print when the next close
    # undoes it, suspicious when it stays
    expected = [] if kind is None else [("AAA", history.day(80), kind)]
    assert [(i.ticker, i.date, i.kind) for i in report.issues] == expected
    if kind is not None:
        assert report.issues[0].value == pytest.approx(closes[80])


def test_a_calm_funds_wiggle_under_one_percent_is_not_flagged_but_a_larger_one_is() -> None:
    # Given a T-bill-like fund (0.01 %/day) with a -0.9 % print, and later a -2.5 % one
    closes = zigzag(80, step=0.0001)
    level = closes[-1]
    closes += [level * 0.991, level, level, level * 0.975, level, level]
    history = market({"BIL": closes})

    report = check_prices(history, history.day(-1), ["BIL"])

    # Then both are far beyond 8 sigma, but only the one over the 1 % floor is flagged
    assert found(report, IssueKind.BAD_PRINT) == {("BIL", history.day(83))}


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

    # Then exactly that close is flagged, as a bad print
    assert [(i.date, i.kind) for i in report.issues] == [(history.day(row), IssueKind.BAD_PRINT)]


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

    # Then there is no bad print; a jump of 25 % or more is a suspicious step
    assert not report.of_kind(IssueKind.BAD_PRINT)
    if not 0.8 < factor < 1.25:
        assert found(report, IssueKind.SUSPICIOUS) == {("AAA", history.day(row))}


def paired(last_long: float, last_short: float, days: int = 100) -> PriceHistory:
    """A long ETF and its exact inverse (volatility 2 %/day), then a chosen last day."""
    moves = np.random.default_rng(7).normal(0.0, 0.02, days)
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
        ("inverse collapses while long moves normally", 0.04, -0.95, {"SHORT"}),
        ("both disagree, each abnormal: both are suspect", 0.10, -0.95, {"LONG", "SHORT"}),
        ("a 20 % error in the long one, 10 sigma", 0.20, -0.005, {"LONG"}),
        ("a 10 % error in the long one, 5 sigma", 0.10, 0.0, {"LONG"}),
        ("calm day", 0.01, -0.01, set()),
    ],
)
def test_a_latest_move_its_twin_does_not_share_is_suspicious(
    scenario: str, last_long: float, last_short: float, suspicious: set[str]
) -> None:
    history = paired(last_long, last_short)

    report = check_prices(history, history.day(-1), history.tickers)

    assert {t for t, _ in found(report, IssueKind.SUSPICIOUS)} == suspicious


def test_the_detail_says_what_was_found_and_what_the_peer_implied() -> None:
    history = paired(0.04, -0.95)

    (issue,) = check_prices(history, history.day(-1), ["SHORT"]).issues

    assert issue.detail.startswith("expected a move its peers explain, found -95.0% (")
    assert "LONG (correlation -1.00) moved +4.0%, which implies -4." in issue.detail
    assert issue.detail.endswith("cannot be confirmed before the next close")


def independent(count: int, days: int = 100, seed: int = 3) -> dict[str, list[float]]:
    """Tickers with unrelated 1 %/day noise (no one is another's peer)."""
    rng = np.random.default_rng(seed)
    return {
        f"T{i:02d}": list(100.0 * np.cumprod(1 + rng.uniform(-0.017, 0.017, days)))
        for i in range(count)
    }


@pytest.mark.parametrize(
    ("others_abnormal", "lone_sigmas", "flagged"),
    [
        (0, 11.0, True),  # a calm market: an 11-sigma move of a ticker without peers
        (5, 11.0, False),  # 5 of 19 others moved 4 sigma: a market-wide day
        (5, 25.0, True),  # even then, 25 sigma is beyond the raised bar (20)
        (1, 11.0, True),  # one other ticker moving is not the market
    ],
)
def test_on_a_market_wide_day_the_bar_for_a_ticker_without_peers_rises(
    others_abnormal: int, lone_sigmas: float, flagged: bool
) -> None:
    # Given 19 unrelated tickers and a lone one, each with ~1 %/day of noise
    columns = independent(20)
    sigma = float(np.std(np.diff(columns["T00"]) / np.array(columns["T00"][:-1])))
    for i, ticker in enumerate(columns):
        last = columns[ticker][-1]
        if i == 0:
            move = lone_sigmas * sigma
        elif i <= others_abnormal:
            move = 4.0 * sigma
        else:
            move = 0.0
        columns[ticker].append(last * (1 + move))
    history = market(columns)

    # When the last day is checked
    report = check_prices(history, history.day(-1), ["T00"])

    # Then the lone ticker's move is flagged unless the market moved with it
    assert bool(report.of_kind(IssueKind.SUSPICIOUS)) is flagged


@pytest.mark.parametrize(("event", "flagged"), [(0.35, False), (0.0, True)])
def test_the_day_after_a_peers_extreme_move_is_not_flagged(event: float, flagged: bool) -> None:
    # Given a ticker and its inverse twin (2 %/day); on day 101 the twin jumps by
    # ``event`` (17 sigma) while the ticker falls by less than it implies, and on day
    # 102 the ticker falls 40 % more on its own
    calm = paired(0.0, 0.0, days=100)
    long, short = calm.column("LONG").tolist(), calm.column("SHORT").tolist()
    first_day = long[-1] * (1 - 0.7 * event)
    history = market(
        {
            "LONG": [*long, first_day, first_day * 0.60],
            "SHORT": [*short, short[-1] * (1 + event), short[-1] * (1 + event)],
        }
    )

    # When the catch-up day is checked
    report = check_prices(history, history.day(-1), ["LONG"], since=history.day(-1))

    # Then it is flagged only without the twin's event the day before: products that
    # settle after the close (VIX futures) catch up a day late
    assert bool(report.issues) is flagged, report.messages


def test_neutralised_history_flattens_flagged_closes() -> None:
    # Given a bad print on day 2 and a step (an unadjusted 1:10 split) on day 4
    history = market({"AAA": [10.0, 10.0, 5.0, 10.0, 1.0, 1.0]})
    issues = [
        Issue(ticker="AAA", date=history.day(2), kind=IssueKind.BAD_PRINT, detail=""),
        Issue(ticker="AAA", date=history.day(4), kind=IssueKind.SUSPICIOUS, detail=""),
    ]

    # When the history is neutralised
    fixed = neutralised(history, issues)

    # Then the bad print takes the previous close and the earlier closes are re-based
    assert fixed.column("AAA").tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert history.column("AAA").tolist() == [10.0, 10.0, 5.0, 10.0, 1.0, 1.0]


def test_a_suspicious_latest_close_is_neutralised_to_the_previous_one() -> None:
    history = market({"AAA": [10.0, 10.0, 13.0]})
    issue = Issue(ticker="AAA", date=history.day(2), kind=IssueKind.SUSPICIOUS, detail="")
    assert neutralised(history, [issue]).column("AAA").tolist() == [10.0, 10.0, 10.0]


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


# --- the report ----------------------------------------------------------------------


def test_report_round_trips_through_json_with_wire_values() -> None:
    issue = Issue(ticker="SPY", date=date(2024, 1, 2), kind=IssueKind.GAP, detail="x")
    report = QualityReport(as_of=date(2024, 1, 3), tickers=("SPY",), issues=(issue,))

    wire = report.model_dump(mode="json")

    assert wire["issues"][0]["kind"] == "gap"
    assert QualityReport.model_validate(wire) == report
    assert QualityReport(as_of=date(2024, 1, 3), tickers=("SPY",)).ok
