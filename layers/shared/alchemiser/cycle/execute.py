"""ExecuteOrder and CheckSells: one netted order at a time, the gate before buying."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.artifacts import RunArtifacts, gate_key, get_model
from alchemiser.cycle.days import MARKET_TIMEZONE
from alchemiser.cycle.idempotency import Uncached, run_once_stored
from alchemiser.cycle.messages import GateDecision, OrderRef, PlanRef
from alchemiser.cycle.models import (
    BuyGate,
    ExecuteOrderRequest,
    OrderPlan,
    OrderResult,
)
from alchemiser.cycle.order_results import phase_results
from alchemiser.errors import ConfigurationError
from alchemiser.execution.deadline import walk_deadline
from alchemiser.execution.limits import gate_buys, kill_switch_reason
from alchemiser.execution.walk import execute_order
from alchemiser.ledger.models import OrderPhase
from alchemiser.runtime import Dependencies


def execute_net_order(
    ref: OrderRef, deps: Dependencies, context: LambdaContext | None = None
) -> OrderResult:
    """Walk the book for one stored order; safe to re-run (client ids are looked up first).

    The walk ends by its own deadline: the ``context``'s remaining time less a margin.
    """
    deps.faults.enter("ExecuteOrder")
    deps.faults.inside("ExecuteOrder")
    request = order_request(ref, deps)
    deadline = None
    if context is not None:
        remaining_ms = context.get_remaining_time_in_millis()
        deadline = walk_deadline(deps.clock.now(), remaining_ms, deps.settings)
    return execute_order(request, deps.broker, deps.ledger, deps.settings, deps.clock, deadline)


def order_request(ref: OrderRef, deps: Dependencies) -> ExecuteOrderRequest:
    """Return the stored order ``ref`` names, with the cash the BUY gate left it."""
    artifacts = RunArtifacts(deps.store, ref.run_id)
    plan = artifacts.order_plan()
    orders = {o.client_order_id: o for o in [*plan.sell_orders, *plan.buy_orders]} if plan else {}
    order = orders.get(ref.client_order_id)
    if order is None:
        raise ConfigurationError(
            f"run {ref.run_id} has no stored order {ref.client_order_id!r} "
            f"(its order plan has {len(orders)} orders)"
        )
    today = deps.clock.now().astimezone(MARKET_TIMEZONE).date()
    if order.trading_date != today:
        # A redrive of an old execution must not trade a past day's plan at today's prices.
        raise ConfigurationError(
            f"order {order.client_order_id} belongs to {order.trading_date}, today is {today}: "
            "a past day's order is never placed (that day is settled by the next run)"
        )
    if order.phase is OrderPhase.SELL:
        return ExecuteOrderRequest(order=order)
    gate = artifacts.gate()
    allowed = {r.order.client_order_id: r for r in gate.buy_orders} if gate else {}
    if order.client_order_id not in allowed:
        raise ConfigurationError(
            f"BUY order {ref.client_order_id!r} of run {ref.run_id} was not let through "
            "by the stored BUY gate"
        )
    return allowed[order.client_order_id]


def check_sells(
    ref: PlanRef, deps: Dependencies, context: LambdaContext | None = None
) -> GateDecision:
    """Decide whether the BUY phase may run, and with how much cash (fixed once per run).

    A gate closed by the kill switch or a blocked plan is not fixed: once trading is
    allowed again, a re-run decides anew.
    """
    deps.faults.enter("CheckSells")
    plan = get_model(deps.store, ref.plan_key, OrderPlan)

    def decide(req: PlanRef) -> BuyGate:
        sells = phase_results(deps.ledger, req.run_id, plan.sell_orders)
        switch = deps.ledger.kill_switch()
        gate = gate_buys(plan, sells, deps.broker.account().cash, deps.settings, switch)
        if kill_switch_reason(deps.settings, switch) or plan.blocked_reason:
            raise Uncached(gate)
        return gate

    gate = run_once_stored(
        deps,
        "CheckSells",
        ref,
        decide,
        key="run_id",
        artifact_key=gate_key(ref.run_id),
        output=BuyGate,
        context=context,
    )
    return GateDecision(
        run_id=gate.run_id,
        buys_allowed=gate.buys_allowed,
        reason=gate.reason,
        buy_order_ids=[r.order.client_order_id for r in gate.buy_orders]
        if gate.buys_allowed
        else [],
    )
