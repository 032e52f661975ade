"""Reconcile: fills (with their cash) into the ledger per book, each book's snapshot, NAV,
returns and P&L, the hedge book's day (``cycle.hedge_book``), the account's snapshot
(pool + books + hedge, against the broker's equity), drift.

Everything is read back, never passed in: the day's books and plans from the stored
step outputs (``alchemiser.cycle.artifacts``), what each order did from the ledger's
order records (the walk writes them after every step). That is what lets the next
day's PlanCycle reconcile a day whose execution failed after its orders filled.
"""

from __future__ import annotations

from decimal import Decimal

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.books.attribution import attribute_crosses, attribute_fills
from alchemiser.books.cash import with_cash
from alchemiser.books.shadow import shadow_books, virtual_fills
from alchemiser.broker.simulated_market import SimulationConfig
from alchemiser.cycle.artifacts import RunArtifacts, get_model, put_model, reconcile_key
from alchemiser.cycle.capital import retire_transfers
from alchemiser.cycle.drift import books_total, measure_drift
from alchemiser.cycle.hedge_book import hedge_book_day
from alchemiser.cycle.hedge_failure import FAILED, record_hedge_failure
from alchemiser.cycle.messages import PlanRef, ReconcileDone, ReconcileRequest
from alchemiser.cycle.models import (
    AccountOutcome,
    BookMode,
    BookOutcome,
    BookPlan,
    BookTask,
    CyclePlan,
    DriftLine,
    OrderPlan,
    OrderResult,
    ReconcileResult,
)
from alchemiser.cycle.order_results import executed_results
from alchemiser.cycle.snapshots import account_snapshot, book_returns, market_value, marks
from alchemiser.ledger.lots import cost_basis, positions_of
from alchemiser.ledger.models import (
    EXTERNAL,
    HEDGE,
    POOL,
    AccountSnapshot,
    BookSnapshot,
    FillRecord,
    OrderState,
    Transfer,
)
from alchemiser.ledger.pnl import account_pnl, book_pnl
from alchemiser.money import to_cents
from alchemiser.reporting.wording import settled_book_status
from alchemiser.runtime import Dependencies

NOT_EVALUATED = (
    "no plan was stored for this book: its evaluation crashed, timed out or ran out of "
    "memory (the execution history shows EvaluateBook's error)"
)


def reconcile(
    request: PlanRef, deps: Dependencies, context: LambdaContext | None = None
) -> ReconcileDone:
    """Record what really filled, attributed to books; snapshot every book; measure drift.

    A hedge branch that failed (``ReconcileRequest.hedge``) is recorded as the run's hedge
    outcome and counted once towards the hedge kill switch (``cycle.hedge_failure``).
    """
    deps.faults.enter("Reconcile")
    hedge = request.hedge if isinstance(request, ReconcileRequest) else None
    if hedge is not None and hedge.decision == FAILED:
        record_hedge_failure(deps, request.run_id, hedge)
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
        deps.ledger.record_fills(_fills(fixed, results, plans, complete=not attempt.blocked_reason))
    shadow_tasks = [t.book_id for t in day.books if t.mode is BookMode.SHADOW]
    config = SimulationConfig.from_settings(deps.settings)
    # A blocked day (kill switch, drift) fills no shadow book either: it behaves as live.
    filled = [] if attempt.blocked_reason or day.blocked_reason else shadow_tasks
    deps.ledger.record_fills(
        [f for b in filled if b in plans for f in virtual_fills(plans[b], day.trading_date, config)]
    )
    shadow = shadow_books(deps.ledger, shadow_tasks)
    retired = [t.book_id for t in day.books if t.mode is BookMode.RETIRED]
    deps.ledger.record_transfers(retire_transfers(run_id, day.trading_date, deps.ledger, retired))
    hedge, hedge_warnings = hedge_book_day(run_id, day.trading_date, deps)
    run_fills = deps.ledger.fills(run_id)
    transfers = deps.ledger.transfers_on(day.trading_date)
    symbols = {s for t in day.books for s in positions_of(deps.ledger.open_lots(t.book_id))}
    prices = marks(symbols, day.trading_date, deps)
    cash = deps.ledger.cash_accounts()
    outcomes = [
        _snapshot(t, plans.get(t.book_id), run_fills, day, deps, (prices, cash, transfers))
        for t in day.books
    ]
    setup = artifacts.setup()
    account = account_snapshot(
        run_id, day.trading_date, deps, transfers, setup.rebalanced if setup else False, shadow,
        hedge,
    )  # fmt: skip
    deps.ledger.put_account_snapshot(account)
    drift = measure_drift(books_total(deps.ledger, exclude=shadow), deps.broker.positions())
    result = ReconcileResult(
        run_id=run_id,
        trading_date=day.trading_date,
        books=outcomes,
        orders=list(results.values()),
        account_pnl=account_pnl([o.pnl for o in outcomes if o.pnl is not None]),
        drift=drift,
        warnings=_warnings(attempt, results, drift, artifacts)
        + hedge_warnings
        + _unexplained(account),
        account=AccountOutcome(
            pool=account.pool,
            nav=account.nav,
            broker_equity=account.broker_equity,
            unexplained=account.difference,
            flows=account.flows,
            twr_day=account.twr_day,
            twr_inception=account.twr_inception,
            transfers=[_describe(t) for t in transfers],
            hedge=hedge,
        ),
    )
    put_model(deps.store, reconcile_key(run_id), result)
    return result


