"""Deterministic synthetic markets: stand-ins for tickers without real data, and the demo.

Synthetic series are NOT market data. They exist so that plumbing, speed tests and the
local demo run without a data directory, and every PriceHistory built here lists its
synthetic tickers in ``.synthetic`` so a report can say so.

A synthetic market (``synthetic_market``, the local demo) trades on the NYSE calendar:
no bars on weekends or exchange holidays. Each ticker follows its own geometric random
walk whose daily log return on a given weekday depends only on (namespace, ticker,
date): the walk is drawn once on the Monday-to-Friday calendar from ``EPOCH`` and then sampled at the requested dates. So two
windows that overlap see the same returns on the days they share, and a holiday simply
folds its return into the next trading day. Returns are Student-t (5 degrees of
freedom, scaled to the ticker's volatility) because real daily returns have fat tails,
capped at 4 sigma so that no synthetic day looks like an unexplained move to
``alchemiser.market.quality`` (a ticker without peers must move 8 sigma of its trailing
volatility, and a 60-day estimate of it can fall well below the true one: with a 5 sigma
cap one day in 50 ticker-decades reached 8.0).
The random stream comes from numpy's PCG64 seeded by SHA-256 of the ticker, so it is
the same in every process and on every machine for a given numpy version.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from alchemiser.market.history import FloatArray, PriceHistory

EPOCH = np.datetime64("1980-01-01", "D")
MIN_DAILY_VOL, MAX_DAILY_VOL = 0.01, 0.05
MIN_START_PRICE, MAX_START_PRICE = 20.0, 200.0
_TAIL_DF = 5.0
_MAX_SHOCK_SIGMAS = 4.0
SYNTHETIC_SOURCE = "synthetic"
NYSE_CALENDAR_START = "1990-01-02"

# The 51 tickers of the reference data set plus the few more that its fully or nearly
# covered strategies use (FTLS, SMH, USD): enough for every demo book.
DEMO_TICKERS: tuple[str, ...] = (
    "AGG", "BIL", "BND", "BSV", "BTAL", "EEM", "FAS", "FNGU", "FTLS", "GLD", "GLL", "IEF",
    "IWM", "KMLM", "LABU", "LQD", "PSQ", "QQQ", "QQQE", "SH", "SHY", "SMH", "SOXL", "SOXS",
    "SPXL", "SPXS", "SPY", "SQQQ", "SVIX", "SVXY", "TBF", "TECL", "TECS", "TLT", "TMF",
    "TMV", "TQQQ", "UGL", "UPRO", "USD", "UUP", "UVXY", "VIXM", "VIXY", "VOOG", "VOOV",
    "VOX", "VTV", "XLE", "XLF", "XLK", "XLP", "XLU", "XLY",
)  # fmt: skip


def synthetic_series(
    ticker: str, dates: npt.ArrayLike, seed_namespace: str = "alchemiser"
) -> FloatArray:
    """Return a deterministic synthetic close for ``ticker`` on each of ``dates``.

    The first date closes at the ticker's start price (20-200); its daily volatility is
    1%-5%. Dates must be ascending and on or after 1980-01-01; weekend dates carry the
    Friday close.
    """
    days = np.asarray(dates, dtype="datetime64[D]")
    if days.size == 0:
        return np.empty(0)
    if days[0] < EPOCH:
        raise ValueError(f"synthetic dates must be on or after {EPOCH}, was {days[0]}")
    if np.any(days[1:] < days[:-1]):
        raise ValueError("synthetic dates must be ascending")
    rng = np.random.default_rng(_seed(seed_namespace, ticker))
    vol, start = _ticker_profile(rng)
    # Weekdays elapsed since EPOCH, counting the date itself when it is a weekday.
    steps = np.busday_count(EPOCH, days + np.timedelta64(1, "D"))
    shocks = rng.standard_t(_TAIL_DF, size=int(steps[-1])) / np.sqrt(_TAIL_DF / (_TAIL_DF - 2))
    shocks = np.clip(shocks, -_MAX_SHOCK_SIGMAS, _MAX_SHOCK_SIGMAS)
    walk = np.concatenate(([0.0], np.cumsum(shocks * vol)))
    levels = walk[steps]
    return np.asarray(start * np.exp(levels - levels[0]), dtype=np.float64)


def synthetic_daily_vol(ticker: str, seed_namespace: str = "alchemiser") -> float:
    """Return the daily log-return volatility of ``ticker``'s synthetic series."""
    return _ticker_profile(np.random.default_rng(_seed(seed_namespace, ticker)))[0]


def business_days(start: date, end: date) -> npt.NDArray[np.datetime64]:
    """Return Monday-to-Friday dates in [start, end]; exchange holidays are not removed."""
    if end < start:
        raise ValueError(f"end must be on or after start ({start}), was {end}")
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + np.timedelta64(1, "D"))
    return days[np.is_busday(days)]


