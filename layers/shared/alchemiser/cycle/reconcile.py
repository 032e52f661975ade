"""Reconcile: fills into the ledger per book, each book's snapshot and P&L, and drift.

Everything is read back, never passed in: the day's books and plans from the stored
step outputs (``alchemiser.cycle.artifacts``), what each order did from the ledger's
order records (the walk writes them after every step). That is what lets the next
day's PlanCycle reconcile a day whose execution failed after its orders filled.
"""

from __future__ import annotations

from decimal import Decimal

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.books.attribution import attribute_crosses, attribute_fills
from alchemiser.broker.models import OrderSide
from alchemiser.cycle.artifacts import RunArtifacts, get_model, put_model, reconcile_key
from alchemiser.cycle.drift import books_total, measure_drift
from alchemiser.cycle.messages import PlanRef, ReconcileDone
from alchemiser.cycle.models import (
    BookOutcome,
    BookPlan,
    BookStatus,
    BookTask,
    CyclePlan,
    DriftLine,
    OrderPlan,
    OrderResult,
    ReconcileResult,
)
from alchemiser.cycle.order_results import executed_results
from alchemiser.ledger.lots import cost_basis, positions_of
from alchemiser.ledger.models import BookSnapshot, FillRecord, OrderState
from alchemiser.ledger.pnl import account_pnl, book_pnl
from alchemiser.money import to_cents, to_decimal
from alchemiser.reporting.wording import settled_book_status
from alchemiser.runtime import Dependencies

NOT_EVALUATED = (
    "no plan was stored for this book: its evaluation crashed, timed out or ran out of "
    "memory (the execution history shows EvaluateBook's error)"
)


def reconcile(
    request: PlanRef, deps: Dependencies, context: LambdaContext | None = None
) -> ReconcileDone:
    """Record what really filled, attributed to books; snapshot every book; measure drift."""
    deps.faults.enter("Reconcile")
    attempt = get_model(deps.store, request.plan_key, OrderPlan)
    result = reconcile_run(request.run_id, attempt, deps)
    return ReconcileDone(
        run_id=result.run_id, drift_lines=len(result.drift), warnings=len(result.warnings)
    )


def reconcile_run(run_id: str, attempt: OrderPlan, deps: Dependencies) -> ReconcileResult:
    """Reconcile one run from its stored outputs and the ledger; store and return the result.

    ``attempt`` is the order plan the latest attempt followed: when it is blocked, only
    orders that an earlier attempt really executed are booked (no cross without a fill).
    """
    artifacts = RunArtifacts(deps.store, run_id)
    day = artifacts.day()
    plans = {p.book_id: p for p in artifacts.book_plans([t.book_id for t in day.books])}
    fixed = artifacts.order_plan()
    results = executed_results(deps.ledger, run_id, fixed)
    if fixed is not None:
        deps.ledger.record_fills(
            _fills(fixed, results, plans, deps, complete=not attempt.blocked_reason)
        )
    run_fills = deps.ledger.fills(run_id)
    outcomes = [_snapshot(t, plans.get(t.book_id), run_fills, day, deps) for t in day.books]
    drift = measure_drift(books_total(deps.ledger), deps.broker.positions())
    result = ReconcileResult(
        run_id=run_id,
        trading_date=day.trading_date,
        books=outcomes,
        orders=list(results.values()),
        account_pnl=account_pnl([o.pnl for o in outcomes if o.pnl is not None]),
        drift=drift,
        warnings=_warnings(attempt, results, drift, artifacts),
    )
    put_model(deps.store, reconcile_key(run_id), result)
    return result


