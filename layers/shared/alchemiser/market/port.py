"""The market data port: daily adjusted closes up to a day, today's latest price included."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Protocol

from alchemiser.market.history import PriceHistory

if TYPE_CHECKING:  # only for annotations: importing the port must not load pandas
    import pandas as pd


class MarketData(Protocol):
    """Daily closes for the cycle.

    ``history(tickers, day)`` returns every close up to and including ``day``. When
    ``day`` is today and the market is still open, the last row holds each ticker's
    latest trade price standing in for today's close (live and backtest then agree).
    Missing tickers raise MissingTickersError; the caller checks staleness/quality.
    """

    def history(self, tickers: Sequence[str], day: date) -> PriceHistory: ...

    def describe(self) -> str:
        """Say where the data comes from (shown in the run summary and report)."""
        ...


class PriceStore(Protocol):
    """Where each ticker's daily closes are kept: S3 objects, or a local directory's files.

    ``AlpacaDailyBars.refresh_prices`` keeps any store up to date through these four.
    """

    def tickers(self) -> frozenset[str]:
        """Return the tickers that have closes in the store (canonical symbols)."""
        ...

    def read(self, ticker: str) -> pd.Series:
        """Return the closes of ``ticker`` indexed by ascending date."""
        ...

    def write(self, ticker: str, closes: pd.Series) -> str:
        """Replace the closes of ``ticker`` with ``closes``; return where they went."""
        ...

    def uri(self, ticker: str) -> str:
        """Say where the closes of ``ticker`` are (or would be) kept."""
        ...
