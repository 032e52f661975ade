"""Exact group scoring: the fast engine against a slow day-by-day re-evaluation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from alchemiser.dsl.ast import tickers_of
from alchemiser.dsl.engine import evaluate_history
from alchemiser.dsl.parser import parse_text
from alchemiser.market.loader import load_price_directory
from tests.support.reference_evaluator import ReferenceEvaluator

NESTED = """
(defsymphony "nested groups under filters" {:rebalance-frequency :daily}
 (weight-equal
  [(filter (rsi {:window 14}) (select-top 1)
    [(group "defensive"
      [(filter (moving-average-return {:window 5}) (select-bottom 1)
        [(asset "TLT" nil)
         (asset "GLD" nil)
         (group "balanced" [(weight-specified 0.6 (asset "SPY" nil) 0.4 (asset "IEF" nil))])])])
     (group "momentum"
      [(if (> (rsi "SPY" {:window 10}) 70)
        [(asset "BIL" nil)]
        [(weight-inverse-volatility 20
          [(asset "QQQ" nil)
           (group "tech pair" [(asset "XLK" nil) (asset "XLY" nil)])])])])
     (asset "XLE" nil)])
   (filter (cumulative-return {:window 60}) (select-top 2)
    [(group "momentum"
      [(filter (stdev-return {:window 10}) (select-bottom 1) [(asset "XLP" nil) (asset "XLU" nil)])])
     (group "same body as tech pair" [(asset "XLK" nil) (asset "XLY" nil)])
     (group "drawdown"
      [(filter (max-drawdown {:window 30}) (select-bottom 1)
        [(asset "XLF" nil)
         (group "inner" [(filter (exponential-moving-average-price {:window 12}) (select-top 1)
                           [(asset "AGG" nil) (group "pair" [(asset "LQD" nil) (asset "SHY" nil)])])])])])
     (asset "SHY" nil)])
   (filter (moving-average-price {:window 15}) (select-bottom 1)
    [(group "a" [(asset "EEM" nil) (asset "IWM" nil)])
     (group "b" [(asset "UUP" nil)])])]))
"""


@pytest.fixture(scope="module")
def nested_case(prices_dir: Path):  # type: ignore[no-untyped-def]
    symphony = parse_text(NESTED, "nested.clj")
    history = load_price_directory(prices_dir, tickers_of(symphony.root)).truncate(
        date(2010, 12, 31)
    )
    start = history.index_on_or_before(date(2007, 1, 3))
    # Keep four years: BIL (first close 2007-05-30) sets the warm-up inside the window.
    from alchemiser.market.history import PriceHistory

    window = PriceHistory(history.dates[start:], history.tickers, history.closes[start:].copy())
    return symphony, window


def test_nested_groups_under_filters_match_day_by_day_reference_on_every_day(nested_case) -> None:  # type: ignore[no-untyped-def]
    # Given a symphony with groups nested under filters (and group names reused for other bodies)
    symphony, history = nested_case
    # When the fast engine evaluates all dates at once and the reference evaluates day by day
    fast = evaluate_history(symphony, history)
    reference = ReferenceEvaluator(symphony, history)
    # Then both agree on the first valid day and on every weight of every day after it
    first_reference = next(
        d for d in range(len(history.dates)) if reference.allocation(d) is not None
    )
    assert fast.start == first_reference
    compared = 0
    for d in range(fast.start, len(history.dates)):
        expected = reference.allocation(d)
        assert expected is not None
        got = fast.weights_at(d)
        assert set(got) == set(expected), f"day {history.dates[d]}: {got} != {expected}"
        for ticker, weight in expected.items():
            assert got[ticker] == pytest.approx(weight, abs=1e-9), (
                f"day {history.dates[d]} {ticker}"
            )
        compared += 1
    assert compared > 600


def test_group_scores_use_the_full_window_of_the_group_stream(nested_case) -> None:  # type: ignore[no-untyped-def]
    # Given the nested symphony, whose outer filter scores groups with a 60-day window
    symphony, history = nested_case
    # When evaluated
    fast = evaluate_history(symphony, history)
    # Then the warm-up is set by the group holding BIL (first close 2007-05-30), whose
    # return stream needs 14 more days before the outer RSI-14 has a full window
    bil_first = int(np.argmax(~np.isnan(history.column("BIL"))))
    assert fast.start == bil_first + 14
    assert "sub-tree" in fast.start_reason