def _warnings(
    attempt: OrderPlan,
    results: dict[str, OrderResult],
    drift: list[DriftLine],
    artifacts: RunArtifacts,
) -> list[str]:
    warnings = [*attempt.warnings]
    warnings += [
        f"order {r.symbol} {r.side.value} {r.state.value}: {r.reason}"
        for r in results.values()
        if r.reason and r.state is not OrderState.FILLED  # a filled order's note is not a warning
    ]
    warnings += [f"drift {d.symbol}: broker {d.broker_qty} vs books {d.books_qty}" for d in drift]
    gate = artifacts.gate()
    if gate is not None and gate.reason:
        warnings.append(f"buy phase: {gate.reason}")
    return warnings


def _fills(
    plan: OrderPlan,
    results: dict[str, OrderResult],
    plans: dict[str, BookPlan],
    deps: Dependencies,
    *,
    complete: bool,
) -> list[FillRecord]:
    """Turn each order's fills into per-book fills (with its crosses); then the crosses
    of symbols without an order. ``complete=False``: only orders that filled."""
    fills: list[FillRecord] = []
    for order in [*plan.sell_orders, *plan.buy_orders]:
        result = results.get(order.client_order_id)
        filled = result.filled_qty if result is not None else Decimal(0)
        if not complete and filled <= 0:
            continue
        price = result.avg_price if result is not None else None
        crosses = [c for c in plan.crosses if c.symbol == order.symbol]
        fills += attribute_fills(order, filled, price, crosses)
    if complete:
        traded = {o.symbol for o in [*plan.sell_orders, *plan.buy_orders]}
        reference = {s: p for book in plans.values() for s, p in book.prices.items()}
        only_crossed = [c for c in plan.crosses if c.symbol not in traded]
        fills += attribute_crosses(plan.run_id, plan.trading_date, only_crossed, reference)
    return fills


def _snapshot(
    task: BookTask,
    plan: BookPlan | None,
    run_fills: list[FillRecord],
    day: CyclePlan,
    deps: Dependencies,
) -> BookOutcome:
    lots = deps.ledger.open_lots(task.book_id)
    positions = positions_of(lots)
    prices = _prices(set(positions), plan, day, deps)
    capital = to_cents(task.account_equity * task.share)
    if plan is not None and plan.status is not BookStatus.FAILED:
        cash_before = plan.cash
    else:
        cash_before = capital - sum((q * prices[s] for s, q in positions.items()), Decimal(0))
    cash = cash_before
    for fill in run_fills:
        if fill.book_id == task.book_id:
            cash += -fill.qty * fill.price if fill.side is OrderSide.BUY else fill.qty * fill.price
    market_value = sum((q * prices[s] for s, q in positions.items()), Decimal(0))
    realised = deps.ledger.realised_pnl(task.book_id)
    pnl = book_pnl(lots, realised, prices)
    deps.ledger.put_snapshot(
        BookSnapshot(
            book_id=task.book_id,
            trading_date=day.trading_date,
            run_id=day.run_id,
            capital=capital,
            cash=to_cents(cash),
            positions=positions,
            prices={s: prices[s] for s in positions},
            market_value=to_cents(market_value),
            equity=to_cents(cash + market_value),
            cost_basis=to_cents(cost_basis(lots)),
            realised_pnl=realised,
            unrealised_pnl=pnl.unrealised,
        )
    )
    return BookOutcome(
        book_id=task.book_id,
        strategy=task.strategy,
        status=settled_book_status(plan, run_fills),
        reason=plan.reason if plan is not None else NOT_EVALUATED,
        target_weights=plan.target_weights if plan is not None else {},
        positions=positions,
        cash=to_cents(cash),
        equity=to_cents(cash + market_value),
        pnl=pnl,
    )


def _prices(
    symbols: set[str], plan: BookPlan | None, day: CyclePlan, deps: Dependencies
) -> dict[str, Decimal]:
    known = dict(plan.prices) if plan is not None else {}
    missing = sorted(symbols - set(known))
    if missing:
        history = deps.market.history(missing, day.trading_date)
        last = len(history.dates) - 1
        for symbol in missing:
            known[symbol] = to_decimal(float(history.column(symbol)[last])).quantize(
                Decimal("0.0001")
            )
    return known