def nyse_sessions(start: date, end: date) -> npt.NDArray[np.datetime64]:
    """Return the NYSE trading sessions in [start, end] (no weekends, no exchange holidays)."""
    if end < start:
        raise ValueError(f"end must be on or after start ({start}), was {end}")
    calendar = _nyse()
    first, last = calendar.first_session.date(), calendar.last_session.date()
    if start < first or end > last:
        raise ValueError(
            f"the NYSE calendar covers {first} to {last}; a synthetic market from {start} to "
            f"{end} is outside it"
        )
    sessions = calendar.sessions_in_range(start.isoformat(), end.isoformat())
    return np.asarray(sessions.values.astype("datetime64[D]"))


def synthetic_market(tickers: Iterable[str], start: date, end: date) -> PriceHistory:
    """Return a fully synthetic market for ``tickers`` on the NYSE sessions of [start, end].

    The calendar is the exchange's (no bars on weekends or NYSE holidays), so a run on
    the demo market trades exactly on the days a real one would.
    """
    wanted = tuple(dict.fromkeys(tickers))
    dates = nyse_sessions(start, end)
    if dates.size == 0:
        raise ValueError(f"no NYSE trading session between {start} and {end}")
    return PriceHistory(
        dates=dates,
        tickers=wanted,
        closes=_stack([synthetic_series(t, dates) for t in wanted], len(dates)),
        synthetic=frozenset(wanted),
        source=SYNTHETIC_SOURCE,
    )


def with_stand_ins(
    real: PriceHistory | None, tickers: Iterable[str], start: date, end: date
) -> PriceHistory:
    """Return ``tickers`` over [start, end]: real closes where they cover it, else synthetic.

    A ticker keeps its real closes only if it has a close on the first and the last day
    of the window; otherwise (no real data, a later launch, or data that stops early) it
    gets a synthetic stand-in on the real calendar, and is listed in ``.synthetic``.
    Without real data this is ``synthetic_market``.
    """
    wanted = tuple(dict.fromkeys(tickers))
    if real is None:
        return synthetic_market(wanted, start, end)
    lo = int(np.searchsorted(real.dates, np.datetime64(start, "D"), side="left"))
    hi = real.index_on_or_before(end) + 1
    if hi <= lo:
        raise ValueError(
            f"real data ({real.source or 'unnamed'}) has no trading day in [{start}, {end}]; "
            f"it covers {real.dates[0] if len(real.dates) else 'nothing'}"
            f"..{real.dates[-1] if len(real.dates) else ''}"
        )
    dates = real.dates[lo:hi]
    index = real.ticker_index
    columns: list[FloatArray] = []
    stand_ins: set[str] = set()
    for ticker in wanted:
        j = index.get(ticker)
        window = real.closes[lo:hi, j] if j is not None else None
        if window is not None and not np.isnan(window[0]) and not np.isnan(window[-1]):
            columns.append(np.array(window))
        else:
            columns.append(synthetic_series(ticker, dates))
            stand_ins.add(ticker)
    first, last = date.fromisoformat(str(dates[0])), date.fromisoformat(str(dates[-1]))
    return PriceHistory(
        dates=np.array(dates),
        tickers=wanted,
        closes=_stack(columns, len(dates)),
        synthetic=frozenset(stand_ins) | (real.synthetic & set(wanted)),
        source=_stand_in_source(real.source, len(stand_ins)),
        filled_gaps={
            t: tuple(d for d in days if first <= d <= last)
            for t, days in real.filled_gaps.items()
            if t in wanted and t not in stand_ins
        },
    )


@functools.cache
def _nyse() -> Any:
    # Imported and built on first use (about 1 s): the engine commands never need it.
    # The same arguments as the simulated broker's, so exchange_calendars builds it once.
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start=NYSE_CALENDAR_START)


def _stack(columns: list[FloatArray], rows: int) -> FloatArray:
    return np.column_stack(columns) if columns else np.empty((rows, 0))


def _seed(namespace: str, ticker: str) -> int:
    digest = hashlib.sha256(f"{namespace}\x1f{ticker}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _ticker_profile(rng: np.random.Generator) -> tuple[float, float]:
    # Drawn first from the ticker's stream, so they never depend on the window asked for.
    vol = MIN_DAILY_VOL + (MAX_DAILY_VOL - MIN_DAILY_VOL) * float(rng.random())
    start = MIN_START_PRICE + (MAX_START_PRICE - MIN_START_PRICE) * float(rng.random())
    return vol, start


def _stand_in_source(source: str, count: int) -> str:
    if not count:
        return source
    return f"{source or 'real data'} + {count} synthetic stand-in(s)"
