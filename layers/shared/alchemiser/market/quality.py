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
``p_{t+1}`` is about ``p_{t-1}``. Flag row t when all of these hold:

* ``|r_t| >= 10 * sigma_t``, with ``sigma_t`` the standard deviation of the
  ticker's previous 60 daily log returns (at least 20), so the bar rises with the
  ticker's own volatility: a 3x or volatility ETF needs a far larger jump than a
  bond fund;
* ``|r_t| >= 2%``, so the sub-cent wiggles of T-bill funds (sigma ~ 0.01%) are not
  spikes;
* ``|r_t + r_{t+1}| <= 10% of |r_t|``: the next close undoes at least 90% of the
  jump. Only a close on or before ``as_of`` can confirm it (no look-ahead).

Why these numbers, measured on the 51 real ETFs in ``../shared/data/prices``:
the two reverting spikes they catch are BTAL 2015-04-29 (-33%, 48 sigma, fully
undone to the last digit) and UUP 2007-06-20 (-3.8% for a dollar-index fund,
13.6 sigma, 97% undone). Genuine crisis days revert less or are smaller: VIXM
2024-08-05 (12.4 sigma, 79% undone), BND 2020-03-12 (14.7 sigma, 74%), UVXY
2018-02-05 (+51%, 9.3 sigma, 80%) fail the reversion test by a factor of two;
days that did revert almost fully were at most 7.6 sigma (LQD 2008-09-29, XLU
2020-03-16 at 5.2), 25% below the sigma bar. The SVXY collapse of 2018-02-05/06
and the SOXL/SOXS swings of 2025-04 are not reversals at all.

Suspicious latest close
-----------------------
A spike on the last row cannot be confirmed: the reverting close does not exist
yet. So the latest close (the one on the last trading day on or before
``as_of``) is ``suspicious`` when it moved more than 25% and more than 8 sigma.
That fires on genuine extremes too (SVXY on 2018-02-06, -83%) as well as on data
errors (SOXS on 2026-05-26, -94.6% on a day SOXL rose 18.5%, a split that was not
adjusted): trading on such a day should stop until a person has looked.
"""

from __future__ import annotations

from collections.abc import Iterable
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
REVERT_TOLERANCE = 0.10
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
    sigma = _trailing_vol(closes)
    index = history.ticker_index
    issues: list[Issue] = []
    for ticker in wanted:
        j = index.get(ticker)
        if j is None:
            source = history.source or "unnamed"
            detail = f"expected closes for {ticker}, the history ({source}) has none"
            issues.append(Issue(ticker=ticker, date=as_of, kind=IssueKind.MISSING, detail=detail))
            continue
        scan = _TickerScan(history, ticker, closes[:, j], sigma[:, j], first_row, as_of)
        issues.extend(scan.run(max_staleness_days))
        if last_row >= max(first_row, 1):
            issues.extend(_suspicious_latest(history, closes, sigma, j))
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


class _TickerScan:
    """The checks of one ticker's column, rows ``[0, last]`` read, ``[first_row, last]`` scanned."""

    def __init__(
        self,
        history: PriceHistory,
        ticker: str,
        column: FloatArray,
        sigma: FloatArray,
        first_row: int,
        as_of: date,
    ) -> None:
        self.history, self.ticker, self.column, self.sigma = history, ticker, column, sigma
        self.first_row, self.as_of = first_row, as_of
        self.present = np.flatnonzero(~np.isnan(column))

    def run(self, max_staleness_days: int) -> list[Issue]:
        if not self.present.size:
            later = np.flatnonzero(~np.isnan(self.history.column(self.ticker)))
            found = (
                f"its first close is {self.history.day(int(later[0]))}"
                if later.size
                else "it has no close at all"
            )
            detail = f"expected a close on or before {self.as_of}, {found}"
            return [self._issue(self.as_of, IssueKind.MISSING, detail)]
        return [
            *self._stale(max_staleness_days),
            *self._gaps(),
            *self._impossible(),
            *self._bad_prints(),
        ]

    def _issue(self, day: date, kind: IssueKind, detail: str) -> Issue:
        return Issue(ticker=self.ticker, date=day, kind=kind, detail=detail)

    def _stale(self, max_staleness_days: int) -> list[Issue]:
        last_row = len(self.column) - 1
        last_close = self.history.day(int(self.present[-1]))
        expected = self.history.day(last_row)
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
        issues = []
        for run in np.split(holes, np.flatnonzero(np.diff(holes) > 1) + 1) if holes.size else []:
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
        bad = rows[~np.isfinite(values) | (values <= 0)]
        return [
            self._issue(
                self.history.day(int(r)),
                IssueKind.NON_POSITIVE,
                f"expected a finite close > 0, found {self.column[r]}",
            )
            for r in bad
        ]

    def _bad_prints(self) -> list[Issue]:
        returns = log_returns(self.column)
        spike, back = returns[:-1], returns[1:]
        with np.errstate(invalid="ignore"):
            flagged = (
                (np.abs(spike) >= SPIKE_SIGMAS * self.sigma[:-1])
                & (np.abs(spike) >= SPIKE_MIN_LOG_MOVE)
                & (np.abs(spike + back) <= REVERT_TOLERANCE * np.abs(spike))
            )
        flagged[: self.first_row] = False
        issues = []
        for row in np.flatnonzero(flagged):
            before, value, after = self.column[row - 1], self.column[row], self.column[row + 1]
            detail = (
                f"expected a close near {before:.6g} (previous) and {after:.6g} (next), found "
                f"{value:.6g}: a {np.expm1(spike[row]):+.1%} one-day spike "
                f"({abs(spike[row]) / self.sigma[row]:.1f} sigma of its last {VOL_WINDOW} days) "
                "undone the next day"
            )
            issues.append(self._issue(self.history.day(int(row)), IssueKind.BAD_PRINT, detail))
        return issues


