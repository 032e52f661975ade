"""What each netted order did, read from the ledger (the walk records it after every step).

The ExecuteSells and ExecuteBuys Maps keep no results in the state, so CheckSells and
Reconcile read the orders' outcomes here: the same records a re-run, a redrive or the
next day's late reconciliation reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from alchemiser.cycle.models import NetOrder, OrderPlan, OrderResult
from alchemiser.ledger.models import OrderRecord, OrderState
from alchemiser.ledger.port import Ledger

UNFINISHED = (
    "no outcome was recorded: the walk of this order did not finish "
    "(the execution history shows why)"
)


def result_of(record: OrderRecord) -> OrderResult:
    """Return an order record as the result of its walk."""
    return OrderResult(
        client_order_id=record.client_order_id,
        run_id=record.run_id,
        phase=record.phase,
        symbol=record.symbol,
        side=record.side,
        requested_qty=record.qty,
        filled_qty=record.filled_qty,
        avg_price=record.avg_fill_price,
        state=record.state,
        broker_order_ids=list(record.broker_order_ids),
        reason=record.reason,
        notional=record.notional,
    )


def executed_results(ledger: Ledger, run_id: str, plan: OrderPlan | None) -> dict[str, OrderResult]:
    """Return, by client order id, every order of ``plan`` that a walk has touched."""
    if plan is None:
        return {}
    planned = {o.client_order_id for o in [*plan.sell_orders, *plan.buy_orders]}
    return {
        r.client_order_id: result_of(r)
        for r in ledger.orders(run_id)
        if r.client_order_id in planned and r.state is not OrderState.PLANNED
    }


def phase_results(ledger: Ledger, run_id: str, orders: Sequence[NetOrder]) -> list[OrderResult]:
    """Return the outcome of every order of a finished phase; one without a final record
    (its walk never finished, e.g. a rejection caught by the state machine) is failed."""
    records = {r.client_order_id: r for r in ledger.orders(run_id)}
    results: list[OrderResult] = []
    for order in orders:
        record = records.get(order.client_order_id)
        if record is not None and record.state not in (OrderState.PLANNED, OrderState.SUBMITTED):
            results.append(result_of(record))
            continue
        filled = record.filled_qty if record is not None else Decimal(0)
        results.append(
            OrderResult(
                client_order_id=order.client_order_id,
                run_id=order.run_id,
                phase=order.phase,
                symbol=order.symbol,
                side=order.side,
                requested_qty=order.qty,
                filled_qty=filled,
                avg_price=record.avg_fill_price if record is not None else None,
                notional=record.notional if record is not None else None,
                state=OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.FAILED,
                reason=UNFINISHED,
            )
        )
    return results
