"""ExecuteOrder and CheckSells: one netted order at a time, and the gate before buying."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.idempotency import run_once
from alchemiser.cycle.models import (
    BuyGate,
    CheckSellsRequest,
    ExecuteOrderRequest,
    HedgeDecision,
    HedgeRequest,
    OrderResult,
)
from alchemiser.execution.deadline import walk_deadline
from alchemiser.execution.limits import gate_buys
from alchemiser.execution.walk import execute_order
from alchemiser.runtime import Dependencies


def execute_net_order(
    request: ExecuteOrderRequest, deps: Dependencies, context: LambdaContext | None = None
) -> OrderResult:
    """Walk the book for one order; safe to re-run (client ids are looked up before submitting).

    The walk ends by its own deadline: the ``context``'s remaining time less a margin.
    """
    deps.faults.enter("ExecuteOrder")
    deadline = None
    if context is not None:
        remaining_ms = context.get_remaining_time_in_millis()
        deadline = walk_deadline(deps.clock.now(), remaining_ms, deps.settings)
    return execute_order(request, deps.broker, deps.ledger, deps.settings, deps.clock, deadline)


def check_sells(
    request: CheckSellsRequest, deps: Dependencies, context: LambdaContext | None = None
) -> BuyGate:
    """Decide whether the BUY phase may run, and with how much cash (fixed once per run)."""
    deps.faults.enter("CheckSells")

    def decide(req: CheckSellsRequest) -> BuyGate:
        cash = deps.broker.account().cash
        return gate_buys(req.plan, req.sell_results, cash, deps.settings, deps.ledger.kill_switch())

    return run_once(
        deps, "CheckSells", request, decide, key="run_id", output=BuyGate, context=context
    )


def hedge(request: HedgeRequest, deps: Dependencies) -> HedgeDecision:
    """Decide the options hedge; hedging is not built yet, so the decision is always 'no-hedge'."""
    deps.faults.enter("Hedge")
    switch = deps.ledger.kill_switch()
    if deps.settings.kill_switch or (switch is not None and switch.enabled):
        return HedgeDecision(run_id=request.run_id, decision="no-hedge", reason="kill switch is on")
    return HedgeDecision(
        run_id=request.run_id,
        decision="no-hedge",
        reason="options hedging is not implemented yet (no hedge placed)",
    )
