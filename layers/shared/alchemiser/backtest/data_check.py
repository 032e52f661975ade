"""The daily cycle's data-quality check, run for a symphony over the closes it reads.

``check_symphony_data`` runs ``alchemiser.market.quality.check_prices`` (the rules the
cycle applies) on the tickers a symphony reads, then says which allocations depended on
a flagged close. A flagged close touches an allocation in two ways:

* **decided**: the day's target weights change when the symphony is evaluated again
  on the history with every flagged close made ordinary (``neutralised``): exactly the
  days that would have held something else, found in one more vectorised evaluation;
* **held through** (backtests): the book held the ticker at the close before a flagged
  close, so that day's return carries the flagged move (SOXS's unadjusted split of
  2026-05-26 costs ``soxl_growth.clj`` 94.6 % in a day).

``book_data_problems`` is the cycle's use of the same rules: what stops a book today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from alchemiser.backtest.simulate import BacktestResult
from alchemiser.dsl.engine import AllocationHistory, evaluate_history
from alchemiser.dsl.program import Program
from alchemiser.market.history import FloatArray, PriceHistory
from alchemiser.market.quality import Issue, IssueKind, QualityReport, check_prices, neutralised

# Weights closer than this are the same allocation (float noise of a re-evaluation).
SAME_WEIGHT = 1e-9
_SHOWN_DAYS = 8
_MOVES = (IssueKind.BAD_PRINT, IssueKind.SUSPICIOUS)


@dataclass(frozen=True)
class HeldThrough:
    """A day whose return carries a flagged move: the book held ``weight`` of ``ticker``."""

    day: date
    ticker: str
    weight: float
    move: float  # the ticker's flagged move that day

    def describe(self, name: str) -> str:
        return f"{self.day} held {name} {self.weight:.0%} through a flagged {self.move:+.1%}"


@dataclass(frozen=True)
class DataCheck:
    """What the check found in a symphony's closes, and which allocations it touched."""

    report: QualityReport
    decided: tuple[date, ...] = ()  # days whose weights change without the flagged closes
    held: tuple[HeldThrough, ...] = ()
    spellings: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def flagged_moves(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.report.issues if i.kind in _MOVES)

    def to_json_dict(self) -> dict[str, object]:
        return {
            "issues": [
                {
                    "ticker": i.ticker,
                    "date": i.date.isoformat(),
                    "kind": i.kind.value,
                    "value": i.value,
                    "move": i.move,
                    "detail": i.detail,
                }
                for i in self.report.issues
            ],
            "decided_days": [d.isoformat() for d in self.decided],
            "held_through": [
                {"date": h.day.isoformat(), "ticker": h.ticker, "weight": h.weight, "move": h.move}
                for h in self.held
            ],
        }

    def lines(self, *, decided: bool = True) -> list[str]:
        """Return the findings for a person: one line per issue, then what they touched."""
        if self.report.ok:
            return ["data quality: no issue in the closes this symphony reads"]
        out = [
            f"data quality: {len(self.report.issues)} issue(s) in the closes this symphony "
            "reads (ticker, date, kind, value):"
        ]
        for issue in self.report.issues:
            value = "-" if issue.value is None else f"{issue.value:.6g}"
            out.append(
                f"  {self._name(issue.ticker)} {issue.date} {issue.kind.value} {value}: "
                f"{issue.detail}"
            )
        if decided:
            out.append(f"  decided on them: {self._decided_summary()}")
        out.extend(f"  {h.describe(self._name(h.ticker))}" for h in self.held)
        return out

    def _name(self, ticker: str) -> str:
        return self.spellings.get(ticker, ticker)

    def _decided_summary(self) -> str:
        if not self.flagged_moves:
            return "no allocation (nothing flagged to leave out)"
        if not self.decided:
            return "no allocation changes without the flagged closes"
        shown = ", ".join(d.isoformat() for d in self.decided[:_SHOWN_DAYS])
        more = len(self.decided) - _SHOWN_DAYS
        return (
            f"{len(self.decided)} day(s) would hold something else without the flagged "
            f"closes ({self.decided[0]} .. {self.decided[-1]}): {shown}"
            + (f" and {more} more" if more > 0 else "")
        )


