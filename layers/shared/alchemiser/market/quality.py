"""Data-quality checks on daily closes before they drive a signal or an order.

``check_prices`` reports, per ticker, everything that would make a signal computed
as of a date untrustworthy: no data, stale data, holes, impossible prices, one-day
bad prints, and an unconfirmed extreme move on the latest close. Nothing is
repaired here; the caller decides (the daily cycle fails closed on any issue in
the window its strategies read).

Bad prints
----------
A bad print is a close that is wrong for one day and right again the next: the
log return ``r_t = ln(p_t / p_{t-1})`` is a spike and ``r_{t+1}`` takes it back, so
``p_{t+1}`` is about ``p_{t-1}``. Row t is a bad print when all of these hold:

* ``|r_t| >= 10 sigma``, with ``sigma`` the standard deviation of the ticker's
  previous 60 daily log returns (at least 20 of them), so the bar rises with the
  ticker's own volatility: a 3x or a volatility ETF needs a far larger jump than a
  bond fund;
* ``|r_t| >= 2%``, so the sub-cent wiggles of T-bill funds (sigma ~ 0.01%) are
  never spikes;
* ``|r_t + r_{t+1}| <= max(10% of |r_t|, 1.5 sigma)``: the next close is back at
  the previous level, up to 10% of the jump or ordinary two-day noise. Only a
  close on or before ``as_of`` can confirm it (no look-ahead);
* the move is not explained by a peer: the ticker whose daily returns tracked this
  one most closely over the same 60 days (|correlation| >= 0.9), if there is one,
  did not make the same move that day (within 25%, after its beta).

Why these numbers, measured on the 51 real ETFs in ``../shared/data/prices``. The
rule flags exactly two closes: BTAL 2015-04-29 (-33%, 48 sigma, undone to the last
digit) and UUP 2007-06-20 (-3.8% in a dollar-index fund, 13.6 sigma, 97% undone);
neither has a peer. The genuine moves nearest the bar fail it by a margin: VIXM
2024-08-05 (12.4 sigma but back only to 2.6 sigma, 79% undone), BSV 2008-10-01
(10.5 sigma, back to 2.8 sigma), BND 2020-03-12 (14.7 sigma, back to 3.8 sigma);
moves that were undone almost fully were at most 9.3 sigma (UUP 2020-03-13; LQD
2008-09-29 at 7.6, XLU 2020-03-16 at 5.2). The SVXY collapse of 2018-02-05/06, UVXY
then (9.3 sigma, 80% undone) and the SOXL/SOXS swings of 2025-04 are not reversals.
Two consecutive bad closes, or a print that the next close does not undo, are not
bad prints under this rule (the second is covered, on the latest row, below).

Suspicious latest close
-----------------------
A spike on the latest row cannot be confirmed: the close that would undo it does not
exist yet. So the latest close (on the last trading day on or before ``as_of``) is
``suspicious`` when it moved more than 25% and more than 8 sigma, unless its peer
(as above) made the same move. Checking every day of the real data as if it were the
latest, this fires three times: BTAL 2015-04-29 (the bad print), SOXS 2026-05-26
(-94.6% on a day SOXL rose 18.5%: a split that the data did not adjust) and SVXY
2018-02-06 (-83%, genuine, but UVXY fell too, so no peer explains it). Market-wide
extremes, such as the 2025-04-09 rally (SOXS -56%, SQQQ -35%) or 2024-08-05 (SVIX -39%),
are explained by their peers. Trading should stop on a suspicious close until a
person has looked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from alchemiser.market.history import FloatArray, PriceHistory

# The longest break between two NYSE sessions in normal times is 4 calendar days
# (Thursday to Monday over Good Friday, Friday to Tuesday over a Monday holiday).
DEFAULT_MAX_STALENESS_DAYS = 4
VOL_WINDOW = 60
VOL_MIN_OBSERVATIONS = 20
SPIKE_SIGMAS = 10.0
SPIKE_MIN_LOG_MOVE = 0.02
REVERT_FRACTION = 0.10
REVERT_SIGMAS = 1.5
SUSPICIOUS_SIGMAS = 8.0
SUSPICIOUS_MIN_MOVE = 0.25
PEER_MIN_CORRELATION = 0.9
PEER_TOLERANCE = 0.25


class IssueKind(StrEnum):
    """What is wrong with a ticker's closes."""

    STALE = "stale"
    MISSING = "missing"
    BAD_PRINT = "bad_print"
    NON_POSITIVE = "non_positive"
    GAP = "gap"
    SUSPICIOUS = "suspicious"


