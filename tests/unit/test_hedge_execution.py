"""Option orders walk from mid toward the far side; spreads go as ONE multi-leg order."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.alpaca_mapping import NEW_YORK
from alchemiser.broker.errors import BrokerError, OrderNotCancelableError
from alchemiser.broker.models import CLIENT_ORDER_ID_MAX, MarketClock, OrderStatus
from alchemiser.broker.options_models import OptionLeg, PositionIntent
from alchemiser.broker.simulated_options import OptionsSimulationConfig, SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.execution.clock import InstantClock
from alchemiser.execution.deadline import Deadline
from alchemiser.hedge.execution import (
    MarketHours,
    OptionOrderPlan,
    Outcome,
    execute_option_order,
    hedge_order_id,
)
from alchemiser.hedge.policy import HedgeLimits
from alchemiser.market.loader import load_price_directory

DAY = date(2024, 3, 14)
LONG, SHORT = "QQQ240621P00400000", "QQQ240621P00360000"
RUN = "cycle-2024-03-14-dev"
LIMITS = HedgeLimits()


@pytest.fixture(scope="module")
def market(prices_dir: Path) -> SimulatedOptionsMarket:
    return SimulatedOptionsMarket(load_price_directory(prices_dir, ["QQQ"]))


@pytest.fixture
def clock() -> InstantClock:
    return InstantClock(datetime.combine(DAY, time(15, 45), NEW_YORK))


def broker(
    tmp: Path, market: SimulatedOptionsMarket, clock: InstantClock, **config: object
) -> SimulatedOptionsBroker:
    made = SimulatedOptionsBroker(
        tmp / "o.sqlite3", market, OptionsSimulationConfig.model_validate(config), clock=clock
    )
    made.set_day(DAY)
    return made


def open_long(qty: int = 4, cap: Decimal | None = None) -> OptionOrderPlan:
    return OptionOrderPlan(
        RUN, f"o-{LONG}", (OptionLeg(symbol=LONG, intent=PositionIntent.BUY_TO_OPEN),), qty, cap
    )


def test_the_walk_rests_at_mid_then_fills_at_the_first_marketable_step(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock)
    quote = sim.option_snapshots([LONG])[LONG]
    result = execute_option_order(open_long(), sim, clock, LIMITS)
    assert result.outcome is Outcome.FILLED and result.filled_qty == 4
    orders = sim.orders()
    # Steps 0 (mid) and 0.25 rest until their deadline and are canceled; 0.5 fills
    assert [o.status for o in orders] == [
        OrderStatus.CANCELED,
        OrderStatus.CANCELED,
        OrderStatus.FILLED,
    ]
    assert orders[0].limit_price == quote.mid.quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    assert [o.client_order_id for o in orders] == [f"{RUN}-h-o-{LONG}.{k}" for k in range(3)]
    assert all(len(o.client_order_id) <= CLIENT_ORDER_ID_MAX for o in orders)
    assert clock.elapsed >= timedelta(seconds=40)  # two step deadlines were waited out


def test_a_spread_is_one_multi_leg_order_per_step_never_leg_by_leg(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock)
    legs = (
        OptionLeg(symbol=LONG, intent=PositionIntent.BUY_TO_OPEN),
        OptionLeg(symbol=SHORT, intent=PositionIntent.SELL_TO_OPEN),
    )
    result = execute_option_order(OptionOrderPlan(RUN, "o-spread", legs, 2), sim, clock, LIMITS)
    assert result.outcome is Outcome.FILLED
    assert all(len(o.legs) == 2 for o in sim.orders())
    assert {p.symbol: p.qty for p in sim.option_positions()} == {LONG: 2, SHORT: -2}
    prices = result.leg_prices()
    assert result.avg_price == prices[LONG] - prices[SHORT]


def test_a_rerun_finds_its_orders_by_client_id_and_places_nothing_new(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock)
    first = execute_option_order(open_long(), sim, clock, LIMITS)
    again = execute_option_order(open_long(), sim, clock, LIMITS)
    assert len(sim.orders()) == 3
    assert again.filled_qty == first.filled_qty == 4
    assert again.outcome is Outcome.FILLED


def test_partial_fills_are_kept_and_the_rest_walks_on(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock, partial_fill_ratio=Decimal("0.5"))
    result = execute_option_order(open_long(qty=8), sim, clock, LIMITS)
    # step 0.5 fills 4 of 8, step 0.75 fills 2 of the 4 left, step 1 fills 1 of 2
    assert [o.filled_qty for o in sim.orders()] == [0, 0, 4, 2, 1]
    assert (result.outcome, result.filled_qty) == (Outcome.PARTIAL, 7)
    assert "1 of 8 unfilled" in result.reason
    assert sim.option_positions()[0].qty == 7


def test_no_fill_within_the_price_cap_is_an_outcome_not_an_error(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock)
    mid = sim.option_snapshots([LONG])[LONG].mid
    result = execute_option_order(
        open_long(cap=mid.quantize(Decimal("0.01")) + Decimal("0.01")), sim, clock, LIMITS
    )
    assert result.outcome is Outcome.UNFILLED and result.filled_qty == 0
    assert sim.option_positions() == []
    assert all(o.limit_price <= mid + Decimal("0.01") for o in sim.orders())


def test_a_stale_quote_sends_nothing_and_says_why(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock)
    later = InstantClock(clock.now() + timedelta(minutes=10))  # the quotes stay stamped at 15:45
    result = execute_option_order(open_long(), sim, later, LIMITS)
    assert result.outcome is Outcome.REFUSED
    assert "stale quote (600s old" in result.reason
    assert sim.orders() == []


def test_a_rejection_ends_the_walk_with_the_brokers_reason(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock, reject_symbols=frozenset({LONG}))
    result = execute_option_order(open_long(), sim, clock, LIMITS)
    assert result.outcome is Outcome.REJECTED
    assert "refuses orders" in result.reason


def test_a_cancel_that_races_a_fill_keeps_the_fill(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock)

    class FillsBeforeCancel:
        """The resting order fills just as the walk cancels it: the cancel fails like Alpaca's 422."""

        def __init__(self) -> None:
            self.raced: set[str] = set()

        def __getattr__(self, name: str) -> object:
            return getattr(sim, name)

        def cancel_option_order(self, order_id: str) -> None:
            self.raced.add(order_id)
            raise OrderNotCancelableError(order_id, "it is filled")

        def get_option_order(self, order_id: str) -> object:
            order = sim.get_option_order(order_id)
            if order_id not in self.raced:
                return order
            return order.model_copy(
                update={
                    "status": OrderStatus.FILLED,
                    "filled_qty": order.qty,
                    "filled_avg_price": order.limit_price,
                }
            )

    racing = FillsBeforeCancel()
    result = execute_option_order(open_long(qty=1), racing, clock, LIMITS)  # type: ignore[arg-type]
    # The step-0 order was being canceled when it filled: the walk keeps that fill and stops
    assert len(racing.raced) == 1
    assert result.outcome is Outcome.FILLED and result.filled_qty == 1
    assert len(sim.orders()) == 1


