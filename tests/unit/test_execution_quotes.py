"""Implausible quotes fail the order closed: too wide a spread, or too far from the plan."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alchemiser.broker.models import OrderSide, Quote
from alchemiser.execution import QuoteRules, quote_problem
from alchemiser.ledger.models import OrderState
from alchemiser.settings import Settings
from tests.support.scripted_broker import QuoteSpec
from tests.support.walk_venue import START, D, Venue, ids, make_settings, net_order


def quote(bid: str, ask: str) -> Quote:
    return Quote(symbol="SPY", bid=D(bid), ask=D(ask), timestamp=START)


def test_a_penny_bid_under_a_thousand_dollar_ask_never_sells_at_a_penny() -> None:
    # Given a 10-share SPY sell planned at $100 and a broken quote: bid 0.01, ask 1000
    venue, order = Venue(), net_order(OrderSide.SELL, "10")
    venue.broker.set_position("SPY", D("10"))
    venue.broker.set_quotes("SPY", QuoteSpec(D("0.01"), D("1000")))

    # When the order is executed
    result = venue.run(order)

    # Then nothing is sent, and the reason names the symbol, the quote, the reference
    # price and the limit crossed
    assert venue.broker.attempts == []
    assert venue.broker.holdings["SPY"] == D("10")
    assert result.state is OrderState.FAILED
    assert "implausible SPY quote (bid 0.01, ask 1000, reference price 100)" in result.reason
    assert "exceeds max_spread_bps 100" in result.reason


def test_a_quote_far_from_the_planned_price_fails_closed() -> None:
    # Given a buy planned at $100 and a tight quote 12 % higher (a bad print, a halt...)
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.set_quotes("SPY", QuoteSpec(D("112.00"), D("112.02")))

    result = venue.run(order)

    assert venue.broker.attempts == []
    assert result.state is OrderState.FAILED
    assert "mid 112.01 is 1201 bps from the reference price" in result.reason
    assert "max_quote_deviation_bps 500" in result.reason


def test_a_quote_going_implausible_mid_walk_keeps_the_fills_and_stops() -> None:
    # Given a buy whose first step fills 6 of 10, after which the spread blows out
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.set_quotes(
        "SPY", QuoteSpec(D("100.00"), D("100.10")), QuoteSpec(D("95.00"), D("105.00"))
    )
    venue.broker.fill(ids(order)[0], D("6"))

    result = venue.run(order)

    assert len(venue.broker.submitted) == 1
    assert (result.state, result.filled_qty) == (OrderState.PARTIALLY_FILLED, D("6"))
    assert "spread 1000 bps" in result.reason


@pytest.mark.parametrize(
    ("bid", "ask", "reference", "fine"),
    [
        ("99.50", "100.50", "100", True),  # spread exactly 100 bps of the mid
        ("99.49", "100.50", "100", False),  # just over
        ("104.99", "105.01", "100", True),  # mid exactly 500 bps away
        ("105.00", "105.02", "100", False),  # just over
        ("0.4509", "0.4511", "0.451", True),  # sub-dollar prices, in proportion
    ],
)
def test_the_limits_are_inclusive_and_proportional(
    bid: str, ask: str, reference: str, fine: bool
) -> None:
    problem = quote_problem(quote(bid, ask), "SPY", START, QuoteRules(), D(reference))
    assert (problem == "") is fine, problem


def test_quote_rules_default_to_the_settings_defaults() -> None:
    assert QuoteRules.from_settings(Settings()) == QuoteRules()


def test_the_thresholds_are_settings_that_a_run_can_tighten() -> None:
    # Given a 60 bps spread, fine by default but not under a 50 bps limit
    venue, order = Venue(), net_order(OrderSide.BUY, "1")
    venue.broker.set_quotes("SPY", QuoteSpec(D("99.70"), D("100.30")))

    result = venue.run(order, settings=make_settings(max_spread_bps=D("50")))

    assert result.state is OrderState.FAILED and "max_spread_bps 50" in result.reason


@pytest.mark.parametrize(
    "values",
    [
        {"max_spread_bps": "0"},
        {"max_spread_bps": "-5"},
        {"max_spread_bps": "2001"},
        {"max_quote_deviation_bps": "0"},
        {"max_quote_deviation_bps": "5001"},
        {"close_margin_s": -1},
        {"cancel_timeout_s": 0},
        {"walk_margin_s": 0.5},
        {"market_buy_buffer_bps": "-1"},
        {"market_buy_buffer_bps": "501"},
    ],
)
def test_unsafe_thresholds_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate(values)


def test_a_close_margin_longer_than_the_run_before_the_close_is_refused() -> None:
    with pytest.raises(ValidationError, match="no order would ever go out"):
        Settings(minutes_before_close=2, close_margin_s=120)
    assert Settings(minutes_before_close=3, close_margin_s=120).close_margin_s == 120