class Issue(BaseModel):
    """One problem with one ticker's closes, dated where it occurs."""

    model_config = ConfigDict(frozen=True)

    ticker: str
    date: date
    kind: IssueKind
    detail: str

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

    Only rows on or before ``as_of`` are read. Gaps, impossible prices and bad prints
    are looked for from ``since`` (default: the whole history); the latest close is
    checked for staleness and for an unconfirmed extreme move.
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
    # Volatility is needed only from first_row on, which needs VOL_WINDOW returns before it.
    vol_from = max(first_row - VOL_WINDOW - 1, 0)
    sigma = np.full(closes.shape, np.nan)
    sigma[vol_from:] = _trailing_vol(closes[vol_from:])
    index = history.ticker_index
    issues: list[Issue] = []
    for ticker in wanted:
        j = index.get(ticker)
        if j is None:
            source = history.source or "unnamed"
            detail = f"expected closes for {ticker}, the history ({source}) has none"
            issues.append(Issue(ticker=ticker, date=as_of, kind=IssueKind.MISSING, detail=detail))
            continue
        scan = _TickerScan(history, closes, sigma, j, first_row, as_of)
        issues.extend(scan.run(max_staleness_days))
    return QualityReport(as_of=as_of, tickers=wanted, issues=tuple(issues))


def log_returns(closes: FloatArray) -> FloatArray:
    """Return ``ln(p_t / p_{t-1})`` per row (first row NaN; NaN around bad prices)."""
    usable = np.where(np.isfinite(closes) & (closes > 0), closes, np.nan)
    out = np.full(closes.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:] = np.log(usable[1:] / usable[:-1])
    return out


def _trailing_vol(closes: FloatArray) -> FloatArray:
    """Return, per row, the std of the previous VOL_WINDOW log returns (NaN if too few)."""
    returns = pd.DataFrame(log_returns(closes))
    rolling = returns.rolling(VOL_WINDOW, min_periods=VOL_MIN_OBSERVATIONS).std()
    return rolling.shift(1).to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class _PeerMove:
    """What the ticker that tracked another most closely did on one day."""

    ticker: str
    correlation: float
    move: float
    implied: float

    def explains(self, move: float) -> bool:
        return abs(move - self.implied) <= PEER_TOLERANCE * abs(move)

    def describe(self) -> str:
        return (
            f"{self.ticker} (correlation {self.correlation:+.2f}) moved {self.move:+.1%}, "
            f"which implies {self.implied:+.1%}"
        )


