"""PlanCycle: is there a day to trade, with which books, at what time, on what equity."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from alchemiser.books.config import BookConfig, load_books
from alchemiser.broker.models import TradingSession
from alchemiser.cycle.drift import books_total, measure_drift, with_unreconciled_fills
from alchemiser.cycle.idempotency import run_once
from alchemiser.cycle.models import BookTask, CyclePlan, CycleRequest
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.errors import ConfigurationError, DataError
from alchemiser.ledger.models import RunRecord, RunStatus
from alchemiser.market.history import MissingTickersError
from alchemiser.runtime import Dependencies
from alchemiser.settings import Runtime

MARKET_TIMEZONE = ZoneInfo("America/New_York")
STALE_RUN = timedelta(hours=9)  # longer than any execution (the state machine times out at 9 h)


class _DaySetup(BaseModel):
    """What a run fixes once and reuses on every re-run: equity, books, timing."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    trading_date: date
    account_equity: Decimal
    books: list[BookTask]
    run_at: datetime
    data_source: str
    warnings: list[str] = []


def plan_cycle(
    request: CycleRequest, deps: Dependencies, context: LambdaContext | None = None
) -> CyclePlan:
    """Decide whether and how the day is traded (market calendar, run record, limits)."""
    deps.faults.enter("PlanCycle")
    day = _trading_day(request, deps)
    run_id = run_id_for(request.stage, day)
    stop = _reason_to_stop(request, run_id, day, deps)
    if stop is not None:
        return stop
    session = _session(day, deps)
    assert session is not None  # _reason_to_stop returned for a closed market
    _start_run(request, run_id, day, deps)
    setup = run_once(
        deps,
        "PlanCycle",
        _SetupRequest(run_id=run_id, stage=request.stage, trading_date=day, close=session.close),
        lambda req: _fix_day(req, deps),
        key="run_id",
        output=_DaySetup,
        context=context,
    )
    blocked = _blocked_reason(run_id, deps)
    books = [b.model_copy(update={"blocked_reason": blocked}) for b in setup.books]
    return CyclePlan(
        run_id=run_id,
        stage=request.stage,
        trading_date=day,
        market_open=True,
        proceed=True,
        run_at=setup.run_at,
        account_equity=setup.account_equity,
        blocked_reason=blocked,
        books=books,
        data_source=setup.data_source,
        warnings=setup.warnings,
    )


def run_id_for(stage: str, day: date) -> str:
    """Return the run id of a stage's trading day: every execution for that day shares it."""
    return f"cycle-{day.isoformat()}-{stage}"


def _reason_to_stop(
    request: CycleRequest, run_id: str, day: date, deps: Dependencies
) -> CyclePlan | None:
    """Return the plan of a day with nothing to do (closed, traded, too late, busy), else None."""
    session = _session(day, deps)
    if session is None:
        reason = f"the market is closed on {day} ({day:%A})"
        return _stop(request, run_id, day, reason, market_open=False)
    previous = _completed_run(request.stage, day, deps)
    if previous is not None:
        reason = (
            f"{day} was already traded by run {previous.run_id} "
            f"(completed {previous.updated_at:%Y-%m-%d %H:%M} UTC); no new orders"
        )
        return _stop(request, run_id, day, reason, market_open=True, already_traded=True)
    if deps.settings.runtime is Runtime.AWS and deps.clock.now() >= session.close:
        reason = f"too late: the market closed at {session.close:%H:%M} UTC"
        return _stop(request, run_id, day, reason, market_open=True)
    busy = _running_elsewhere(run_id, request.execution_name, deps)
    if busy:
        return _stop(request, run_id, day, busy, market_open=True)
    return None


def _running_elsewhere(run_id: str, execution_name: str, deps: Dependencies) -> str:
    """Return why another execution owns this day right now ('' when none does)."""
    run = deps.ledger.get_run(run_id)
    if run is None or run.status is not RunStatus.STARTED:
        return ""
    if run.execution_name in ("", execution_name):
        return ""
    if deps.clock.now() - run.updated_at > STALE_RUN:
        return ""  # that execution died without reporting; this one takes the day over
    return (
        f"execution {run.execution_name} is already running {run_id} "
        f"(updated {run.updated_at:%H:%M} UTC); this execution places nothing"
    )


class _SetupRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    stage: str
    trading_date: date
    close: datetime