def _suspicious_latest(
    history: PriceHistory, closes: FloatArray, sigma: FloatArray, j: int
) -> list[Issue]:
    """Flag an extreme, uncorroborated move into the latest row of column ``j``."""
    row = len(closes) - 1
    before, now = closes[row - 1, j], closes[row, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        move = now / before - 1.0
        sigmas = abs(np.log1p(move)) / sigma[row, j]
    if not (np.isfinite(move) and np.isfinite(sigmas)):
        return []
    if abs(move) <= SUSPICIOUS_MIN_MOVE or sigmas <= SUSPICIOUS_SIGMAS:
        return []
    peer = _closest_peer(closes, j)
    note = "no ticker tracked it closely over the last 60 days"
    if peer is not None:
        k, rho, beta = peer
        peer_move = closes[row, k] / closes[row - 1, k] - 1.0
        expected = beta * peer_move
        if abs(move - expected) <= PEER_TOLERANCE * abs(move):
            return []  # a genuine market move: its closest peer moved the same way
        note = (
            f"{history.tickers[k]} (correlation {rho:+.2f}) moved {peer_move:+.1%}, "
            f"which implies {expected:+.1%}"
        )
    ticker = history.tickers[j]
    detail = (
        f"expected a latest move within {SUSPICIOUS_MIN_MOVE:.0%} or {SUSPICIOUS_SIGMAS:.0f} "
        f"sigma, found {move:+.1%} ({sigmas:.1f} sigma) from {before:.6g} to {now:.6g}; "
        f"{note}; cannot be confirmed before the next close"
    )
    return [Issue(ticker=ticker, date=history.day(row), kind=IssueKind.SUSPICIOUS, detail=detail)]


def _closest_peer(closes: FloatArray, j: int) -> tuple[int, float, float] | None:
    """Return (column, correlation, beta) of the ticker whose daily returns tracked
    column ``j`` most closely over the previous VOL_WINDOW days, if |correlation| >= 0.9.

    Beta is the least-squares slope of ``j``'s simple returns on the peer's, so the
    peer's move today implies ``beta * peer_move`` for ``j``. The latest row is used only
    for the peer's move, never to fit.
    """
    row = len(closes) - 1
    window = closes[max(row - VOL_WINDOW - 1, 0) : row]
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = window[1:] / window[:-1] - 1.0
        today = closes[row] / closes[row - 1] - 1.0
    x = returns[:, j : j + 1]
    both = np.isfinite(x) & np.isfinite(returns)
    count = both.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
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
    return k, float(corr[k]), float(cov[k] / var_y[k])
