"""The account's dollar delta to the hedge underlying, estimated from data.

Each book's **target-allocation return stream** is what its targets earned day by day:
``r(d) = sum_j w(d-1, j) x r_j(d)`` with ``w`` the engine's allocation history (decided
at d-1's close) and ``r_j`` the assets' daily returns; a day holding nothing earns 0,
days before the book's first valid allocation are missing. Over the last ``window``
days where both are known, an ordinary least-squares fit ``r = a + beta x r_U`` of the
stream on the underlying's returns gives the book's beta and R^2; a book's dollar delta
is ``beta x NAV`` (a $10k TQQQ book is about $30k of QQQ). The account's delta is the
books' sum, plus the deltas of the option positions held on the underlying
(``qty x 100 x delta x spot``), so existing hedges are netted.

With ``underlying: auto`` the underlying is the candidate (QQQ, SPY) whose returns
explain the NAV-weighted account stream best (highest R^2). Fewer than ``min_days``
days of overlap is a DataError: no estimate, no hedge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from alchemiser.broker.options_models import CONTRACT_MULTIPLIER
from alchemiser.dsl.engine import AllocationHistory
from alchemiser.errors import DataError
from alchemiser.hedge.policy import CANDIDATE_UNDERLYINGS, HedgeUnderlying
from alchemiser.market.history import FloatArray, PriceHistory
from alchemiser.money import to_decimal

BETA_WINDOW = 126  # trading days (six months)
MIN_FIT_DAYS = 60


@dataclass(frozen=True)
class Fit:
    """An OLS fit of one return stream on the underlying's: slope, R^2 and days used."""

    beta: float
    r2: float
    days: int


@dataclass(frozen=True)
class BookExposure:
    book_id: str
    nav: Decimal
    fit: Fit

    @property
    def delta(self) -> Decimal:
        """Return the book's dollar delta to the underlying (beta x NAV)."""
        return (to_decimal(self.fit.beta) * self.nav).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Exposure:
    """The account's estimated dollar delta to one underlying on one day."""

    underlying: str
    row: int
    books: tuple[BookExposure, ...]
    account_fits: Mapping[str, Fit]  # per candidate underlying, of the NAV-weighted stream
    option_delta: Decimal

    @property
    def equity_delta(self) -> Decimal:
        return sum((b.delta for b in self.books), Decimal(0))

    @property
    def net_delta(self) -> Decimal:
        """Return the books' delta with the held options' delta netted in."""
        return self.equity_delta + self.option_delta


def daily_returns(closes: FloatArray) -> FloatArray:
    """Return ``c[t] / c[t-1] - 1`` per row (NaN on the first row and around missing closes)."""
    out = np.full(closes.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:] = closes[1:] / closes[:-1] - 1.0
    return out


def allocation_stream(allocations: AllocationHistory, history: PriceHistory) -> FloatArray:
    """Return the target-allocation return stream of one book on ``history``'s dates."""
    if len(allocations.dates) != len(history.dates) or not np.array_equal(
        allocations.dates, history.dates
    ):
        raise ValueError("the allocation history and the price history must share their dates")
    return target_stream(allocations.weights, allocations.tickers, allocations.start, history)


def target_stream(
    weights: FloatArray, tickers: Sequence[str], start: int, history: PriceHistory
) -> FloatArray:
    """Return what the targets ``weights`` (days x ``tickers``, valid from ``start``) earned."""
    returns = daily_returns(history.select(tickers).closes)
    held = weights[:-1] > 0
    contributions = np.where(held, weights[:-1] * np.nan_to_num(returns[1:]), 0.0)
    missing = (held & np.isnan(returns[1:])).any(axis=1)
    stream = np.full(len(history.dates), np.nan)
    stream[1:] = np.where(missing, np.nan, contributions.sum(axis=1))
    stream[: start + 1] = np.nan  # the first decision earns from the next day
    return stream


def fit_window(stream: FloatArray, underlying: FloatArray, row: int, window: int) -> Fit:
    """Fit ``stream`` on ``underlying`` over the ``window`` rows ending at ``row``."""
    lo = max(0, row - window + 1)
    y, x = stream[lo : row + 1], underlying[lo : row + 1]
    known = np.isfinite(y) & np.isfinite(x)
    y, x = y[known], x[known]
    days = len(y)
    if days < 2:
        return Fit(float("nan"), float("nan"), days)
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
    if sxx == 0:
        return Fit(float("nan"), float("nan"), days)
    r2 = sxy * sxy / (sxx * syy) if syy > 0 else 0.0
    return Fit(sxy / sxx, r2, days)


