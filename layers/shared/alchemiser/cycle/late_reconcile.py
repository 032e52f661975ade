"""Reconcile, before a day trades, any earlier day that traded but never reconciled.

An execution that fails after its orders filled (in Reconcile, Notify, or anywhere
after the broker took its orders) and is never redriven leaves fills at the broker
that the books do not have: the next day's drift check would then block trading for
good. PlanCycle calls `reconcile_earlier_days` first. For every earlier run of the
stage that is not COMPLETED and had an order plan, it brings the ledger's order
records up to what the broker says each walk step filled (a process killed mid-walk
may not have written its last record), books the fills not yet booked exactly as that
day's Reconcile would have (from its stored plans), snapshots its books, and settles
the run as COMPLETED, saying so: an earlier day is final, and is checked only once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alchemiser.broker.models import Order
from alchemiser.cycle.artifacts import RunArtifacts
from alchemiser.cycle.reconcile import reconcile_run
from alchemiser.execution.walk import walk_client_order_ids
from alchemiser.ledger.models import OrderRecord, OrderState, RunRecord, RunStatus
from alchemiser.money import to_cents
from alchemiser.runtime import Dependencies


def reconcile_earlier_days(stage: str, run_id: str, day: date, deps: Dependencies) -> list[str]:
    """Reconcile the stage's unsettled runs before ``day`` that traded; one note per run."""
    notes: list[str] = []
    for run in deps.ledger.runs(stage):
        if run.trading_date >= day or run.status is RunStatus.COMPLETED:
            continue
        note = _reconcile_late(run, run_id, deps)
        if note:
            notes.append(note)
    return notes


def _reconcile_late(run: RunRecord, by: str, deps: Dependencies) -> str:
    artifacts = RunArtifacts(deps.store, run.run_id)
    plan, day = artifacts.order_plan(), artifacts.find_day()
    if plan is None or day is None:
        return ""  # no order was ever planned for that day: nothing reached the broker
    refresh_from_broker(run.run_id, deps)
    booked = {f.client_order_id for f in deps.ledger.fills(run.run_id)}
    unbooked = [
        o
        for o in deps.ledger.orders(run.run_id)
        if o.filled_qty > 0 and o.client_order_id not in booked
    ]
    if unbooked:
        # A last attempt blocked by the kill switch or drift books only what really filled.
        blocked = plan.model_copy(update={"blocked_reason": day.blocked_reason})
        reconcile_run(run.run_id, blocked, deps)
        done = f"{len(unbooked)} filled order(s) booked by {by}"
    else:
        done = f"every fill already booked; checked by {by}"
    # An earlier day is final (no execution trades it again), so it is settled for good.
    message = f"settled after its execution ended {run.status.value}: {done}"
    deps.ledger.finish_run(
        run.run_id, run.execution_arn, RunStatus.COMPLETED, message, deps.clock.now()
    )
    return f"{run.run_id} {message}" if unbooked else ""


def refresh_from_broker(run_id: str, deps: Dependencies) -> None:
    """Bring every unfinished order record of the run up to what its walk's broker orders
    filled (a process killed between the broker's fill and the walk's ledger write)."""
    steps = len(deps.settings.limit_steps)
    for record in deps.ledger.orders(run_id):
        if record.state is OrderState.FILLED:
            continue
        found = [
            placed
            for cid in walk_client_order_ids(record.client_order_id, steps)
            if (placed := deps.broker.order_by_client_id(cid)) is not None
        ]
        updated = _with_broker_fills(record, found)
        if updated != record:
            deps.ledger.put_order(updated)


def _with_broker_fills(record: OrderRecord, placed: list[Order]) -> OrderRecord:
    filled = sum((o.filled_qty for o in placed), Decimal(0))
    if filled <= record.filled_qty:
        return record
    spent = sum((o.filled_qty * (o.filled_avg_price or Decimal(0)) for o in placed), Decimal(0))
    return record.model_copy(
        update={
            "filled_qty": filled,
            "avg_fill_price": spent / filled,
            "state": OrderState.FILLED if filled >= record.qty else OrderState.PARTIALLY_FILLED,
            "broker_order_ids": tuple(o.id for o in placed),
            "notional": sum(
                (to_cents(o.filled_qty * (o.filled_avg_price or Decimal(0))) for o in placed),
                Decimal(0),
            ),
            "reason": record.reason or "fills read from the broker by the next day's run",
        }
    )
