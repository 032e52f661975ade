"""Circuit breakers: the run's trading limits and the gate between the SELL and BUY phases.

Pure functions over the plan and the numbers they are given; the handlers read the
kill switch from the ledger and the cash from the broker and pass them in.

A blocked plan or gate carries *no* orders: the state machine maps over the order
lists whatever ``blocked_reason`` says, so an empty list is what guarantees that
nothing trades. What was withheld is named in the warnings and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from alchemiser.cycle.models import BuyGate, ExecuteOrderRequest, NetOrder, OrderPlan, OrderResult
from alchemiser.ledger.models import KillSwitch, OrderState
from alchemiser.money import ZERO, round_down
from alchemiser.settings import Settings


def kill_switch_reason(settings: Settings, switch: KillSwitch | None) -> str:
    """Return why the kill switch stops trading, or "" when it does not."""
    if settings.kill_switch:
        return "kill switch is on (setting ALCHEMISER_KILL_SWITCH)"
    if switch is not None and switch.enabled:
        who = switch.updated_by or "unknown"
        why = switch.reason or "no reason given"
        return f"kill switch is on (ledger, set by {who} at {switch.updated_at.isoformat()}: {why})"
    return ""


def notional(order: NetOrder) -> Decimal:
    """Return the order's planned notional: quantity x reference price."""
    return order.qty * order.ref_price


def _total(orders: Iterable[NetOrder]) -> Decimal:
    return sum((notional(o) for o in orders), ZERO)


def _describe(order: NetOrder) -> str:
    return f"{order.side.value} {order.qty} {order.symbol} ({order.client_order_id}, ${notional(order):,.2f})"


def _block(plan: OrderPlan, reason: str, warnings: Sequence[str]) -> OrderPlan:
    withheld = [*plan.sell_orders, *plan.buy_orders]
    lines = list(warnings)
    if withheld:
        lines.append(f"not placed ({reason}): " + "; ".join(_describe(o) for o in withheld))
    if plan.crosses:
        lines.append(f"{len(plan.crosses)} crosses between books not applied ({reason})")
    return plan.model_copy(
        update={
            "sell_orders": [],
            "buy_orders": [],
            "crosses": [],
            "blocked_reason": reason,
            "warnings": lines,
        }
    )


def apply_run_limits(
    plan: OrderPlan, settings: Settings, account_cash: Decimal, kill_switch: KillSwitch | None
) -> OrderPlan:
    """Drop orders over ``max_order_notional``; block the whole run on the kill switch,
    an earlier block or a total over ``max_run_notional``."""
    warnings = list(plan.warnings)
    blocked = kill_switch_reason(settings, kill_switch) or plan.blocked_reason
    if blocked:
        return _block(plan, blocked, warnings)

    limit = settings.max_order_notional
    sells = [o for o in plan.sell_orders if notional(o) <= limit]
    buys = [o for o in plan.buy_orders if notional(o) <= limit]
    warnings.extend(
        f"dropped {_describe(o)}: notional exceeds max_order_notional ${limit:,.2f}"
        for o in [*plan.sell_orders, *plan.buy_orders]
        if notional(o) > limit
    )
    kept = plan.model_copy(update={"sell_orders": sells, "buy_orders": buys, "warnings": warnings})

    total = _total(sells) + _total(buys)
    if total > settings.max_run_notional:
        reason = (
            f"run notional ${total:,.2f} (sells + buys) exceeds max_run_notional "
            f"${settings.max_run_notional:,.2f}: the run trades nothing"
        )
        return _block(kept, reason, warnings)

    deployable = (account_cash + _total(sells)) * settings.deployment_pct
    if _total(buys) > deployable:
        warnings.append(
            f"planned buys ${_total(buys):,.2f} exceed cash ${account_cash:,.2f} plus planned sells "
            f"${_total(sells):,.2f} at deployment {settings.deployment_pct}: the BUY gate will scale them"
        )
    return kept


def _failed_sells(plan: OrderPlan, sell_results: Sequence[OrderResult]) -> list[str]:
    results = {r.client_order_id: r for r in sell_results}
    failures = [
        f"{r.symbol} {r.client_order_id}: {r.reason or 'no reason given'}"
        for r in sell_results
        if r.state is OrderState.FAILED
    ]
    failures.extend(
        f"{o.symbol} {o.client_order_id}: no execution result"
        for o in plan.sell_orders
        if o.client_order_id not in results
    )
    return failures


def gate_buys(
    plan: OrderPlan,
    sell_results: list[OrderResult],
    account_cash: Decimal,
    settings: Settings,
    kill_switch: KillSwitch | None = None,
) -> BuyGate:
    """Decide the BUY phase after the sells: block it, or cap every buy to its share of the cash.

    ``account_cash`` is the broker account's cash after the sells. A sell counts as
    failed when its result is FAILED or when the plan's sell has no result at all;
    a partial sell is not a failure (the cash it did not raise is simply not there).
    """
    failed = _failed_sells(plan, sell_results)
    closed = BuyGate(
        run_id=plan.run_id,
        buys_allowed=False,
        sell_failures=len(failed),
        available_cash=account_cash,
    )
    blocked = kill_switch_reason(settings, kill_switch) or plan.blocked_reason
    if blocked:
        return closed.model_copy(update={"reason": f"BUY phase blocked: {blocked}"})
    if len(failed) > settings.max_sell_failures:
        reason = (
            f"BUY phase blocked: {len(failed)} SELL orders failed, more than max_sell_failures "
            f"{settings.max_sell_failures}: " + "; ".join(failed)
        )
        return closed.model_copy(update={"reason": reason})
    if not plan.buy_orders:
        return closed.model_copy(update={"buys_allowed": True, "reason": "no buy orders"})

    budget = round_down(account_cash * settings.deployment_pct, 2)
    if budget <= 0:
        reason = f"BUY phase blocked: no cash to deploy (cash ${account_cash:,.2f})"
        return closed.model_copy(update={"reason": reason})
    return closed.model_copy(
        update={
            "buys_allowed": True,
            "buy_orders": _capped_buys(plan.buy_orders, budget),
            "reason": _cash_reason(_total(plan.buy_orders), account_cash, budget, settings),
        }
    )


def _capped_buys(buys: Sequence[NetOrder], budget: Decimal) -> list[ExecuteOrderRequest]:
    """Give each buy its pro-rata share of the budget (cents, rounded down: the sum fits)."""
    total = _total(buys)
    return [
        ExecuteOrderRequest(order=o, max_notional=round_down(budget * notional(o) / total, 2))
        for o in buys
    ]


def _cash_reason(total: Decimal, cash: Decimal, budget: Decimal, settings: Settings) -> str:
    available = f"cash ${cash:,.2f} x deployment {settings.deployment_pct} = ${budget:,.2f}"
    if total <= budget:
        return ""  # every buy fits: each is still capped at its own notional
    pct = budget / total * 100
    return (
        f"buys ${total:,.2f} exceed {available}: each buy scaled to {pct:.2f}% "
        f"of its planned notional"
    )
