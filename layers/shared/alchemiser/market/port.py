"""The market data port: daily adjusted closes up to a day, today's latest price included."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from alchemiser.market.history import PriceHistory


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
