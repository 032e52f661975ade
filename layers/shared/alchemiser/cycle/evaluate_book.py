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
from alchemiser.cycle.idempotency import run_once
from alchemiser.cycle.models import BookPlan, BookTask
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
    task: BookTask, deps: Dependencies, context: LambdaContext | None = None
) -> BookPlan:
    """Evaluate the book's symphony as of the trading day and plan its rebalance (once per run)."""
    deps.faults.enter("EvaluateBook")
    return run_once(
        deps,
        "EvaluateBook",
        task,
        lambda t: _evaluate(t, deps),
        key="[run_id, book_id]",
        output=BookPlan,
        context=context,
    )


def _evaluate(task: BookTask, deps: Dependencies) -> BookPlan:
    try:
        return _plan(task, deps)
    except TransientBrokerError:
        raise  # the state machine retries the step
    except (*_BOOK_FAILURES, OSError, ValueError) as exc:
        raise BookEvaluationError(task.book_id, f"{type(exc).__name__}: {exc}") from exc


def _plan(task: BookTask, deps: Dependencies) -> BookPlan:
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
    plan = plan_book_rebalance(
        run_id=task.run_id,
        book_id=task.book_id,
        strategy=task.strategy,
        target_weights=allocation.weights,
        capital=(task.account_equity * task.share).quantize(Decimal("0.01")),
        positions=positions,
        prices=prices,
        assets=assets,
        settings=deps.settings,
        threshold=symphony.meta.rebalance_threshold,
        scheduled_day=scheduled or not positions,
    )
    updates: dict[str, object] = {"trace_key": trace_key}
    if task.blocked_reason and plan.trades:
        updates["reason"] = (
            f"{plan.reason + '; ' if plan.reason else ''}not traded: {task.blocked_reason}"
        )
    if data_note:
        reason = str(updates.get("reason", plan.reason))
        updates["reason"] = f"{reason + '; ' if reason else ''}{data_note}"
    return plan.model_copy(update=updates)


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
