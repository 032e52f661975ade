"""Market data on one machine: a directory of price files, or the synthetic demo market.

Both answer ``history(tickers, day)`` with every close up to and including ``day``.
Replaying a past day, that day's close stands in for "today's latest price", which is
what the cycle would have seen minutes before that close (the signal uses the day's
close and trades at it).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from alchemiser.market.history import MissingTickersError, PriceHistory
from alchemiser.market.loader import SYNTHETIC_MANIFEST, load_price_directory
from alchemiser.market.synthetic import synthetic_market

# The demo market always starts here, so a past day's synthetic closes never change as
# days pass (a synthetic window is scaled to its first day's start price).
DEMO_START = date(2019, 1, 2)


class DirectoryMarketData:
    """Closes read from ``<TICKER>.csv`` / ``<TICKER>.parquet`` files in one directory.

    Each set of tickers is read once per instance (one local run): a thousand books
    running ten strategies read ten sets of files, not a thousand.
    """

    def __init__(self, path: Path, *, fill_gaps: bool = False) -> None:
        self.path = Path(path)
        self.fill_gaps = fill_gaps
        self._loaded: dict[tuple[str, ...], PriceHistory] = {}
        self._lock = threading.Lock()

    def history(self, tickers: Sequence[str], day: date) -> PriceHistory:
        """Return the closes of ``tickers`` up to and including ``day``.

        Raise MissingTickersError naming every ticker without a file.
        """
        key = tuple(tickers)
        with self._lock:
            loaded = self._loaded.get(key)
        if loaded is None:
            loaded = load_price_directory(self.path, tickers, fill_gaps=self.fill_gaps)
            with self._lock:
                self._loaded[key] = loaded
        return loaded.truncate(day)

    def describe(self) -> str:
        """Say which directory the prices come from (and whether it holds synthetic series)."""
        if (self.path / SYNTHETIC_MANIFEST).is_file():
            return (
                f"prices from {self.path} (SYNTHETIC series for the tickers listed in "
                f"{SYNTHETIC_MANIFEST}: not market data)"
            )
        return f"prices from {self.path}"


class DemoMarketData:
    """The deterministic synthetic demo market from DEMO_START to the weekday on or before ``today``.

    These are NOT market prices: they exist so the cycle runs without any data.
    ``tickers`` is usually ``DEMO_TICKERS`` (every ticker of the demo books).
    """

    def __init__(self, tickers: Sequence[str], today: date) -> None:
        self.end = last_weekday_on_or_before(today)
        if self.end < DEMO_START:
            raise ValueError(
                f"today must be on or after {DEMO_START} for the demo market, was {today}"
            )
        self.market = synthetic_market(tickers, DEMO_START, self.end)

    def history(self, tickers: Sequence[str], day: date) -> PriceHistory:
        """Return the synthetic closes of ``tickers`` up to and including ``day``.

        Raise MissingTickersError for tickers the demo market was not built with.
        """
        wanted = list(dict.fromkeys(tickers))
        missing = [t for t in wanted if t not in self.market.ticker_index]
        if missing:
            raise MissingTickersError(missing, self.describe())
        return self.market.select(wanted).truncate(day)

    def describe(self) -> str:
        """Say loudly that the prices are synthetic."""
        return (
            f"SYNTHETIC demo market (not market data): {len(self.market.tickers)} tickers, "
            f"NYSE sessions {DEMO_START} to {self.market.day(len(self.market.dates) - 1)}"
        )


def last_weekday_on_or_before(day: date) -> date:
    """Return ``day`` if it is Monday to Friday, else the Friday before it."""
    return day - timedelta(days=max(day.weekday() - 4, 0))
