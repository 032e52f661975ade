"""PlanOrders: net every book's trades into broker orders, within the account's limits."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.books.netting import net_book_trades, reference_prices
from alchemiser.broker.models import AssetInfo
from alchemiser.cycle.artifacts import (
    RunArtifacts,
    blocked_order_plan_key,
    order_plan_key,
    put_model,
)
from alchemiser.cycle.idempotency import Uncached, run_once_stored
from alchemiser.cycle.messages import OrdersPlanned, RunRef
from alchemiser.cycle.models import BookMode, BookStatus, OrderPlan
from alchemiser.execution.limits import apply_run_limits
from alchemiser.ledger.models import OrderRecord
from alchemiser.runtime import Dependencies


def plan_orders(
    ref: RunRef, deps: Dependencies, context: LambdaContext | None = None
) -> OrdersPlanned:
    """Net the planned books' trades (once per run) and record the planned orders.

    A blocked day (kill switch, drift, a limit) fixes nothing: its plan holds no order
    and is stored apart, so a re-run once trading is allowed again plans the day.
    """
    deps.faults.enter("PlanOrders")
    artifacts = RunArtifacts(deps.store, ref.run_id)
    day = artifacts.day()
    if day.blocked_reason:
        return _blocked(_netted(ref, artifacts, deps, day.blocked_reason), deps)
    plan = run_once_stored(
        deps,
        "PlanOrders",
        ref,
        lambda r: _plan(r, artifacts, deps),
        key="run_id",
        artifact_key=order_plan_key(ref.run_id),
        output=OrderPlan,
        context=context,
    )
    if plan.blocked_reason:
        return _blocked(plan, deps)
    return OrdersPlanned(
        run_id=plan.run_id,
        plan_key=order_plan_key(plan.run_id),
        sell_order_ids=[o.client_order_id for o in plan.sell_orders],
        buy_orders=len(plan.buy_orders),
    )


def _netted(
    ref: RunRef, artifacts: RunArtifacts, deps: Dependencies, blocked_reason: str = ""
) -> OrderPlan:
    """Net the stored plans of the books that planned (a blocked plan keeps no order)."""
    day = artifacts.day()
    plans = artifacts.book_plans([t.book_id for t in day.books])
    shadow = {t.book_id for t in day.books if t.mode is BookMode.SHADOW}
    # a shadow book is filled virtually by Reconcile: never netted, never sent
    planned = [p for p in plans if p.status is BookStatus.PLANNED and p.book_id not in shadow]
    symbols = [] if blocked_reason else sorted({t.symbol for p in planned for t in p.trades})
    assets: dict[str, AssetInfo] = {s: deps.broker.asset(s) for s in symbols}
    return net_book_trades(
        ref.run_id,
        day.trading_date,
        planned,
        assets,
        reference_prices(planned),
        blocked_reason=blocked_reason,
    )


def _plan(ref: RunRef, artifacts: RunArtifacts, deps: Dependencies) -> OrderPlan:
    netted = _netted(ref, artifacts, deps)
    account = deps.broker.account()
    plan = apply_run_limits(netted, deps.settings, account.cash, deps.ledger.kill_switch())
    if plan.blocked_reason:
        raise Uncached(plan)
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


def _blocked(plan: OrderPlan, deps: Dependencies) -> OrdersPlanned:
    key = blocked_order_plan_key(plan.run_id)
    put_model(deps.store, key, plan)
    return OrdersPlanned(run_id=plan.run_id, plan_key=key, blocked=True)