def check_symphony_data(
    program: Program,
    history: PriceHistory,
    as_of: date,
    *,
    since: date | None = None,
    first_day: date | None = None,
    allocations: AllocationHistory | None = None,
    also: Sequence[str] = (),
) -> DataCheck:
    """Check the closes ``program`` reads up to ``as_of``; find the allocations they decided.

    ``allocations`` (the symphony over ``history``, if already evaluated) saves one
    evaluation; days before ``first_day`` are not reported; ``also`` names more tickers
    to check (a book's holdings that the symphony no longer reads).
    """
    tickers = list(dict.fromkeys([*program.tickers, *also]))
    report = check_prices(history, as_of, tickers, since=since)
    check = DataCheck(report, spellings=program.spellings)
    if not check.flagged_moves:
        return check
    upto = history.truncate(as_of)
    actual = allocations if allocations is not None else evaluate_history(program, upto)
    without = evaluate_history(program, neutralised(upto, check.flagged_moves))
    days = [_day(actual.dates[r]) for r in _changed_rows(actual, without)]
    decided = tuple(d for d in days if (first_day is None or d >= first_day) and d <= as_of)
    return replace(check, decided=decided)


def with_holdings(check: DataCheck, result: BacktestResult) -> DataCheck:
    """Add the days on which the backtest held a ticker through one of its flagged moves."""
    index = {t: j for j, t in enumerate(result.tickers)}
    days = [_day(d) for d in result.dates]
    rows = {d: i for i, d in enumerate(days)}
    held = []
    for issue in check.flagged_moves:
        i, j = rows.get(issue.date), index.get(issue.ticker)
        if i is None or j is None or i == 0 or result.holdings[i - 1, j] <= SAME_WEIGHT:
            continue
        weight = float(result.holdings[i - 1, j])
        held.append(HeldThrough(issue.date, issue.ticker, weight, issue.move or 0.0))
    return replace(check, held=tuple(held))


def book_data_problems(
    program: Program,
    history: PriceHistory,
    held: Sequence[str],
    day: date,
    lookback: timedelta,
) -> tuple[list[Issue], list[Issue]]:
    """Split the issues of a book's closes into those that stop it today and the others.

    The closes checked are those of the symphony's tickers and of ``held`` (the book's
    positions) over ``lookback``. Everything stops the book except a flagged move
    before ``day``, in a ticker the book does not hold, that today's allocation does
    not depend on: today's closes are traded on and cannot be confirmed yet, and a
    stale, missing or broken series stops it wherever it is.
    """
    check = check_symphony_data(
        program, history, day, since=day - lookback, first_day=day, also=held
    )
    tolerated = [
        i
        for i in check.flagged_moves
        if i.date < day and day not in check.decided and i.ticker not in held
    ]
    blocking = [i for i in check.report.issues if i not in tolerated]
    return blocking, tolerated


def _changed_rows(a: AllocationHistory, b: AllocationHistory) -> list[int]:
    tickers = sorted(set(a.tickers) | set(b.tickers))
    left, right = _aligned(a, tickers), _aligned(b, tickers)
    differs = np.abs(left - right).max(axis=1, initial=0.0) > SAME_WEIGHT
    differs |= _valid(a) != _valid(b)
    return [int(r) for r in np.flatnonzero(differs)]


def _valid(allocations: AllocationHistory) -> np.ndarray:
    rows = np.arange(len(allocations.dates))
    return rows >= allocations.start


def _aligned(allocations: AllocationHistory, tickers: list[str]) -> FloatArray:
    out = np.zeros((len(allocations.dates), len(tickers)))
    index = {t: i for i, t in enumerate(tickers)}
    for j, ticker in enumerate(allocations.tickers):
        out[:, index[ticker]] = allocations.weights[:, j]
    return out


def _day(value: np.datetime64) -> date:
    return date.fromisoformat(str(value))
