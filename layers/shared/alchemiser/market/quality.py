"""Data-quality checks on daily closes before they drive a signal or an order.

This module is the one place the quality rules live: the daily cycle, ``eval``,
``backtest`` and ``validate --data`` all run ``check_prices``. It reports, per ticker,
everything that would make a signal computed as of a date untrustworthy: no data,
stale data, holes, impossible prices, and closes whose move nothing explains. Nothing
is repaired in the data; ``neutralised`` builds the counterfactual history used to say
which allocations depended on a flagged close.

Unexplained moves (``alchemiser.market.moves``): a close is flagged when its move from
the previous close is abnormal for the ticker (in sigma of its own trailing returns,
with no minimum percentage beyond 1 %) and its correlated peers did not make the same
move that day: a genuine market move shows in correlated tickers the same day, a bad
print does not. Then:

* ``bad_print``: the next close undoes it (back within 25 % of the jump, or 3 sigma, of
  the close before): a one-day error such as BTAL 2015-04-29 (-33 %, undone to the
  digit) or UUP 2007-06-20 (-3.8 % in a dollar fund, 13 sigma, 97 % undone);
* ``suspicious``: nothing undoes it: on the latest row it cannot be confirmed before
  the next close (trading should stop until a person has looked); earlier, the series
  stepped to a new level, as SOXS on 2026-05-26 (-94.6 % while its inverse twin SOXL
  rose 18.5 %: a split the data never adjusted).

Only rows on or before ``as_of`` are read, so no check looks ahead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict

from alchemiser.market.history import FloatArray, PriceHistory
from alchemiser.market.moves import VOL_WINDOW, MarketMoves, UnexplainedMove

# The longest break between two NYSE sessions in normal times is 4 calendar days
# (Thursday to Monday over Good Friday, Friday to Tuesday over a Monday holiday).
DEFAULT_MAX_STALENESS_DAYS = 4
REVERT_FRACTION = 0.25
REVERT_SIGMAS = 3.0


class IssueKind(StrEnum):
    """What is wrong with a ticker's closes."""

    STALE = "stale"
    MISSING = "missing"
    BAD_PRINT = "bad_print"
    NON_POSITIVE = "non_positive"
    GAP = "gap"
    SUSPICIOUS = "suspicious"


class Issue(BaseModel):
    """One problem with one ticker's closes, dated where it occurs.

    ``value`` is the close of that day; ``move`` its change from the previous close, for
    the issues about a move (``bad_print``, ``suspicious``).
    """

    model_config = ConfigDict(frozen=True)

    ticker: str
    date: date
    kind: IssueKind
    detail: str
    value: float | None = None
    move: float | None = None

    @property
    def message(self) -> str:
        """Return a one-line human message: what was expected and what was found."""
        return f"{self.ticker} {self.date}: {self.kind.value}: {self.detail}"


class QualityReport(BaseModel):
    """The outcome of ``check_prices``: ok when there is no issue."""

    model_config = ConfigDict(frozen=True)

    as_of: date
    tickers: tuple[str, ...]
    issues: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def messages(self) -> list[str]:
        return [issue.message for issue in self.issues]

    def of_kind(self, kind: IssueKind) -> tuple[Issue, ...]:
        """Return the issues of one kind."""
        return tuple(i for i in self.issues if i.kind == kind)

    def tickers_with_issues(self) -> frozenset[str]:
        return frozenset(i.ticker for i in self.issues)