def _fix_day(request: _SetupRequest, deps: Dependencies) -> _DaySetup:
    books = _books(request.stage, deps)
    account = deps.broker.account()
    if account.trading_blocked:
        raise ConfigurationError("the broker account is blocked from trading")
    if account.equity <= 0:
        raise DataError(f"account equity must be > 0 to plan books, was {account.equity}")
    warnings = _check_data_fresh(books, request.trading_date, deps)
    run_at = request.close - timedelta(minutes=deps.settings.minutes_before_close)
    tasks = [
        BookTask(
            run_id=request.run_id,
            stage=request.stage,
            trading_date=request.trading_date,
            book_id=b.id,
            strategy=b.strategy,
            share=b.share,
            account_equity=account.equity,
        )
        for b in books
    ]
    return _DaySetup(
        run_id=request.run_id,
        trading_date=request.trading_date,
        account_equity=account.equity,
        books=tasks,
        run_at=run_at,
        data_source=deps.market.describe(),
        warnings=warnings,
    )


def _trading_day(request: CycleRequest, deps: Dependencies) -> date:
    today = deps.clock.now().astimezone(MARKET_TIMEZONE).date()
    asked = request.options.trading_date
    if asked is None:
        return today
    if deps.settings.runtime is Runtime.AWS and asked != today:
        raise ConfigurationError(
            f"a live run trades today ({today}); replaying {asked} is only possible locally"
        )
    return asked


def _session(day: date, deps: Dependencies) -> TradingSession | None:
    sessions = [s for s in deps.broker.calendar(day, day) if s.day == day]
    return sessions[0] if sessions else None


def _completed_run(stage: str, day: date, deps: Dependencies) -> RunRecord | None:
    for run in deps.ledger.runs(stage):
        if run.trading_date == day and run.status is RunStatus.COMPLETED:
            return run
    return None


def _start_run(request: CycleRequest, run_id: str, day: date, deps: Dependencies) -> None:
    now = deps.clock.now()
    existing = deps.ledger.get_run(run_id)
    deps.ledger.put_run(
        RunRecord(
            run_id=run_id,
            stage=request.stage,
            trading_date=day,
            status=RunStatus.STARTED,
            started_at=existing.started_at if existing is not None else now,
            updated_at=now,
            attempts=existing.attempts + 1 if existing is not None else 1,
            message="re-run of a failed run" if existing is not None else "",
            execution_name=request.execution_name,
        )
    )


def _books(stage: str, deps: Dependencies) -> list[BookConfig]:
    path = deps.strategies_dir / deps.settings.books_file
    books = load_books(path, stage)
    if not books:
        raise ConfigurationError(f"{path}: stage {stage!r} has no books")
    return books


def _check_data_fresh(books: list[BookConfig], day: date, deps: Dependencies) -> list[str]:
    """Check each book's data has a close for ``day``; fail closed when no book's data does.

    A book whose data is missing or stale is only warned about here: its evaluation fails
    with the exact reason, and the other books go on.
    """
    warnings: list[str] = []
    for book in books:
        tickers = compile_symphony(load_symphony(deps.strategies_dir / book.strategy)).tickers
        try:
            history = deps.market.history(tickers, day)
        except MissingTickersError as exc:
            warnings.append(f"book {book.id}: {exc}")
            continue
        last = history.day(len(history.dates) - 1) if len(history.dates) else None
        if last != day:
            warnings.append(
                f"book {book.id}: the last close is for {last}, the trading day is {day}"
            )
    if len(warnings) == len(books):
        raise DataError("no book has market data for the trading day: " + "; ".join(warnings))
    return warnings


def _blocked_reason(run_id: str, deps: Dependencies) -> str:
    """Return why nothing may trade this run ('' when trading may go ahead)."""
    reasons: list[str] = []
    switch = deps.ledger.kill_switch()
    if deps.settings.kill_switch:
        reasons.append("kill switch is on (setting ALCHEMISER_KILL_SWITCH)")
    elif switch is not None and switch.enabled:
        reasons.append(
            f"kill switch is on ({switch.reason or 'no reason given'}, by {switch.updated_by or 'unknown'})"
        )
    drift = _drift(run_id, deps)
    if drift:
        reasons.append("broker positions disagree with the books: " + "; ".join(drift))
    return "; ".join(reasons)


def _drift(run_id: str, deps: Dependencies) -> list[str]:
    """Compare the broker's positions with the books' lots plus this run's unreconciled fills."""
    expected = with_unreconciled_fills(books_total(deps.ledger), deps.ledger, run_id)
    lines = measure_drift(expected, deps.broker.positions(), deps.settings.drift_tolerance_notional)
    return [f"{d.symbol}: broker {d.broker_qty}, books {d.books_qty}" for d in lines]


def _stop(
    request: CycleRequest,
    run_id: str,
    day: date,
    reason: str,
    *,
    market_open: bool,
    already_traded: bool = False,
) -> CyclePlan:
    return CyclePlan(
        run_id=run_id,
        stage=request.stage,
        trading_date=day,
        market_open=market_open,
        proceed=False,
        reason=reason,
        already_traded=already_traded,
        run_at=request.started_at,
    )
