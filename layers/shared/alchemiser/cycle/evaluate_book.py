"""EvaluateBook: today's allocation of one book's symphony, and that book's rebalance plan."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.backtest.data_check import book_data_problems
from alchemiser.backtest.rebalance import candidate_days
from alchemiser.books.planning import plan_book_rebalance
from alchemiser.broker.errors import BrokerError, TransientBrokerError
from alchemiser.cycle.artifacts import RunArtifacts
from alchemiser.cycle.idempotency import run_once
from alchemiser.cycle.messages import BookDone, BookRef
from alchemiser.cycle.models import BookMode, BookPlan, BookStatus, BookTask
from alchemiser.dsl.engine import WarmupError, evaluate_on
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.dsl.source import SymphonyError
from alchemiser.errors import ConfigurationError, DataError
from alchemiser.ledger.lots import positions_of
from alchemiser.market.history import MissingTickersError, PriceHistory
from alchemiser.money import to_decimal
from alchemiser.runtime import Dependencies

QUALITY_LOOKBACK = timedelta(days=365)


class BookEvaluationError(Exception):
    """One book could not be evaluated; the Map records it and the other books go on."""

    def __init__(self, book_id: str, detail: str) -> None:
        self.book_id = book_id
        super().__init__(f"book {book_id!r}: {detail}")


# Failures that belong to one book (its strategy, its data): caught per book.
_BOOK_FAILURES = (
    SymphonyError,
    MissingTickersError,
    WarmupError,
    DataError,
    ConfigurationError,
    BrokerError,
)


def evaluate_book(
    ref: BookRef, deps: Dependencies, context: LambdaContext | None = None
) -> BookDone:
    """Evaluate the book's symphony as of the trading day and plan its rebalance (once per
    run); store the plan under the run. A failure of the book's own (its strategy, its
    data) is stored as a FAILED plan, then raised for the state machine to catch."""
    deps.faults.enter("EvaluateBook")
    artifacts = RunArtifacts(deps.store, ref.run_id)
    task = artifacts.book_task(ref.book_id)
    try:
        plan = run_once(
            deps,
            "EvaluateBook",
            task.model_copy(update={"blocked_reason": ""}),  # the plan never depends on it
            lambda t: _evaluate(t, deps),
            key="[run_id, book_id]",
            output=BookPlan,
            context=context,
        )
    except BookEvaluationError as exc:
        artifacts.put_book_plan(_failed(task, str(exc)))
        raise
    plan = _noting_blocked(plan, task.blocked_reason)
    artifacts.put_book_plan(plan)
    return BookDone(
        run_id=plan.run_id, book_id=plan.book_id, status=plan.status, trades=len(plan.trades)
    )


def _failed(task: BookTask, reason: str) -> BookPlan:
    return BookPlan(
        run_id=task.run_id,
        book_id=task.book_id,
        strategy=task.strategy,
        status=BookStatus.FAILED,
        reason=reason,
    )


def _noting_blocked(plan: BookPlan, blocked_reason: str) -> BookPlan:
    """Say on a plan with trades that this attempt does not trade them."""
    if not blocked_reason or not plan.trades:
        return plan
    note = f"not traded: {blocked_reason}"
    return plan.model_copy(update={"reason": f"{plan.reason}; {note}" if plan.reason else note})


def _evaluate(task: BookTask, deps: Dependencies) -> BookPlan:
    try:
        return _plan(task, deps)
    except TransientBrokerError:
        raise  # the state machine retries the step
    except (*_BOOK_FAILURES, OSError, ValueError) as exc:
        raise BookEvaluationError(task.book_id, f"{type(exc).__name__}: {exc}") from exc


def _plan(task: BookTask, deps: Dependencies) -> BookPlan:
    if task.mode is BookMode.RETIRED:
        return _plan_exit(task, deps)
    symphony = load_symphony(deps.strategies_dir / task.strategy)
    program = compile_symphony(symphony)
    lots = deps.ledger.open_lots(task.book_id)
    positions = positions_of(lots)
    symbols = sorted(set(program.tickers) | set(positions))
    history = deps.market.history(symbols, task.trading_date)
    data_note = _check_quality(task, program, history, sorted(positions))
    allocation = evaluate_on(program, history, task.trading_date, trace=True)
    trace_key = f"traces/{task.run_id}/{task.book_id}.json"
    deps.store.put_bytes(
        trace_key, json.dumps(allocation.trace, indent=1).encode(), "application/json"
    )
    held_or_targeted = sorted(set(allocation.weights) | set(positions))
    last = len(history.dates) - 1
    prices = {
        s: to_decimal(float(history.column(s)[last])).quantize(Decimal("0.0001"))
        for s in held_or_targeted
    }
    assets = {s: deps.broker.asset(s) for s in held_or_targeted}
    scheduled = bool(
        candidate_days(history.dates, symphony.frequency, symphony.meta.rebalance_threshold)[-1]
    )
    capital = _nav(task.cash, positions, prices)
    if not capital > 0:
        return _no_capital(task, allocation.weights, capital, positions, prices, trace_key)
    plan = plan_book_rebalance(
        run_id=task.run_id,
        book_id=task.book_id,
        strategy=task.strategy,
        target_weights=allocation.weights,
        capital=capital,
        positions=positions,
        prices=prices,
        assets=assets,
        settings=deps.settings,
        threshold=symphony.meta.rebalance_threshold,
        scheduled_day=scheduled or not positions,
    )
    if data_note:
        plan = plan.model_copy(
            update={"reason": f"{plan.reason}; {data_note}" if plan.reason else data_note}
        )
    return plan.model_copy(update={"trace_key": trace_key})


def _nav(cash: Decimal, positions: dict[str, Decimal], prices: dict[str, Decimal]) -> Decimal:
    """Return the book's NAV: its own cash and its lots at the day's prices."""
    return cash + sum((q * prices[s] for s, q in positions.items()), Decimal(0))


def _no_capital(
    task: BookTask,
    weights: dict[str, float],
    nav: Decimal,
    positions: dict[str, Decimal],
    prices: dict[str, Decimal],
    trace_key: str,
) -> BookPlan:
    """Hold a book with no capital (not funded yet: the pool had none for it)."""
    return BookPlan(
        run_id=task.run_id,
        book_id=task.book_id,
        strategy=task.strategy,
        status=BookStatus.HELD,
        reason=(
            f"no capital to trade: NAV ${nav:,.2f} (the pool had nothing for this book yet; "
            "it is funded when the pool has cash or at the next capital rebalance)"
        ),
        target_weights={s: to_decimal(w) for s, w in weights.items()},
        capital=nav,
        cash=task.cash,
        positions=positions,
        prices=prices,
        trace_key=trace_key,
    )


def _plan_exit(task: BookTask, deps: Dependencies) -> BookPlan:
    """Plan a retired book's full exit: every lot sold, no symphony needed."""
    positions = positions_of(deps.ledger.open_lots(task.book_id))
    held = sorted(positions)
    history = deps.market.history(held, task.trading_date)
    last = len(history.dates) - 1
    prices = {
        s: to_decimal(float(history.column(s)[last])).quantize(Decimal("0.0001")) for s in held
    }
    plan = plan_book_rebalance(
        run_id=task.run_id,
        book_id=task.book_id,
        strategy=task.strategy,
        target_weights={},
        capital=_nav(task.cash, positions, prices),
        positions=positions,
        prices=prices,
        assets={s: deps.broker.asset(s) for s in held},
        settings=deps.settings,
        threshold=None,
        scheduled_day=True,
    )
    note = (
        "retired: no longer in books.yaml; every position is sold, then its cash goes to the pool"
    )
    return plan.model_copy(update={"reason": f"{plan.reason}; {note}" if plan.reason else note})


def _check_quality(task: BookTask, program: Program, history: PriceHistory, held: list[str]) -> str:
    """Fail closed on the data problems that stop the book; return a note on the others."""
    blocking, tolerated = book_data_problems(
        program, history, held, task.trading_date, QUALITY_LOOKBACK
    )
    if blocking:
        raise DataError("price data failed its checks: " + "; ".join(i.message for i in blocking))
    if not tolerated:
        return ""
    flagged = ", ".join(f"{i.ticker} {i.date} {i.kind.value}" for i in tolerated)
    return f"data: today's allocation does not depend on the flagged close(s) {flagged}"