def test_a_cancel_that_fails_for_another_reason_is_not_swallowed(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    sim = broker(tmp_path, market, clock)

    class CancelDown:
        """The broker is down when the walk cancels: not a race with a fill, so it raises."""

        def __getattr__(self, name: str) -> object:
            return getattr(sim, name)

        def cancel_option_order(self, order_id: str) -> None:
            raise BrokerError(f"cancel of {order_id} failed: 503 service unavailable")

    with pytest.raises(BrokerError, match="503"):
        execute_option_order(open_long(qty=1), CancelDown(), clock, LIMITS)  # type: ignore[arg-type]


def test_long_run_ids_are_hashed_to_fit_the_brokers_limit() -> None:
    base = hedge_order_id("cycle-2024-03-14-a-very-long-stage-name-indeed", f"c-20240314-{LONG}")
    assert base.startswith("2024-03-14-h-") and len(base) <= CLIENT_ORDER_ID_MAX - 2
    assert base == hedge_order_id(
        "cycle-2024-03-14-a-very-long-stage-name-indeed", f"c-20240314-{LONG}"
    )
    assert base != hedge_order_id(
        "cycle-2024-03-14-a-very-long-stage-name-indeed", f"c-20240315-{LONG}"
    )


def test_the_walk_starts_no_step_its_wait_and_cancel_cannot_finish_before_the_deadline(
    tmp_path: Path, market: SimulatedOptionsMarket, clock: InstantClock
) -> None:
    # Given a walk whose steps rest 20 s each (steps 0 and 0.25 never fill, 0.5 does),
    # and a Lambda with room for the first two steps only (2 x 20 s each, before the end)
    sim = broker(tmp_path, market, clock)
    end = Deadline(clock.now() + timedelta(seconds=75), "the Lambda's remaining 90s less 15s")
    result = execute_option_order(open_long(), sim, clock, LIMITS, deadline=end)
    # Then the third step is never placed: the walk ends unfilled and says why
    assert [o.status for o in sim.orders()] == [OrderStatus.CANCELED, OrderStatus.CANCELED]
    assert result.outcome is Outcome.UNFILLED
    assert result.reason.startswith("stopped before step 2: the Lambda's remaining 90s")
    assert clock.now() <= end.at


CLOSE = datetime.combine(DAY, time(16, 0), NEW_YORK)
MARGIN = timedelta(seconds=120)


def hours(clock: InstantClock) -> MarketHours:
    """The broker's market clock on the walk's clock: open until 16:00 New York."""

    def read() -> MarketClock:
        now = clock.now()
        opening = datetime.combine(DAY, time(9, 30), NEW_YORK)
        return MarketClock(
            timestamp=now,
            is_open=opening <= now < CLOSE,
            next_open=opening if now < opening else opening + timedelta(days=1),
            next_close=CLOSE if now < CLOSE else CLOSE + timedelta(days=1),
        )

    return MarketHours(read, MARGIN)


@pytest.mark.parametrize(
    "legs",
    [
        (OptionLeg(symbol=LONG, intent=PositionIntent.BUY_TO_OPEN),),
        (
            OptionLeg(symbol=LONG, intent=PositionIntent.BUY_TO_OPEN),
            OptionLeg(symbol=SHORT, intent=PositionIntent.SELL_TO_OPEN),
        ),
    ],
    ids=["single-leg", "mleg"],
)
def test_no_option_order_goes_out_within_the_close_margin(
    tmp_path: Path, market: SimulatedOptionsMarket, legs: tuple[OptionLeg, ...]
) -> None:
    # Given the broker's clock 90 s before the close, inside the 120 s margin
    clock = InstantClock(CLOSE - timedelta(seconds=90))
    sim = broker(tmp_path, market, clock)
    # When an option order (one leg, or a spread as one multi-leg order) is walked
    plan = OptionOrderPlan(RUN, "o-late", legs, 2)
    result = execute_option_order(plan, sim, clock, LIMITS, market=hours(clock))
    # Then nothing is sent and the walk says why, with the broker's times
    assert sim.orders() == []
    assert result.outcome is Outcome.REFUSED
    assert result.reason.startswith("the market closes at 2024-03-14T16:00:00-04:00, 90s after")
    assert "within close_margin_s 120s: no order placed" in result.reason


def test_an_option_walk_ends_before_the_close_less_its_margin(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    # Given 3 minutes to the close: a minute of walking before the 120 s margin, where
    # steps rest 20 s each (a step starts only if its wait and cancel, 40 s, fit) and
    # steps 0 and 0.25 never fill (0.5 would)
    clock = InstantClock(CLOSE - timedelta(seconds=180))
    sim = broker(tmp_path, market, clock)
    # When the order is walked with the market's hours
    result = execute_option_order(open_long(), sim, clock, LIMITS, market=hours(clock))
    # Then the third step is never placed: the walk stops before the close less the margin
    assert [o.status for o in sim.orders()] == [OrderStatus.CANCELED, OrderStatus.CANCELED]
    assert result.outcome is Outcome.UNFILLED
    assert result.reason.startswith("stopped before step 2: close_margin_s 120s before the")
    assert clock.now() <= CLOSE - MARGIN


def test_a_closed_market_sends_no_option_order(
    tmp_path: Path, market: SimulatedOptionsMarket
) -> None:
    clock = InstantClock(CLOSE + timedelta(minutes=5))
    sim = broker(tmp_path, market, clock)
    result = execute_option_order(open_long(), sim, clock, LIMITS, market=hours(clock))
    assert sim.orders() == [] and result.outcome is Outcome.REFUSED
    assert result.reason.startswith("the market is closed (broker clock 2024-03-14T20:05:00+00")
