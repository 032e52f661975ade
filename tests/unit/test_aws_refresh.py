"""Live market data is brought up to the previous session once per ticker and day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast

import numpy as np

from alchemiser.aws_market import RefreshedMarketData
from alchemiser.market.history import PriceHistory


class Bars:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], date]] = []

    def refresh_prices(self, store: object, tickers: Sequence[str], through: date) -> tuple[()]:
        self.calls.append((list(tickers), through))
        return ()


class Market:
    def history(self, tickers: Sequence[str], day: date) -> PriceHistory:
        dates = np.array([np.datetime64(day, "D")])
        return PriceHistory(dates=dates, tickers=tuple(tickers), closes=np.ones((1, len(tickers))))

    def describe(self) -> str:
        return "prices from s3://bucket/prices/"


def test_each_ticker_is_refreshed_once_through_the_previous_session() -> None:
    bars = Bars()
    data = RefreshedMarketData(cast(Any, Market()), cast(Any, bars), cast(Any, object()))
    data.history(["SPY", "TLT"], date(2024, 3, 14))
    data.history(["TLT", "GLD"], date(2024, 3, 14))
    data.history(["SPY"], date(2024, 3, 15))
    assert bars.calls == [
        (["SPY", "TLT"], date(2024, 3, 13)),
        (["GLD"], date(2024, 3, 13)),
        (["SPY"], date(2024, 3, 14)),
    ]
    assert "refreshed from Alpaca" in data.describe()