def check_prices(
    history: PriceHistory,
    as_of: date,
    tickers: Iterable[str],
    max_staleness_days: int = DEFAULT_MAX_STALENESS_DAYS,
    since: date | None = None,
) -> QualityReport:
    """Check the closes of ``tickers`` that a signal computed as of ``as_of`` would read.

    Only rows on or before ``as_of`` are read. Gaps, impossible prices and unexplained
    moves are looked for from ``since`` (default: the whole history); the latest close
    is also checked for staleness. Every ticker of ``history`` serves as a peer.
    """
    wanted = tuple(dict.fromkeys(tickers))
    last_row = history.index_on_or_before(as_of)
    if last_row < 0:
        span = f"starts {history.day(0)}" if len(history.dates) else "is empty"
        detail = f"expected closes on or before {as_of}, the history {span}"
        nothing = (
            Issue(ticker=t, date=as_of, kind=IssueKind.MISSING, detail=detail) for t in wanted
        )
        return QualityReport(as_of=as_of, tickers=wanted, issues=tuple(nothing))
    first_row = (
        0 if since is None else int(np.searchsorted(history.dates, np.datetime64(since, "D")))
    )
    closes = history.closes[: last_row + 1]
    moves = MarketMoves(closes, history.tickers, first_row)
    index = history.ticker_index
    issues: list[Issue] = []
    for ticker in wanted:
        j = index.get(ticker)
        if j is None:
            source = history.source or "unnamed"
            detail = f"expected closes for {ticker}, the history ({source}) has none"
            issues.append(Issue(ticker=ticker, date=as_of, kind=IssueKind.MISSING, detail=detail))
            continue
        scan = _TickerScan(history, closes, moves, j, first_row, as_of)
        issues.extend(scan.run(max_staleness_days))
    return QualityReport(as_of=as_of, tickers=wanted, issues=tuple(issues))


def neutralised(history: PriceHistory, issues: Sequence[Issue]) -> PriceHistory:
    """Return ``history`` as it would read had each flagged close been an ordinary one.

    A bad print, or a suspicious latest close, takes the previous close (a flat day);
    an earlier suspicious step is treated as an unadjusted split: every close before it
    is scaled so that the day is flat and the later series stays as it is. Other issues
    leave the closes alone. Used to find the allocations that depend on flagged closes.
    """
    closes = np.array(history.closes)
    index, last = history.ticker_index, len(history.dates) - 1
    for issue in sorted(issues, key=lambda i: i.date):
        j = index.get(issue.ticker)
        row = _row_of(history, issue.date)
        if j is None or row is None or row == 0 or issue.kind not in _MOVES:
            continue
        before, now = closes[row - 1, j], closes[row, j]
        if issue.kind is IssueKind.BAD_PRINT or row == last:
            closes[row, j] = before
        elif np.isfinite(before) and before > 0:
            closes[:row, j] *= now / before
    return history.with_closes(closes)


_MOVES = (IssueKind.BAD_PRINT, IssueKind.SUSPICIOUS)


def _row_of(history: PriceHistory, day: date) -> int | None:
    row = int(np.searchsorted(history.dates, np.datetime64(day, "D")))
    return row if row < len(history.dates) and history.dates[row] == np.datetime64(day) else None


