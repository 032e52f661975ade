"""Trailing returns, calendar months and years, best/worst and win rate, worked out by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pytest

from alchemiser.analytics.periods import (
    DatedValue,
    monthly_returns,
    months_before,
    period_stats,
    trailing_returns,
    win_rate,
    yearly_returns,
)


def _days(*days: str) -> npt.NDArray[np.datetime64]:
    return np.array(days, dtype="datetime64[D]")


def _returns(*values: float) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


# Wealth 1.1, 1.045, 1.0659, 1.0659, 1.097877: months Jan +4.5 %, Feb +2 %, Mar +3 %.
DATES = _days("2024-01-30", "2024-01-31", "2024-02-01", "2024-02-29", "2024-03-28")
RETURNS = _returns(0.10, -0.05, 0.02, 0.0, 0.03)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2023, 3, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 15), 1, date(2023, 12, 15)),
        (date(2024, 2, 29), 12, date(2023, 2, 28)),
        (date(2024, 5, 31), 3, date(2024, 2, 29)),
    ],
)
def test_months_before_clips_to_the_shorter_month(day: date, months: int, expected: date) -> None:
    # Given / When / Then
    assert months_before(day, months) == expected


def test_month_returns_compound_the_days_of_each_calendar_month() -> None:
    # Given / When
    months = monthly_returns(DATES, RETURNS)
    # Then
    assert months.starts == (date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1))
    assert months.returns == pytest.approx([1.1 * 0.95 - 1, 0.02, 0.03], abs=1e-15)


def test_year_returns_compound_each_calendar_year() -> None:
    # Given: two days in 2023, one in 2024
    dates = _days("2023-12-28", "2023-12-29", "2024-01-02")
    # When
    years = yearly_returns(dates, _returns(0.1, 0.1, -0.5))
    # Then
    assert years.starts == (date(2023, 1, 1), date(2024, 1, 1))
    assert years.returns == pytest.approx([0.21, -0.5], abs=1e-15)


def test_best_and_worst_day_and_month_and_win_rate() -> None:
    # Given / When
    stats = period_stats(DATES, RETURNS)
    # Then
    assert stats.best_day == DatedValue(date(2024, 1, 30), 0.10)
    assert stats.worst_day == DatedValue(date(2024, 1, 31), -0.05)
    assert stats.best_month.day == date(2024, 1, 1)
    assert stats.best_month.value == pytest.approx(0.045, abs=1e-15)
    assert stats.worst_month == DatedValue(date(2024, 2, 1), pytest.approx(0.02, abs=1e-15))
    # three of the four days that moved were up; the flat day does not count
    assert stats.win_rate == 0.75


def test_win_rate_of_a_series_that_never_moved_is_undefined() -> None:
    # Given / When / Then
    assert win_rate(_returns(0.0, 0.0)) is None
    assert win_rate(_returns(-0.01, 0.0)) == 0.0


def test_trailing_windows_start_at_the_last_close_on_or_before_their_anchor() -> None:
    # Given: the series ends on 2024-03-28 and starts on 2024-01-30
    # When
    trailing = trailing_returns(DATES, RETURNS)
    # Then: MTD from the close of 2024-02-29, 1M from 2024-02-28 -> the close of 02-01
    assert trailing.end == date(2024, 3, 28)
    assert trailing.mtd == pytest.approx(0.03, abs=1e-15)
    assert trailing.one_month == pytest.approx(0.03, abs=1e-15)
    # 3M (from 2023-12-28), YTD (from 2023-12-31) and 1Y start before the series does
    assert trailing.three_months is None
    assert trailing.ytd is None
    assert trailing.one_year is None
    assert trailing.inception == pytest.approx(1.1 * 0.95 * 1.02 * 1.03 - 1, abs=1e-15)


def test_ytd_counts_from_the_last_close_of_the_previous_year() -> None:
    # Given: wealth 1.01 (2023-12-29), 1.0302 (2024-01-02), 1.019898 (2024-02-15)
    dates = _days("2023-12-29", "2024-01-02", "2024-02-15")
    # When
    trailing = trailing_returns(dates, _returns(0.01, 0.02, -0.01))
    # Then
    assert trailing.ytd == pytest.approx(1.02 * 0.99 - 1, abs=1e-15)
    assert trailing.mtd == pytest.approx(-0.01, abs=1e-15)  # from the close of 2024-01-02
    assert trailing.one_month == pytest.approx(-0.01, abs=1e-15)  # anchor 2024-01-15
    assert trailing.three_months is None  # anchor 2023-11-15
    assert [label for label, _ in trailing.rows()] == [
        "MTD",
        "1M",
        "3M",
        "YTD",
        "1Y",
        "Since inception",
    ]