def rolling_fits(
    stream: FloatArray, underlying: FloatArray, window: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return beta, R^2 and the day count of the fit ending at every row (vectorised)."""
    known = np.isfinite(stream) & np.isfinite(underlying)
    y, x = np.where(known, stream, 0.0), np.where(known, underlying, 0.0)
    sums = [np.concatenate(([0.0], np.cumsum(a))) for a in (known * 1.0, x, y, x * x, y * y, x * y)]
    end = np.arange(1, len(stream) + 1)
    start = np.maximum(end - window, 0)
    n, sx, sy, sxx, syy, sxy = (s[end] - s[start] for s in sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov, varx, vary = n * sxy - sx * sy, n * sxx - sx * sx, n * syy - sy * sy
        beta = np.where(varx > 0, cov / varx, np.nan)
        r2 = np.where((varx > 0) & (vary > 0), cov * cov / (varx * vary), 0.0)
    return beta, r2, n


def combined_stream(streams: Mapping[str, FloatArray], navs: Mapping[str, Decimal]) -> FloatArray:
    """Return the NAV-weighted sum of the books' streams (missing wherever one is)."""
    total = sum(navs.values(), Decimal(0))
    if not streams or total <= 0:
        raise DataError(f"{len(streams)} book(s) with NAVs summing to {total}: nothing to hedge")
    combined = np.zeros(len(next(iter(streams.values()))))
    for book_id, stream in streams.items():
        combined = combined + float(navs[book_id] / total) * stream
    return combined


SWITCH_MARGIN = 0.05  # R^2 points another candidate must add before the underlying changes


def choose_underlying(
    policy: HedgeUnderlying, fits: Mapping[str, Fit], current: str | None = None
) -> str:
    """Return the policy's underlying, or for ``auto`` the candidate with the highest R^2.

    The hedge stays on ``current`` (the underlying of the hedges held) unless another
    candidate explains the account better by more than ``SWITCH_MARGIN``: switching
    means closing and re-buying, so a near tie must not flip it back and forth.
    """
    if policy is not HedgeUnderlying.AUTO:
        return policy.value

    def r2(underlying: str) -> float:
        value = fits[underlying].r2
        return value if np.isfinite(value) else -1.0

    best = max(CANDIDATE_UNDERLYINGS, key=lambda u: (r2(u), u == "QQQ"))
    if current in CANDIDATE_UNDERLYINGS and r2(best) - r2(current) <= SWITCH_MARGIN:
        return current
    return best


def estimate_exposure(
    streams: Mapping[str, FloatArray],
    navs: Mapping[str, Decimal],
    underlyings: Mapping[str, FloatArray],
    row: int,
    policy: HedgeUnderlying,
    *,
    option_deltas: Mapping[str, Decimal] | None = None,
    current: str | None = None,
    window: int = BETA_WINDOW,
    min_days: int = MIN_FIT_DAYS,
) -> Exposure:
    """Estimate the account's dollar delta at ``row``; raise DataError when data is short.

    ``streams`` and ``navs`` are keyed by book, ``underlyings`` by candidate ticker
    (daily returns on the same rows), ``option_deltas`` by underlying (dollars);
    ``current`` is the underlying of the hedges held (see ``choose_underlying``).
    """
    missing = [u for u in CANDIDATE_UNDERLYINGS if u not in underlyings]
    if missing:
        raise DataError(f"no returns for the hedge candidates {', '.join(missing)}")
    if set(streams) != set(navs):
        raise ValueError(
            f"streams and navs must name the same books, were {sorted(streams)} and {sorted(navs)}"
        )
    account = combined_stream(streams, navs)
    fits = {u: fit_window(account, underlyings[u], row, window) for u in CANDIDATE_UNDERLYINGS}
    underlying = choose_underlying(policy, fits, current)
    books = []
    for book_id in streams:
        fit = fit_window(streams[book_id], underlyings[underlying], row, window)
        if fit.days < min_days or not np.isfinite(fit.beta):
            raise DataError(
                f"cannot estimate book {book_id}'s beta to {underlying}: {fit.days} days of its "
                f"target-allocation returns in the last {window}, need at least {min_days}"
            )
        books.append(BookExposure(book_id, navs[book_id], fit))
    options = (option_deltas or {}).get(underlying, Decimal(0))
    return Exposure(underlying, row, tuple(books), fits, options)


def option_dollar_delta(positions: Sequence[tuple[int, float]], spot: float) -> Decimal:
    """Return the dollar delta of option positions given as (signed contracts, delta)."""
    shares = sum(qty * CONTRACT_MULTIPLIER * delta for qty, delta in positions)
    return to_decimal(round(shares * spot, 2))
