"""Reconcile: fills into the ledger per book, each book's snapshot and P&L, and drift."""

from __future__ import annotations

from decimal import Decimal

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.books.attribution import attribute_crosses, attribute_fills
from alchemiser.broker.models import OrderSide
from alchemiser.cycle.drift import books_total, measure_drift
from alchemiser.cycle.models import (
    BookOutcome,
    BookPlan,
    BookStatus,
    BookTask,
    DriftLine,
    OrderResult,
    ReconcileRequest,
    ReconcileResult,
)
from alchemiser.ledger.lots import cost_basis, positions_of
from alchemiser.ledger.models import BookSnapshot, FillRecord, OrderState
from alchemiser.ledger.pnl import account_pnl, book_pnl
from alchemiser.money import to_cents, to_decimal
from alchemiser.reporting.wording import settled_book_status
from alchemiser.runtime import Dependencies


def reconcile(
    request: ReconcileRequest, deps: Dependencies, context: LambdaContext | None = None
) -> ReconcileResult:
    """Record what really filled, attributed to books; snapshot every book; measure drift."""
    deps.faults.enter("Reconcile")
    results = _results(request)
    deps.ledger.record_fills(_fills(request, results, deps))
    run_fills = deps.ledger.fills(request.run_id)
    plans = {p.book_id: p for p in request.books}
    outcomes = [
        _snapshot(task, plans.get(task.book_id), run_fills, request, deps) for task in request.tasks
    ]
    drift = _drift(deps)
    warnings = [*request.orders.warnings]
    warnings += [
        f"order {r.symbol} {r.side.value} {r.state.value}: {r.reason}"
        for r in results.values()
        if r.reason and r.state is not OrderState.FILLED  # a filled order's note is not a warning
    ]
    warnings += [f"drift {d.symbol}: broker {d.broker_qty} vs books {d.books_qty}" for d in drift]
    if request.execution.gate.reason:
        warnings.append(f"buy phase: {request.execution.gate.reason}")
    pnls = [o.pnl for o in outcomes if o.pnl is not None]
    return ReconcileResult(
        run_id=request.run_id,
        trading_date=request.trading_date,
        books=outcomes,
        orders=list(results.values()),
        account_pnl=account_pnl(pnls),
        drift=drift,
        warnings=warnings,
    )


def _results(request: ReconcileRequest) -> dict[str, OrderResult]:
    execution = request.execution
    return {r.client_order_id: r for r in [*execution.sell_results, *execution.buy_results]}


def _fills(
    request: ReconcileRequest, results: dict[str, OrderResult], deps: Dependencies
) -> list[FillRecord]:
    """Turn each order's fills (as recorded by the walk, else as reported) into per-book fills."""
    fills: list[FillRecord] = []
    orders = [*request.orders.sell_orders, *request.orders.buy_orders]
    for order in orders:
        record = deps.ledger.get_order(request.run_id, order.client_order_id)
        result = results.get(order.client_order_id)
        if record is not None and record.filled_qty > 0:
            filled, price = record.filled_qty, record.avg_fill_price
        elif result is not None:
            filled, price = result.filled_qty, result.avg_price
        else:
            filled, price = Decimal(0), None
        crosses = [c for c in request.orders.crosses if c.symbol == order.symbol]
        fills += attribute_fills(order, filled, price, crosses)
    traded = {o.symbol for o in orders}
    reference = {s: p for plan in request.books for s, p in plan.prices.items()}
    only_crossed = [c for c in request.orders.crosses if c.symbol not in traded]
    fills += attribute_crosses(request.run_id, request.trading_date, only_crossed, reference)
    return fills


def _snapshot(
    task: BookTask,
    plan: BookPlan | None,
    run_fills: list[FillRecord],
    request: ReconcileRequest,
    deps: Dependencies,
) -> BookOutcome:
    lots = deps.ledger.open_lots(task.book_id)
    positions = positions_of(lots)
    prices = _prices(set(positions), plan, request, deps)
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
            trading_date=request.trading_date,
            run_id=request.run_id,
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
        reason=plan.reason if plan is not None else "no plan was recorded for this book",
        target_weights=plan.target_weights if plan is not None else {},
        positions=positions,
        cash=to_cents(cash),
        equity=to_cents(cash + market_value),
        pnl=pnl,
    )


def _prices(
    symbols: set[str], plan: BookPlan | None, request: ReconcileRequest, deps: Dependencies
) -> dict[str, Decimal]:
    known = dict(plan.prices) if plan is not None else {}
    missing = sorted(symbols - set(known))
    if missing:
        history = deps.market.history(missing, request.trading_date)
        last = len(history.dates) - 1
        for symbol in missing:
            known[symbol] = to_decimal(float(history.column(symbol)[last])).quantize(
                Decimal("0.0001")
            )
    return known


def _drift(deps: Dependencies) -> list[DriftLine]:
    """Compare broker positions with the sum of every book's lots; report every difference."""
    return measure_drift(books_total(deps.ledger), deps.broker.positions())