class _TickerScan:
    """The checks of column ``j``: rows up to ``as_of`` read, from ``first_row`` scanned."""

    def __init__(
        self,
        history: PriceHistory,
        closes: FloatArray,
        moves: MarketMoves,
        j: int,
        first_row: int,
        as_of: date,
    ) -> None:
        self.history, self.moves, self.j = history, moves, j
        self.ticker = history.tickers[j]
        self.column = closes[:, j]
        self.first_row, self.as_of = first_row, as_of
        self.present = np.flatnonzero(~np.isnan(self.column))

    def run(self, max_staleness_days: int) -> list[Issue]:
        if not self.present.size:
            later = np.flatnonzero(~np.isnan(self.history.column(self.ticker)))
            first = self.history.day(int(later[0])) if later.size else None
            found = f"its first close is {first}" if first else "it has no close at all"
            detail = f"expected a close on or before {self.as_of}, {found}"
            return [self._issue(self.as_of, IssueKind.MISSING, detail)]
        return [
            *self._stale(max_staleness_days),
            *self._gaps(),
            *self._impossible(),
            *self._unexplained(),
        ]

    def _issue(self, day: date, kind: IssueKind, detail: str, row: int | None = None) -> Issue:
        value = None if row is None else float(self.column[row])
        return Issue(ticker=self.ticker, date=day, kind=kind, detail=detail, value=value)

    def _stale(self, max_staleness_days: int) -> list[Issue]:
        last_close = self.history.day(int(self.present[-1]))
        expected = self.history.day(len(self.column) - 1)
        age = (self.as_of - last_close).days
        if last_close < expected:
            detail = (
                f"expected a close on {expected} (last trading day on or before {self.as_of}), "
                f"latest close is {last_close}"
            )
        elif age > max_staleness_days:
            detail = (
                f"expected a close within {max_staleness_days} calendar days of {self.as_of}, "
                f"latest close is {last_close} ({age} days old)"
            )
        else:
            return []
        return [self._issue(last_close, IssueKind.STALE, detail, int(self.present[-1]))]

    def _gaps(self) -> list[Issue]:
        start = max(int(self.present[0]), self.first_row)
        holes = np.flatnonzero(np.isnan(self.column[start : int(self.present[-1])])) + start
        runs = np.split(holes, np.flatnonzero(np.diff(holes) > 1) + 1) if holes.size else []
        issues = []
        for run in runs:
            first, last = self.history.day(int(run[0])), self.history.day(int(run[-1]))
            detail = (
                f"expected a close on every trading day of the history, none on "
                f"{len(run)} day(s) from {first} to {last}"
            )
            issues.append(self._issue(first, IssueKind.GAP, detail))
        return issues

    def _impossible(self) -> list[Issue]:
        rows = self.present[self.present >= self.first_row]
        values = self.column[rows]
        return [
            self._issue(
                self.history.day(int(r)),
                IssueKind.NON_POSITIVE,
                f"expected a finite close > 0, found {self.column[r]}",
                int(r),
            )
            for r in rows[~np.isfinite(values) | (values <= 0)]
        ]

    def _unexplained(self) -> list[Issue]:
        issues: list[Issue] = []
        undone_row = -1
        for move in self.moves.unexplained(self.j, self.first_row):
            if move.row == undone_row:
                continue  # the close after a bad print, back where it belongs
            undone = self._undone(move)
            kind = IssueKind.BAD_PRINT if undone else IssueKind.SUSPICIOUS
            undone_row = move.row + 1 if undone else -1
            detail = self._describe(move, undone)
            issue = self._issue(self.history.day(move.row), kind, detail, move.row)
            issues.append(issue.model_copy(update={"move": move.move}))
        return issues

    def _undone(self, move: UnexplainedMove) -> bool:
        row = move.row
        if row + 1 >= len(self.column):
            return False
        before, jump, after = self.column[row - 1], self.column[row], self.column[row + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            spike = abs(float(np.log(jump / before)))
            left = abs(float(np.log(after / before)))
        sigma = float(self.moves.sigma[row, self.j])
        return bool(
            np.isfinite(left) and left <= max(REVERT_FRACTION * spike, REVERT_SIGMAS * sigma)
        )

    def _describe(self, move: UnexplainedMove, undone: bool) -> str:
        row = move.row
        before, value = self.column[row - 1], self.column[row]
        market = "; a market-wide day" if move.market_wide else ""
        peer = move.peer.describe() if move.peer else _NO_PEER
        if undone:
            outcome = f"undone the next close ({self.column[row + 1]:.6g})"
        elif row == len(self.column) - 1:
            outcome = "cannot be confirmed before the next close"
        else:
            outcome = "not undone: the series stepped to a new level (an unadjusted split?)"
        return (
            f"expected a move its peers explain, found {move.move:+.1%} ({move.sigmas:.1f} sigma "
            f"of its last {VOL_WINDOW} days) from {before:.6g} to {value:.6g}; {peer}{market}; "
            f"{outcome}"
        )


_NO_PEER = f"no ticker tracked it closely over the previous {VOL_WINDOW} days"
