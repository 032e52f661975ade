"""Build small PriceHistory objects for tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alchemiser.market.history import PriceHistory


def history_from(
    columns: Mapping[str, Sequence[float | None]], start: str = "2024-01-01"
) -> PriceHistory:
    """Return a history on consecutive business days; None means no close yet."""
    length = len(next(iter(columns.values())))
    dates = pd.bdate_range(start, periods=length).values.astype("datetime64[D]")
    closes = np.column_stack(
        [
            np.array([np.nan if v is None else float(v) for v in values])
            for values in columns.values()
        ]
    )
    return PriceHistory(dates=dates, tickers=tuple(columns), closes=closes)


def random_walk_history(
    tickers: Sequence[str], rows: int, seed: int, start: str = "2015-01-01"
) -> PriceHistory:
    """Return deterministic random-walk closes (values do not matter, only plumbing)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=rows).values.astype("datetime64[D]")
    steps = rng.normal(0.0003, 0.02, size=(rows, len(tickers)))
    closes = 50.0 * np.exp(np.cumsum(steps, axis=0))
    return PriceHistory(dates=dates, tickers=tuple(tickers), closes=closes)
