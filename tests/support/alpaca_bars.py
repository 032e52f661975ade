"""Alpaca's ``GET /v2/stocks/bars`` answered from given closes, as ``responses`` callbacks.

The answers have the documented shape of Alpaca's market data API v2: ``{"bars": {SYMBOL:
[{"t", "o", "h", "l", "c", "v", "n", "vw"}, ...]}, "next_page_token": ...}``, each daily
bar stamped midnight New York time in UTC, symbols spelled as Alpaca spells them
(``BRK.B``), at most ``page_size`` bars a page across symbols, in symbol then time order
(so a page can end inside one symbol's bars), the rest behind ``page_token``. A symbol
without bars in the range is left out of ``bars``, as Alpaca does; a request that is not
for daily, all-adjusted bars is refused with 422, so a client that forgets
``adjustment=all`` fails here as it would against Alpaca.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd
import requests
import responses

BARS_URL = "https://data.alpaca.markets/v2/stocks/bars"


class AlpacaBarsServer:
    """Serve the closes in ``closes`` (symbol -> Series by date) as Alpaca's daily bars."""

    def __init__(self, closes: Mapping[str, pd.Series], page_size: int = 1000) -> None:
        self.closes = dict(closes)
        self.page_size = page_size
        self.requests: list[dict[str, str]] = []

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.GET, BARS_URL, callback=self.answer)

    def answer(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = {k: v[0] for k, v in parse_qs(urlparse(str(request.url)).query).items()}
        self.requests.append(query)
        if query.get("timeframe") != "1Day" or query.get("adjustment") != "all":
            return 422, {}, json.dumps({"message": "expected daily bars, adjustment=all"})
        start = _day(query["start"])
        end = _day(query["end"])
        bars = [
            (symbol, day, float(close))
            for symbol in sorted(query["symbols"].split(","))
            if symbol in self.closes
            for day, close in self.closes[symbol].items()
            if start <= pd.Timestamp(day).date() <= end
        ]
        offset = int(query.get("page_token", "0"))
        limit = min(int(query.get("limit", "10000")), self.page_size)
        page = bars[offset : offset + limit]
        body: dict[str, Any] = {"bars": {}, "next_page_token": None}
        for symbol, day, close in page:
            body["bars"].setdefault(symbol, []).append(_bar(pd.Timestamp(day).date(), close))
        if offset + limit < len(bars):
            body["next_page_token"] = str(offset + limit)
        return 200, {}, json.dumps(body)


def _day(stamp: str) -> date:
    """Return the New York date of a request bound such as 2026-07-29T04:00:00+00:00."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return pd.Timestamp(moment).tz_convert("America/New_York").date()


def _bar(day: date, close: float) -> dict[str, Any]:
    midnight = pd.Timestamp(day).tz_localize("America/New_York").tz_convert("UTC")
    return {
        "t": midnight.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": close,
        "h": close,
        "l": close,
        "c": close,
        "v": 1000,
        "n": 10,
        "vw": close,
    }
