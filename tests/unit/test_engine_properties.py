"""Properties that hold for every market: full, non-negative weights after warm-up."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.dsl.engine import evaluate_history
from alchemiser.dsl.parser import parse_text
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.history import PriceHistory
from tests.unit.test_engine_exact_groups import NESTED

TICKERS = sorted(
    {
        "TLT",
        "GLD",
        "SPY",
        "IEF",
        "BIL",
        "QQQ",
        "XLK",
        "XLY",
        "XLE",
        "XLP",
        "XLU",
        "XLF",
        "AGG",
        "LQD",
        "SHY",
        "EEM",
        "IWM",
        "UUP",
    }
)
PROGRAM = compile_symphony(parse_text(NESTED, "nested.clj"))


@st.composite
def markets(draw: st.DrawFn) -> PriceHistory:
    rows = draw(st.integers(min_value=220, max_value=320))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    vol = draw(st.floats(min_value=0.0, max_value=0.08))
    closes = 30.0 * np.exp(np.cumsum(rng.normal(0.0, vol, (rows, len(TICKERS))), axis=0))
    # Some tickers list late; some stay perfectly flat (ties, zero volatility)
    for j in range(len(TICKERS)):
        late = draw(st.integers(min_value=0, max_value=40))
        closes[:late, j] = np.nan
    if draw(st.booleans()):
        closes[:, 0] = 50.0
    dates = np.datetime64("2020-01-01") + np.arange(rows).astype("timedelta64[D]")
    return PriceHistory(dates=dates, tickers=tuple(TICKERS), closes=closes)


@settings(max_examples=40, deadline=None)
@given(markets())
def test_any_market_gives_full_non_negative_weights_after_warm_up(market: PriceHistory) -> None:
    result = evaluate_history(PROGRAM, market)
    assert result.start < len(market.dates)  # long enough to get past the nested warm-up
    assert not result.weights[: result.start].any()
    after = result.weights[result.start :]
    assert (after >= 0).all()
    assert np.isfinite(after).all()
    np.testing.assert_allclose(after.sum(axis=1), 1.0, atol=1e-9)
