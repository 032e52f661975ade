"""PlanOrders: net every book's trades into broker orders, within the account's limits."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.books.netting import net_book_trades, reference_prices
from alchemiser.broker.models import AssetInfo
from alchemiser.cycle.idempotency import run_once
from alchemiser.cycle.models import BookStatus, OrderPlan, PlanOrdersRequest
from alchemiser.execution.limits import apply_run_limits
from alchemiser.ledger.models import OrderRecord
from alchemiser.runtime import Dependencies


def plan_orders(
    request: PlanOrdersRequest, deps: Dependencies, context: LambdaContext | None = None
) -> OrderPlan:
    """Net the planned books' trades (once per run) and record the planned orders."""
    deps.faults.enter("PlanOrders")
    return run_once(
        deps,
        "PlanOrders",
        request,
        lambda r: _plan(r, deps),
        key="run_id",
        output=OrderPlan,
        context=context,
    )


def _plan(request: PlanOrdersRequest, deps: Dependencies) -> OrderPlan:
    planned = [p for p in request.books if p.status is BookStatus.PLANNED]
    symbols = sorted({t.symbol for p in planned for t in p.trades})
    assets: dict[str, AssetInfo] = {s: deps.broker.asset(s) for s in symbols}
    netted = net_book_trades(
        request.run_id,
        request.trading_date,
        planned,
        assets,
        reference_prices(planned),
        blocked_reason=request.blocked_reason,
    )
    if netted.blocked_reason:
        return netted
    account = deps.broker.account()
    plan = apply_run_limits(netted, deps.settings, account.cash, deps.ledger.kill_switch())
    for order in [*plan.sell_orders, *plan.buy_orders]:
        if deps.ledger.get_order(order.run_id, order.client_order_id) is None:
            deps.ledger.put_order(
                OrderRecord(
                    client_order_id=order.client_order_id,
                    run_id=order.run_id,
                    trading_date=order.trading_date,
                    phase=order.phase,
                    symbol=order.symbol,
                    side=order.side,
                    qty=order.qty,
                    ref_price=order.ref_price,
                    allocations=tuple(order.allocations),
                )
            )
    return plan
