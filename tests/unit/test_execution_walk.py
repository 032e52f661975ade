"""Walking the book for one order, over a scripted broker and an instant clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from alchemiser.books.client_ids import client_order_id, step_client_order_id
from alchemiser.broker.errors import TransientBrokerError
from alchemiser.broker.models import OrderSide, OrderType, Quote
from alchemiser.errors import InjectedCrashError
from alchemiser.execution import InstantClock, limit_price, quote_problem, walk_client_order_ids
from alchemiser.ledger.models import KillSwitch, OrderPhase, OrderState
from tests.support.scripted_broker import QuoteSpec
from tests.support.walk_venue import (
    RUN_ID,
    START,
    D,
    NetOrder,
    Venue,
    ids,
    make_settings,
    net_order,
)

# -- the walk ------------------------------------------------------------------------------


def test_partial_fills_carry_across_steps_then_the_market_order_buys_the_rest() -> None:
    # Given a 100-share buy whose limit steps fill 30, 20 and 0 on a 100.00 x 100.10 quote
    venue, order = Venue(), net_order(OrderSide.BUY, "100")
    s0, s1, s2, market = ids(order)
    venue.broker.fill(s0, D("30"))
    venue.broker.fill(s1, D("20"))

    # When the order is executed
    result = venue.run(order)

    # Then each step is priced from mid toward the ask, for what the earlier steps left
    assert venue.placed() == [
        (s0, OrderType.LIMIT, D("100"), D("100.05")),
        (s1, OrderType.LIMIT, D("70"), D("100.08")),  # 100.075 rounded up onto the tick
        (s2, OrderType.LIMIT, D("50"), D("100.10")),
        (market, OrderType.MARKET, D("50"), None),
    ]
    # And the result is filled at the quantity-weighted average of all four orders
    assert result.state is OrderState.FILLED
    assert result.filled_qty == D("100")
    assert (
        result.avg_price
        == (D("30") * D("100.05") + D("20") * D("100.08") + D("50") * D("100.10")) / 100
    )
    assert result.broker_order_ids == [venue.broker.order(cid).id for cid in (s0, s1, s2, market)]
    # And every limit step waited exactly its deadline before being canceled
    assert venue.clock.elapsed == timedelta(seconds=60)
    assert venue.broker.cancels == [s0, s1, s2]


def test_ledger_is_rewritten_after_every_step_so_a_crash_loses_nothing() -> None:
    # Given a buy whose first step fills 30 of 100 on its first poll
    venue, order = Venue(), net_order(OrderSide.BUY, "100")
    venue.broker.fill(ids(order)[0], D("30"), after_polls=1)

    # When it is executed
    venue.run(order)

    # Then the ledger saw the fills grow step by step and ends with the final record
    filled = [w.filled_qty for w in venue.ledger.writes]
    assert filled == sorted(filled)
    assert D("30") in filled
    assert [w.state for w in venue.ledger.writes][:2] == [
        OrderState.SUBMITTED,
        OrderState.PARTIALLY_FILLED,
    ]
    final = venue.ledger.get_order(RUN_ID, order.client_order_id)
    assert final is not None
    assert (final.state, final.filled_qty, len(final.broker_order_ids)) == (
        OrderState.FILLED,
        D("100"),
        4,
    )
    assert final.allocations == tuple(order.allocations)


def test_sell_where_no_limit_step_fills_ends_with_a_market_order_for_everything() -> None:
    # Given a 10-share sell of a held position on a 50.00 x 50.04 quote; no limit step fills
    venue, order = Venue(), net_order(OrderSide.SELL, "10", ref_price="50")
    venue.broker.set_quotes("SPY", QuoteSpec(D("50.00"), D("50.04")))
    venue.broker.set_position("SPY", D("10"))
    s0, s1, s2, market = ids(order)

    # When it is executed
    result = venue.run(order)

    # Then the limits walk from mid down to the bid, each for all 10, then market sells 10
    assert venue.placed() == [
        (s0, OrderType.LIMIT, D("10"), D("50.02")),
        (s1, OrderType.LIMIT, D("10"), D("50.01")),
        (s2, OrderType.LIMIT, D("10"), D("50.00")),
        (market, OrderType.MARKET, D("10"), None),
    ]
    assert (result.state, result.filled_qty, result.avg_price) == (
        OrderState.FILLED,
        D("10"),
        D("50.00"),
    )
    assert venue.broker.holdings["SPY"] == 0


def test_a_step_that_fills_on_a_later_poll_ends_the_walk_without_waiting_out_its_deadline() -> None:
    # Given a buy whose first limit order fills completely on the third poll
    venue, order = Venue(), net_order(OrderSide.BUY, "5")
    venue.broker.fill(ids(order)[0], D("5"), after_polls=3)

    # When it is executed
    result = venue.run(order)

    # Then only that order was placed, and the walk waited three poll intervals, not 20 s
    assert [p[0] for p in venue.placed()] == [ids(order)[0]]
    assert result.state is OrderState.FILLED
    assert venue.clock.elapsed == timedelta(seconds=3)
    assert venue.broker.cancels == []


def test_rejected_order_fails_with_the_brokers_reason_and_places_nothing_more() -> None:
    # Given a broker that refuses the first step
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.reject(ids(order)[0], "insufficient buying power")

    # When it is executed
    result = venue.run(order)

    # Then the order failed with the broker's reason and no other order was tried
    assert result.state is OrderState.FAILED
    assert "insufficient buying power" in result.reason
    assert len(venue.broker.attempts) == 1
    assert venue.ledger.writes[-1].state is OrderState.FAILED


def test_order_rejected_after_acceptance_keeps_the_fills_of_earlier_steps() -> None:
    # Given a buy whose first step fills 4 of 10 and whose second is accepted then rejected
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    s0, s1, *_ = ids(order)
    venue.broker.fill(s0, D("4"))
    venue.broker.reject(s1, "asset halted", on_submit=False)

    # When it is executed
    result = venue.run(order)

    # Then the walk stops there: partially filled, with the rejection as the reason
    assert (result.state, result.filled_qty) == (OrderState.PARTIALLY_FILLED, D("4"))
    assert "asset halted" in result.reason
    assert [p[0] for p in venue.placed()] == [s0, s1]


# -- idempotency: transient errors, crashes, re-runs -------------------------------------


def test_transient_error_before_the_post_arrived_is_raised_and_the_rerun_submits_once() -> None:
    # Given a broker that times out before the first step's POST arrives
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    s0 = ids(order)[0]
    venue.broker.fail_transiently(s0, after_post=False)
    venue.broker.fill(s0, D("10"))

    # When the step runs, fails, and the state machine's Retry runs it again
    with pytest.raises(TransientBrokerError):
        venue.run(order)
    result = venue.run(order)

    # Then the retry placed the order exactly once and it filled
    assert venue.broker.submissions_per_client_id() == {s0: 1}
    assert (result.state, result.filled_qty) == (OrderState.FILLED, D("10"))


def test_transient_error_after_the_post_went_through_is_found_by_client_id_on_the_rerun() -> None:
    # Given a broker that creates the first step's order and then loses the response
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    s0 = ids(order)[0]
    venue.broker.fail_transiently(s0, after_post=True)
    venue.broker.fill(s0, D("10"))

    # When the step fails and runs again
    with pytest.raises(TransientBrokerError):
        venue.run(order)
    result = venue.run(order)

    # Then the re-run found the order by client id and never POSTed again
    assert venue.broker.submissions_per_client_id() == {s0: 1}
    assert len(venue.broker.attempts) == 1
    assert result.state is OrderState.FILLED
    assert result.broker_order_ids == [venue.broker.order(s0).id]


def scripted_crash_venue(crash: bool) -> tuple[Venue, NetOrder]:
    venue, order = Venue(), net_order(OrderSide.BUY, "100")
    s0, s1, _, _ = ids(order)
    venue.broker.fill(s0, D("30"))
    venue.broker.fill(s1, D("25"))
    if crash:
        venue.broker.crash_when_polled(s0, 2)
    return venue, order


def test_crash_mid_walk_then_rerun_places_exactly_the_orders_of_an_uninterrupted_run() -> None:
    # Given the same scripted market twice; in one the process dies while polling step 0
    calm, order = scripted_crash_venue(crash=False)
    crashed, _ = scripted_crash_venue(crash=True)
    expected = calm.run(order)

    # When the crashed walk is re-run
    with pytest.raises(InjectedCrashError):
        crashed.run(order)
    assert crashed.broker.order(ids(order)[0]).filled_qty == D("30")  # open, partly filled
    result = crashed.run(order)

    # Then the re-run canceled the open step at its original deadline and carried its fills
    assert crashed.placed() == calm.placed()
    assert set(crashed.broker.submissions_per_client_id().values()) == {1}
    assert (result.state, result.filled_qty, result.avg_price) == (
        expected.state,
        expected.filled_qty,
        expected.avg_price,
    )
    assert crashed.clock.elapsed == calm.clock.elapsed


def test_rerun_under_the_kill_switch_cancels_the_open_step_at_once_and_places_nothing() -> None:
    # Given a walk that died with step 0 open and 30 of 100 filled
    venue, order = scripted_crash_venue(crash=True)
    with pytest.raises(InjectedCrashError):
        venue.run(order)
    waited = venue.clock.elapsed

    # When the operator turns the kill switch on and the step is re-run
    venue.ledger.set_kill_switch(KillSwitch(enabled=True, reason="drill", updated_at=START))
    result = venue.run(order)

    # Then the open order is canceled without waiting, nothing new is placed, fills are kept
    assert len(venue.broker.submitted) == 1
    assert venue.broker.cancels == [ids(order)[0]]
    assert venue.clock.elapsed == waited
    assert (result.state, result.filled_qty) == (OrderState.PARTIALLY_FILLED, D("30"))
    assert "kill switch" in result.reason


def test_order_found_under_the_client_id_for_another_symbol_fails_closed() -> None:
    # Given a broker that already holds a QQQ order under this SPY order's first step id
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.add_asset("QQQ")
    venue.broker.set_quotes("QQQ", QuoteSpec(D("400"), D("400.10")))
    venue.broker.fill(ids(order)[0], D("1"))
    venue.run(
        net_order(OrderSide.BUY, "1", symbol="QQQ", ref_price="400").model_copy(
            update={"client_order_id": order.client_order_id}
        )
    )

    # When the SPY order is executed
    result = venue.run(order)

    # Then nothing is placed for SPY and the reason names the disagreement
    assert result.state is OrderState.FAILED
    assert "expected buy SPY" in result.reason
    assert len(venue.broker.submitted) == 1


def test_order_found_under_the_client_id_for_more_than_is_left_fails_closed() -> None:
    # Given a broker that already filled a 500-share order under this 10-share order's step id
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.fill(ids(order)[0], D("500"))
    venue.run(order.model_copy(update={"qty": D("500")}))

    # When the 10-share order is executed
    result = venue.run(order)

    # Then its fills are not claimed, nothing more is placed, and the reason says why
    assert (result.state, result.filled_qty) == (OrderState.FAILED, D("0"))
    assert "more than the 10 left" in result.reason
    assert len(venue.broker.submitted) == 1


# -- failing closed on quotes and positions -------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (QuoteSpec(D("100.00"), D("100.10"), age=timedelta(seconds=61)), "stale"),
        (QuoteSpec(D("100.10"), D("100.00")), "crossed"),
        (QuoteSpec(D("0"), D("100.10")), "one-sided"),
        (QuoteSpec(D("100.00"), D("0")), "one-sided"),
        (QuoteSpec(D("100.00"), D("100.10"), age=timedelta(seconds=-30)), "clock"),
        (QuoteSpec(D("100.00"), D("100.10"), symbol="SPYG"), "answered for SPYG"),
    ],
)
def test_bad_quote_fails_the_order_closed_without_any_order(spec: QuoteSpec, words: str) -> None:
    # Given a broker whose quote is stale, crossed, one-sided, from the future or mislabelled
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.set_quotes("SPY", spec)

    # When the order is executed
    result = venue.run(order)

    # Then nothing was submitted and the reason says what was wrong
    assert venue.broker.attempts == []
    assert result.state is OrderState.FAILED
    assert words in result.reason


def test_quote_going_stale_mid_walk_stops_before_the_market_order() -> None:
    # Given a first step that fills 6 of 10, after which the quote is two minutes old
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.set_quotes(
        "SPY",
        QuoteSpec(D("100.00"), D("100.10")),
        QuoteSpec(D("100.00"), D("100.10"), age=timedelta(minutes=2)),
    )
    venue.broker.fill(ids(order)[0], D("6"))

    # When it is executed
    result = venue.run(order)

    # Then only the first step was placed and the result keeps its fills
    assert [p[0] for p in venue.placed()] == [ids(order)[0]]
    assert (result.state, result.filled_qty) == (OrderState.PARTIALLY_FILLED, D("6"))
    assert "stale" in result.reason


def test_quote_exactly_at_the_age_limit_is_still_traded() -> None:
    quote = Quote(symbol="SPY", bid=D("1"), ask=D("1.01"), timestamp=START - timedelta(seconds=60))
    assert quote_problem(quote, "SPY", START) == ""


def test_sell_larger_than_the_broker_position_fails_closed_instead_of_opening_a_short() -> None:
    # Given a 10-share sell while the broker holds only 7
    venue, order = Venue(), net_order(OrderSide.SELL, "10")
    venue.broker.set_position("SPY", D("7"))

    # When it is executed
    result = venue.run(order)

    # Then nothing is sold and the reason names the position
    assert venue.broker.attempts == []
    assert result.state is OrderState.FAILED
    assert "position of 7" in result.reason


def test_untradable_asset_fails_closed() -> None:
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.add_asset("SPY", tradable=False)

    result = venue.run(order)

    assert (result.state, venue.broker.attempts) == (OrderState.FAILED, [])
    assert "not tradable" in result.reason


def test_unconfirmed_cancel_stops_the_walk_so_nothing_can_fill_twice() -> None:
    # Given a first step whose cancel never completes at the broker
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.ignore_cancel(ids(order)[0])

    # When it is executed
    result = venue.run(order)

    # Then no second order is placed and the reason says why
    assert len(venue.broker.submitted) == 1
    assert result.state is OrderState.FAILED
    assert "not confirmed" in result.reason


def test_market_order_left_unfilled_at_its_deadline_is_reported() -> None:
    # Given a market order that fills only 3 of 10 and never more
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.fill(ids(order)[3], D("3"))

    # When it is executed
    result = venue.run(order)

    # Then the result keeps the 3 and says 7 were left
    assert (result.state, result.filled_qty) == (OrderState.PARTIALLY_FILLED, D("3"))
    assert "7 SPY still unfilled" in result.reason


# -- prices on the tick grid, quantities on the share grid ---------------------------------


@pytest.mark.parametrize(
    ("side", "fraction", "tick", "expected"),
    [
        # bid 10.00, ask 10.03, mid 10.015
        (OrderSide.BUY, "0", "0.01", "10.02"),  # mid rounds up toward the ask
        (OrderSide.BUY, "0.5", "0.01", "10.03"),  # 10.0225 up
        (OrderSide.BUY, "1", "0.01", "10.03"),  # the ask itself
        (OrderSide.SELL, "0", "0.01", "10.01"),  # mid rounds down toward the bid
        (OrderSide.SELL, "0.5", "0.01", "10.00"),  # 10.0075 down
        (OrderSide.SELL, "1", "0.01", "10.00"),  # the bid itself
        (OrderSide.BUY, "0.5", "0.0001", "10.0225"),  # a finer tick keeps the exact price
        (OrderSide.SELL, "0", "0.0001", "10.0150"),
    ],
)
def test_limit_price_walks_toward_the_far_side_and_rounds_onto_the_tick_toward_it(
    side: OrderSide, fraction: str, tick: str, expected: str
) -> None:
    quote = Quote(symbol="X", bid=D("10.00"), ask=D("10.03"), timestamp=START)
    assert limit_price(side, quote, D(fraction), D(tick)) == D(expected)


prices = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)


@given(
    bid=prices,
    spread=st.integers(0, 500),
    fraction=st.sampled_from([D("0"), D("0.25"), D("0.5"), D("1")]),
)
def test_limit_prices_are_on_the_tick_between_mid_and_the_far_side_within_one_tick(
    bid: Decimal, spread: int, fraction: Decimal
) -> None:
    tick = D("0.01")
    quote = Quote(symbol="X", bid=bid, ask=bid + spread * tick, timestamp=START)
    buy = limit_price(OrderSide.BUY, quote, fraction, tick)
    sell = limit_price(OrderSide.SELL, quote, fraction, tick)
    assert buy % tick == 0 and sell % tick == 0
    assert quote.mid <= buy + tick and buy <= quote.ask
    assert quote.bid <= sell and sell - tick <= quote.mid
    assert sell <= buy


def test_whole_share_asset_trades_whole_shares_and_reports_the_fraction_left() -> None:
    # Given a buy of 10.7 shares of an asset the broker does not trade in fractions
    venue, order = Venue(fractionable=False), net_order(OrderSide.BUY, "10.7")
    venue.broker.fill(ids(order)[0], D("10"))

    # When it is executed
    result = venue.run(order)

    # Then 10 whole shares are bought and the 0.7 left is named, not traded
    assert [(p[1], p[2]) for p in venue.placed()] == [(OrderType.LIMIT, D("10"))]
    assert (result.state, result.filled_qty) == (OrderState.FILLED, D("10"))
    assert "remainder 0.7 SPY rounds to zero at 0 decimal places" in result.reason


def test_order_marked_not_fractionable_trades_whole_shares_even_if_the_asset_is() -> None:
    venue, order = Venue(), net_order(OrderSide.BUY, "3.5", fractionable=False)

    result = venue.run(order)

    assert {p[2] for p in venue.placed()} == {D("3")}
    assert result.filled_qty == D("3")


def test_order_smaller_than_one_whole_share_is_skipped_without_any_order() -> None:
    venue, order = Venue(fractionable=False), net_order(OrderSide.BUY, "0.4")

    result = venue.run(order)

    assert (result.state, venue.broker.attempts) == (OrderState.SKIPPED, [])
    assert "rounds to zero" in result.reason


def test_fractional_remainder_below_the_brokers_minimum_is_not_sent() -> None:
    # Given a fractional buy worth about $0.50 when the broker's minimum is $1
    venue, order = Venue(), net_order(OrderSide.BUY, "0.005")

    result = venue.run(order)

    assert (result.state, venue.broker.attempts) == (OrderState.SKIPPED, [])
    assert "smallest fractional order" in result.reason


# -- the cash cap and the kill switch -----------------------------------------------------


def test_buy_is_capped_by_max_notional_at_the_ask_and_stops_when_the_cash_is_spent() -> None:
    # Given a 20-share whole-share buy allowed $1,000 at ask 100.10
    venue, order = Venue(fractionable=False), net_order(OrderSide.BUY, "20")
    venue.broker.fill(ids(order)[0], D("9"))

    # When it is executed
    result = venue.run(order, max_notional="1000")

    # Then it buys floor(1000 / 100.10) = 9 and stops: the $99.55 left buys no share
    assert [p[2] for p in venue.placed()] == [D("9")]
    assert (result.state, result.filled_qty) == (OrderState.PARTIALLY_FILLED, D("9"))
    assert "capped by max_notional $1,000.00" in result.reason
    assert result.filled_qty * (result.avg_price or 0) <= 1000


def test_buy_whose_cash_cap_leaves_less_than_the_smallest_order_is_complete() -> None:
    # Given a fractional 10-share buy allowed only $950 while the ask is 100.10: no limit
    # step fills, and the market step, capped to what $950 buys at the ask, fills in full
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    venue.broker.fill(ids(order)[-1], D("10"))

    # When it is executed
    result = venue.run(order, max_notional="950")

    # Then it is FILLED (the cents left could buy nothing), and the note says why it is short
    assert result.state is OrderState.FILLED
    assert D("9") < result.filled_qty < D("10")
    assert result.filled_qty * (result.avg_price or 0) <= 950
    assert "capped by max_notional $950.00" in result.reason


def test_a_market_buy_that_fills_above_the_ask_stays_within_its_cash_cap() -> None:
    # Given a $1,000 buy that reaches the market step, which fills 10 bps above the
    # 100.10 ask (the price moved, or slipped)
    venue, order = Venue(), net_order(OrderSide.BUY, "20")
    venue.broker.fill(ids(order)[3], D("20"), price=D("100.20"))

    # When it is executed
    result = venue.run(order, max_notional="1000")

    # Then the market order was sized at the ask plus the 20 bps buffer (100.31), so even
    # the slipped fill spends no more than the cap, and the buy counts as complete
    assert venue.placed()[-1][2] == D("9.969095803")  # 1000 / 100.31, 9 places down
    assert result.filled_qty * (result.avg_price or 0) <= 1000
    assert result.state is OrderState.FILLED


def test_max_notional_does_not_limit_a_sell() -> None:
    venue, order = Venue(), net_order(OrderSide.SELL, "10")
    venue.broker.set_position("SPY", D("10"))

    result = venue.run(order, max_notional="1")

    assert (result.state, result.filled_qty) == (OrderState.FILLED, D("10"))


@pytest.mark.parametrize("where", ["settings", "ledger"])
def test_kill_switch_skips_the_order_and_submits_nothing(where: str) -> None:
    # Given the kill switch on, in the settings or in the ledger
    venue, order = Venue(), net_order(OrderSide.BUY, "10")
    settings = make_settings(kill_switch=where == "settings")
    if where == "ledger":
        venue.ledger.set_kill_switch(KillSwitch(enabled=True, reason="drill", updated_at=START))

    # When the order is executed
    result = venue.run(order, settings=settings)

    # Then nothing is submitted and the ledger records the skip and why
    assert venue.broker.attempts == []
    assert result.state is OrderState.SKIPPED
    assert "kill switch" in result.reason
    assert venue.ledger.writes[-1].state is OrderState.SKIPPED


def test_kill_switch_that_is_off_in_the_ledger_does_not_stop_trading() -> None:
    venue, order = Venue(), net_order(OrderSide.BUY, "1")
    venue.ledger.set_kill_switch(KillSwitch(enabled=False, updated_at=START))

    assert venue.run(order).state is OrderState.FILLED


fill_fractions = st.lists(
    st.sampled_from([D("0"), D("0.25"), D("0.5"), D("1")]), min_size=4, max_size=4
)


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    fractions=fill_fractions,
    qty=st.integers(1, 500),
    cap=st.one_of(st.none(), st.integers(50, 60_000)),
    whole=st.booleans(),
)
def test_walk_never_overfills_never_overspends_and_never_reuses_a_client_id(
    fractions: list[Decimal], qty: int, cap: int | None, whole: bool
) -> None:
    # Given any script of how much of each step fills, any size, any cash cap
    venue, order = Venue(fractionable=not whole), net_order(OrderSide.BUY, str(qty))
    for cid, fraction in zip(ids(order), fractions, strict=True):
        venue.broker.fill(cid, D(qty) * fraction)

    # When the order is executed
    result = venue.run(order, max_notional=None if cap is None else str(cap))

    # Then fills stay within the order, spending within the cap, each client id used once
    spent = sum(
        (venue.broker.order(c).filled_qty * (venue.broker.order(c).filled_avg_price or 0))
        for c in venue.broker.submissions_per_client_id()
    )
    assert result.filled_qty <= order.qty
    assert result.filled_qty == sum(
        venue.broker.order(c).filled_qty for c in venue.broker.submissions_per_client_id()
    )
    assert cap is None or spent <= cap
    assert set(venue.broker.submissions_per_client_id().values()) <= {1}
    assert all(r.qty == r.qty.to_integral_value() for r in venue.broker.submitted) or not whole


# -- client ids and the clock ------------------------------------------------------------


def test_walk_client_ids_are_the_books_step_ids_distinct_and_within_48_characters() -> None:
    base = client_order_id(
        "cycle-2026-11-20-a-very-long-stage-name-indeed", OrderPhase.BUY, "BRK.B", OrderSide.BUY
    )

    walk_ids = walk_client_order_ids(base, 3)

    assert walk_ids == tuple(step_client_order_id(base, k) for k in range(4))
    assert len(set(walk_ids)) == 4
    assert all(len(i) <= 48 for i in walk_ids)


def test_instant_clock_advances_on_sleep_and_refuses_naive_or_negative_time() -> None:
    clock = InstantClock(START)
    clock.sleep(1.5)
    assert clock.now() == START + timedelta(seconds=1.5)
    with pytest.raises(ValueError, match="timezone-aware"):
        InstantClock(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match=">= 0"):
        clock.sleep(-1)


def test_the_record_keeps_the_arrival_quote_the_steps_used_and_the_time_to_fill() -> None:
    # Given a buy on a 100.00 x 100.10 quote whose second limit step fills it
    venue, order = Venue(), net_order(OrderSide.BUY, "100")
    s0, s1, _, _ = ids(order)
    venue.broker.fill(s1, D("100"), after_polls=1)

    # When it is executed
    venue.run(order)

    # Then the record says what the market was at arrival, how many orders went out,
    # and when the first went out and the fill came in
    final = venue.ledger.get_order(RUN_ID, order.client_order_id)
    assert final is not None
    assert (final.arrival_bid, final.arrival_ask) == (D("100.00"), D("100.10"))
    assert final.steps_used == 2
    assert final.submitted_at == venue.broker.order(s0).submitted_at
    assert final.last_fill_at is not None
    assert final.submitted_at is not None
    assert final.last_fill_at > final.submitted_at


def test_a_rerun_keeps_the_arrival_quote_of_the_first_attempt() -> None:
    # Given an order whose first attempt priced against 100.00 x 100.10, then crashed
    venue, order = Venue(), net_order(OrderSide.BUY, "100")
    venue.broker.fill(ids(order)[0], D("100"))
    venue.run(order)
    first = venue.ledger.get_order(RUN_ID, order.client_order_id)
    assert first is not None

    # When the market moves and the same order is run again
    venue.broker.set_quotes("SPY", QuoteSpec(D("101.00"), D("101.10")))
    venue.run(order)

    # Then the arrival quote is still the first attempt's
    final = venue.ledger.get_order(RUN_ID, order.client_order_id)
    assert final is not None
    assert (final.arrival_bid, final.arrival_ask) == (D("100.00"), D("100.10"))