def _unexplained(account: AccountSnapshot) -> list[str]:
    if account.difference == 0:
        return []
    return [
        f"unexplained: the broker's equity ${account.broker_equity:,.2f} differs from the "
        f"books, the hedge and the pool (${account.nav:,.2f}) by ${account.difference:,.2f}; "
        "no cash move the ledger knows explains it"
    ]


_ACCOUNT_WORDS = {POOL: "pool", EXTERNAL: "outside", HEDGE: "hedge"}


def _describe(transfer: Transfer) -> str:
    source = _ACCOUNT_WORDS.get(transfer.source, transfer.source)
    destination = _ACCOUNT_WORDS.get(transfer.destination, transfer.destination)
    return (
        f"{transfer.reason.value}: ${transfer.amount:,.2f} {source} -> {destination} "
        f"({transfer.detail})"
    )


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
    *,
    complete: bool,
) -> list[FillRecord]:
    """Turn each order's fills into per-book fills (with its crosses), each with its cash
    (``alchemiser.books.cash``); then the crosses of symbols without an order.
    ``complete=False``: only orders that filled."""
    fills: list[FillRecord] = []
    for order in [*plan.sell_orders, *plan.buy_orders]:
        result = results.get(order.client_order_id)
        filled = result.filled_qty if result is not None else Decimal(0)
        if not complete and filled <= 0:
            continue
        price = result.avg_price if result is not None else None
        crosses = [c for c in plan.crosses if c.symbol == order.symbol]
        notional = result.notional if result is not None else None
        fills += with_cash(attribute_fills(order, filled, price, crosses), notional)
    if complete:
        traded = {o.symbol for o in [*plan.sell_orders, *plan.buy_orders]}
        reference = {s: p for book in plans.values() for s, p in book.prices.items()}
        only_crossed = [c for c in plan.crosses if c.symbol not in traded]
        fills += with_cash(
            attribute_crosses(plan.run_id, plan.trading_date, only_crossed, reference), None
        )
    return fills


_Valuation = tuple[dict[str, Decimal], dict[str, Decimal], list[Transfer]]


def _snapshot(
    task: BookTask,
    plan: BookPlan | None,
    run_fills: list[FillRecord],
    day: CyclePlan,
    deps: Dependencies,
    valuation: _Valuation,
) -> BookOutcome:
    """Snapshot one book: its own cash, its lots at the day's marks, its returns."""
    marks_today, accounts, transfers = valuation
    lots = deps.ledger.open_lots(task.book_id)
    positions = positions_of(lots)
    prices = {s: marks_today[s] for s in positions}
    cash = accounts.get(task.book_id, Decimal(0))
    nav = to_cents(cash + market_value(positions, prices))
    moved, twr_day, twr_inception = book_returns(
        deps.ledger, task.book_id, day.trading_date, nav, transfers
    )
    realised = deps.ledger.realised_pnl(task.book_id)
    pnl = book_pnl(lots, realised, prices)
    deps.ledger.put_snapshot(
        BookSnapshot(
            book_id=task.book_id,
            trading_date=day.trading_date,
            run_id=day.run_id,
            capital=to_cents(plan.capital) if plan is not None else nav,
            cash=cash,
            positions=positions,
            prices=prices,
            market_value=to_cents(market_value(positions, prices)),
            equity=nav,
            cost_basis=to_cents(cost_basis(lots)),
            realised_pnl=realised,
            unrealised_pnl=pnl.unrealised,
            transfers=moved,
            twr_day=twr_day,
            twr_inception=twr_inception,
            mode=task.mode.value,
        )
    )
    return BookOutcome(
        book_id=task.book_id,
        strategy=task.strategy,
        status=settled_book_status(plan, run_fills),
        reason=plan.reason if plan is not None else NOT_EVALUATED,
        target_weights=plan.target_weights if plan is not None else {},
        positions=positions,
        cash=cash,
        equity=nav,
        pnl=pnl,
        mode=task.mode,
        transfers=moved,
        twr_day=twr_day,
        twr_inception=twr_inception,
    )
