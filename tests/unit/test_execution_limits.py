"""The circuit breakers: the run's limits before execution and the gate before the BUY phase."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alchemiser.books.client_ids import client_order_id
from alchemiser.broker.models import OrderSide
from alchemiser.cycle.models import Cross, NetOrder, NettingSummary, OrderPlan, OrderResult
from alchemiser.execution import apply_run_limits, gate_buys, kill_switch_reason
from alchemiser.ledger.models import BookAllocation, KillSwitch, OrderPhase, OrderState
from alchemiser.settings import Settings

D = Decimal
RUN_ID = "cycle-2026-11-20-dev"
SWITCH_ON = KillSwitch(
    enabled=True, reason="drill", updated_at=datetime(2026, 11, 20, tzinfo=UTC), updated_by="ops"
)


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "kill_switch": False,
        "max_order_notional": D("10000"),
        "max_run_notional": D("50000"),
        "max_sell_failures": 0,
        "deployment_pct": D("1.0"),
    }
    values.update(overrides)
    return Settings.model_validate(values)


def order(symbol: str, side: OrderSide, qty: str, price: str) -> NetOrder:
    phase = OrderPhase.BUY if side is OrderSide.BUY else OrderPhase.SELL
    return NetOrder(
        client_order_id=client_order_id(RUN_ID, phase, symbol, side),
        run_id=RUN_ID,
        trading_date=date(2026, 11, 20),
        phase=phase,
        symbol=symbol,
        side=side,
        qty=D(qty),
        ref_price=D(price),
        allocations=[BookAllocation(book_id="core", side=side, qty=D(qty))],
    )


def plan(sells: list[NetOrder], buys: list[NetOrder], *, blocked: str = "") -> OrderPlan:
    return OrderPlan(
        run_id=RUN_ID,
        trading_date=date(2026, 11, 20),
        sell_orders=sells,
        buy_orders=buys,
        crosses=[Cross(symbol="TLT", qty=D("2"), seller="core", buyer="gold")],
        netting=NettingSummary(book_trades=4, orders=len(sells) + len(buys), notional_saved=D("0")),
        blocked_reason=blocked,
    )


def result(sell: NetOrder, state: OrderState, reason: str = "") -> OrderResult:
    filled = sell.qty if state is OrderState.FILLED else D(0)
    return OrderResult(
        client_order_id=sell.client_order_id,
        run_id=RUN_ID,
        phase=sell.phase,
        symbol=sell.symbol,
        side=sell.side,
        requested_qty=sell.qty,
        filled_qty=filled,
        state=state,
        reason=reason,
    )


SELL_QQQ = order("QQQ", OrderSide.SELL, "10", "400")  # $4,000
SELL_IWM = order("IWM", OrderSide.SELL, "20", "200")  # $4,000
BUY_SPY = order("SPY", OrderSide.BUY, "10", "500")  # $5,000
BUY_GLD = order("GLD", OrderSide.BUY, "15", "200")  # $3,000


# -- apply_run_limits ----------------------------------------------------------------------


def test_plan_within_every_limit_passes_unchanged() -> None:
    given_plan = plan([SELL_QQQ], [BUY_SPY, BUY_GLD])

    limited = apply_run_limits(given_plan, make_settings(), D("10000"), None)

    assert limited == given_plan


def test_order_over_max_order_notional_is_dropped_and_named_while_the_rest_trade() -> None:
    # Given a $12,000 buy when a single order may be at most $10,000
    big = order("TSLA", OrderSide.BUY, "40", "300")
    given_plan = plan([SELL_QQQ], [BUY_SPY, big])

    # When the run's limits are applied
    limited = apply_run_limits(given_plan, make_settings(), D("20000"), None)

    # Then only that order is dropped, with a warning naming it and the limit
    assert limited.buy_orders == [BUY_SPY]
    assert limited.sell_orders == [SELL_QQQ]
    assert limited.blocked_reason == ""
    assert any("TSLA" in w and "max_order_notional $10,000.00" in w for w in limited.warnings)


def test_run_over_max_run_notional_trades_nothing_and_says_so() -> None:
    # Given $16,000 of orders when a run may trade at most $15,000
    given_plan = plan([SELL_QQQ, SELL_IWM], [BUY_SPY, BUY_GLD])

    # When the run's limits are applied
    limited = apply_run_limits(given_plan, make_settings(max_run_notional=D("15000")), D("0"), None)

    # Then no order and no cross is left, the reason gives the total, the warnings the orders
    assert (limited.sell_orders, limited.buy_orders, limited.crosses) == ([], [], [])
    assert "$16,000.00" in limited.blocked_reason
    assert "max_run_notional $15,000.00" in limited.blocked_reason
    assert any("SPY" in w and "QQQ" in w for w in limited.warnings)


def test_run_total_is_counted_after_the_oversized_orders_are_dropped() -> None:
    big = order("TSLA", OrderSide.BUY, "40", "300")  # $12,000: dropped first
    given_plan = plan([SELL_QQQ], [BUY_SPY, big])

    limited = apply_run_limits(given_plan, make_settings(max_run_notional=D("9000")), D("0"), None)

    assert limited.blocked_reason == ""
    assert limited.buy_orders == [BUY_SPY]


@pytest.mark.parametrize("where", ["settings", "ledger"])
def test_kill_switch_blocks_the_whole_run(where: str) -> None:
    settings = make_settings(kill_switch=where == "settings")
    switch = SWITCH_ON if where == "ledger" else None

    limited = apply_run_limits(plan([SELL_QQQ], [BUY_SPY]), settings, D("10000"), switch)

    assert (limited.sell_orders, limited.buy_orders) == ([], [])
    assert "kill switch" in limited.blocked_reason


def test_plan_already_blocked_upstream_keeps_its_reason_and_loses_its_orders() -> None:
    given_plan = plan([SELL_QQQ], [BUY_SPY], blocked="market data is 6 days old")

    limited = apply_run_limits(given_plan, make_settings(), D("10000"), None)

    assert limited.blocked_reason == "market data is 6 days old"
    assert (limited.sell_orders, limited.buy_orders) == ([], [])


def test_buys_beyond_cash_and_sale_proceeds_are_flagged_for_the_gate() -> None:
    limited = apply_run_limits(
        plan([SELL_QQQ], [BUY_SPY, BUY_GLD]), make_settings(), D("1000"), None
    )

    assert limited.buy_orders == [BUY_SPY, BUY_GLD]
    assert any("BUY gate will scale" in w for w in limited.warnings)


# -- gate_buys -----------------------------------------------------------------------------


def test_sell_failures_over_the_limit_block_buys_and_name_the_failed_sells() -> None:
    # Given one failed sell when none may fail
    given_plan = plan([SELL_QQQ, SELL_IWM], [BUY_SPY])
    sells = [
        result(SELL_QQQ, OrderState.FAILED, "crossed QQQ quote"),
        result(SELL_IWM, OrderState.FILLED),
    ]

    # When the BUY phase is gated
    gate = gate_buys(given_plan, sells, D("20000"), make_settings())

    # Then buys are blocked, and the reason names QQQ and why it failed
    assert (gate.buys_allowed, gate.buy_orders, gate.sell_failures) == (False, [], 1)
    assert "QQQ" in gate.reason and "crossed QQQ quote" in gate.reason
    assert "IWM" not in gate.reason


def test_sell_failures_within_the_limit_let_buys_proceed() -> None:
    given_plan = plan([SELL_QQQ, SELL_IWM], [BUY_SPY])
    sells = [result(SELL_QQQ, OrderState.FAILED, "rejected"), result(SELL_IWM, OrderState.FILLED)]

    gate = gate_buys(given_plan, sells, D("20000"), make_settings(max_sell_failures=1))

    assert gate.buys_allowed
    assert gate.sell_failures == 1
    assert [r.order for r in gate.buy_orders] == [BUY_SPY]


def test_sell_without_a_result_counts_as_failed() -> None:
    gate = gate_buys(
        plan([SELL_QQQ, SELL_IWM], [BUY_SPY]),
        [result(SELL_IWM, OrderState.FILLED)],
        D("20000"),
        make_settings(),
    )

    assert not gate.buys_allowed
    assert "QQQ" in gate.reason and "no execution result" in gate.reason


def test_partially_filled_sell_is_not_a_failure() -> None:
    sells = [result(SELL_QQQ, OrderState.PARTIALLY_FILLED)]

    gate = gate_buys(plan([SELL_QQQ], [BUY_SPY]), sells, D("20000"), make_settings())

    assert gate.buys_allowed and gate.sell_failures == 0


def test_buys_beyond_cash_times_deployment_are_scaled_pro_rata_and_the_reason_says_so() -> None:
    # Given $8,000 of buys and $4,000 of cash of which 90% may be deployed
    given_plan = plan([], [BUY_SPY, BUY_GLD])

    # When the BUY phase is gated
    gate = gate_buys(given_plan, [], D("4000"), make_settings(deployment_pct=D("0.9")))

    # Then each buy gets its share of $3,600: 5/8 and 3/8
    assert gate.buys_allowed
    assert [r.max_notional for r in gate.buy_orders] == [D("2250.00"), D("1350.00")]
    assert "scaled to 45.00%" in gate.reason
    assert gate.available_cash == D("4000")


def test_buys_within_cash_are_still_capped_so_their_sum_cannot_exceed_it() -> None:
    gate = gate_buys(plan([], [BUY_SPY, BUY_GLD]), [], D("16000"), make_settings())

    assert [r.max_notional for r in gate.buy_orders] == [D("10000.00"), D("6000.00")]
    assert gate.reason == ""  # fitting buys are not news: no warning in the report


@given(
    cash=st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2),
    pct=st.decimals(min_value=D("0.01"), max_value=D("1"), places=2),
    sizes=st.lists(st.integers(1, 10_000), min_size=1, max_size=8),
)
def test_capped_buys_never_sum_past_cash_times_deployment(
    cash: Decimal, pct: Decimal, sizes: list[int]
) -> None:
    buys = [order(f"S{i}", OrderSide.BUY, str(n), "3.17") for i, n in enumerate(sizes)]

    gate = gate_buys(plan([], buys), [], cash, make_settings(deployment_pct=pct))

    caps = [r.max_notional or D(0) for r in gate.buy_orders]
    assert sum(caps) <= cash * pct
    assert all(c >= 0 for c in caps)


@pytest.mark.parametrize("cash", ["0", "-250"])
def test_no_cash_blocks_the_buy_phase(cash: str) -> None:
    gate = gate_buys(plan([], [BUY_SPY]), [], D(cash), make_settings())

    assert (gate.buys_allowed, gate.buy_orders) == (False, [])
    assert "no cash" in gate.reason


@pytest.mark.parametrize("where", ["settings", "ledger"])
def test_kill_switch_blocks_the_buy_phase(where: str) -> None:
    settings = make_settings(kill_switch=where == "settings")
    switch = SWITCH_ON if where == "ledger" else None

    gate = gate_buys(plan([], [BUY_SPY]), [], D("100000"), settings, switch)

    assert (gate.buys_allowed, gate.buy_orders) == (False, [])
    assert "kill switch" in gate.reason


def test_no_buy_orders_is_allowed_with_nothing_to_do() -> None:
    gate = gate_buys(
        plan([SELL_QQQ], []), [result(SELL_QQQ, OrderState.FILLED)], D("0"), make_settings()
    )

    assert (gate.buys_allowed, gate.buy_orders, gate.reason) == (True, [], "no buy orders")


def test_kill_switch_reason_names_who_set_it_and_why() -> None:
    reason = kill_switch_reason(make_settings(), SWITCH_ON)

    assert "ops" in reason and "drill" in reason
    assert (
        kill_switch_reason(make_settings(), SWITCH_ON.model_copy(update={"enabled": False})) == ""
    )