class _TickerScan:
    """The checks of column ``j``: rows up to ``as_of`` read, from ``first_row`` scanned."""

    def __init__(
        self,
        history: PriceHistory,
        closes: FloatArray,
        sigma: FloatArray,
        j: int,
        first_row: int,
        as_of: date,
    ) -> None:
        self.history, self.closes, self.j = history, closes, j
        self.ticker = history.tickers[j]
        self.column, self.sigma = closes[:, j], sigma[:, j]
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
            *self._bad_prints(),
            *self._suspicious(),
        ]

    def _issue(self, day: date, kind: IssueKind, detail: str) -> Issue:
        return Issue(ticker=self.ticker, date=day, kind=kind, detail=detail)

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
        return [self._issue(last_close, IssueKind.STALE, detail)]

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
            )
            for r in rows[~np.isfinite(values) | (values <= 0)]
        ]

    def _bad_prints(self) -> list[Issue]:
        returns = log_returns(self.column)
        spike, back, sigma = returns[:-1], returns[1:], self.sigma[:-1]
        with np.errstate(invalid="ignore"):
            candidates = (
                (np.abs(spike) >= SPIKE_SIGMAS * sigma)
                & (np.abs(spike) >= SPIKE_MIN_LOG_MOVE)
                & (
                    np.abs(spike + back)
                    <= np.maximum(REVERT_FRACTION * np.abs(spike), REVERT_SIGMAS * sigma)
                )
            )
        candidates[: self.first_row] = False
        issues = []
        for row in (int(r) for r in np.flatnonzero(candidates)):
            peer = _peer_move(self.history, self.closes, self.j, row)
            if peer is not None and peer.explains(float(np.expm1(spike[row]))):
                continue  # its closest peer made the same move: the market moved
            before, value, after = self.column[row - 1], self.column[row], self.column[row + 1]
            detail = (
                f"expected a close near {before:.6g} (previous) and {after:.6g} (next), found "
                f"{value:.6g}: a {np.expm1(spike[row]):+.1%} one-day spike "
                f"({abs(spike[row]) / sigma[row]:.1f} sigma of its last {VOL_WINDOW} days) "
                f"undone the next day; {peer.describe() if peer else _NO_PEER}"
            )
            issues.append(self._issue(self.history.day(row), IssueKind.BAD_PRINT, detail))
        return issues

    def _suspicious(self) -> list[Issue]:
        row = len(self.column) - 1
        if row < max(self.first_row, 1):
            return []
        before, now = self.column[row - 1], self.column[row]
        with np.errstate(invalid="ignore", divide="ignore"):
            move = float(now / before - 1.0)
            sigmas = float(abs(np.log1p(move)) / self.sigma[row])
        if not (np.isfinite(move) and np.isfinite(sigmas)):
            return []
        if abs(move) <= SUSPICIOUS_MIN_MOVE or sigmas <= SUSPICIOUS_SIGMAS:
            return []
        peer = _peer_move(self.history, self.closes, self.j, row)
        if peer is not None and peer.explains(move):
            return []  # a genuine market move: its closest peer moved the same way
        detail = (
            f"expected a latest move within {SUSPICIOUS_MIN_MOVE:.0%} or {SUSPICIOUS_SIGMAS:.0f} "
            f"sigma, found {move:+.1%} ({sigmas:.1f} sigma) from {before:.6g} to {now:.6g}; "
            f"{peer.describe() if peer else _NO_PEER}; cannot be confirmed before the next close"
        )
        return [self._issue(self.history.day(row), IssueKind.SUSPICIOUS, detail)]


_NO_PEER = f"no ticker tracked it closely over the previous {VOL_WINDOW} days"


def _peer_move(history: PriceHistory, closes: FloatArray, j: int, row: int) -> _PeerMove | None:
    """Return the move on ``row`` of the ticker that tracked column ``j`` most closely.

    The peer is the ticker whose simple daily returns over the previous VOL_WINDOW days
    correlate best with ``j``'s, if |correlation| >= PEER_MIN_CORRELATION; its move on
    ``row`` times the least-squares beta is the move it implies for ``j``. Row ``row`` is
    never used to fit.
    """
    window = closes[max(row - VOL_WINDOW - 1, 0) : row]
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = window[1:] / window[:-1] - 1.0
        today = closes[row] / closes[row - 1] - 1.0
        x = returns[:, j : j + 1]
        both = np.isfinite(x) & np.isfinite(returns)
        count = both.sum(axis=0)
        dx = np.where(both, x - np.where(both, x, 0.0).sum(axis=0) / count, 0.0)
        dy = np.where(both, returns - np.where(both, returns, 0.0).sum(axis=0) / count, 0.0)
        cov, var_x, var_y = (dx * dy).sum(axis=0), (dx * dx).sum(axis=0), (dy * dy).sum(axis=0)
        corr = cov / np.sqrt(var_x * var_y)
    eligible = (count >= VOL_MIN_OBSERVATIONS) & np.isfinite(corr) & np.isfinite(today)
    eligible[j] = False
    if not eligible.any():
        return None
    k = int(np.argmax(np.where(eligible, np.abs(corr), -1.0)))
    if abs(corr[k]) < PEER_MIN_CORRELATION:
        return None
    beta = float(cov[k] / var_y[k])
    return _PeerMove(history.tickers[k], float(corr[k]), float(today[k]), beta * float(today[k]))
