"""PlanCycle: is there a day to trade, with which books, at what time, on what equity."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from alchemiser.books.config import BookConfig, StageConfig, load_stage
from alchemiser.books.shadow import shadow_books
from alchemiser.broker.models import TradingSession
from alchemiser.cycle.artifacts import DaySetup, day_key, put_model, setup_key
from alchemiser.cycle.capital import settle_capital
from alchemiser.cycle.days import MARKET_TIMEZONE
from alchemiser.cycle.drift import books_total, measure_drift, with_unreconciled_fills
from alchemiser.cycle.idempotency import run_once_stored
from alchemiser.cycle.late_reconcile import reconcile_earlier_days, refresh_from_broker
from alchemiser.cycle.messages import CycleStart
from alchemiser.cycle.models import BookMode, BookTask, CyclePlan, CycleRequest
from alchemiser.cycle.retry import DayRun, run_for_day
from alchemiser.cycle.run_claim import claim_day
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.errors import ConfigurationError, DataError
from alchemiser.market.history import MissingTickersError
from alchemiser.runtime import Dependencies
from alchemiser.settings import Runtime


def plan_cycle(
    request: CycleRequest, deps: Dependencies, context: LambdaContext | None = None
) -> CycleStart:
    """Decide whether and how the day is traded (market calendar, the claim, limits).

    Store this attempt's plan of the day (``CyclePlan``) under the run; the state gets
    the run id, the timing and the book ids.
    """
    deps.faults.enter("PlanCycle")
    day = _trading_day(request, deps)
    day_run = run_for_day(request.stage, day, deps)
    run_id = day_run.run_id
    stop = _reason_to_stop(request, day_run, day, deps)
    if stop is not None:
        return stop
    session = _session(day, deps)
    assert session is not None  # _reason_to_stop returned for a closed market
    busy = claim_day(request, run_id, day, deps)
    if busy:
        return _stop(request, run_id, day, busy, market_open=True)
    late = reconcile_earlier_days(request.stage, run_id, day, deps)
    setup = run_once_stored(
        deps,
        "PlanCycle",
        _SetupRequest(
            run_id=run_id,
            stage=request.stage,
            trading_date=day,
            close=session.close,
            retry_books=list(day_run.retry_books),
        ),
        lambda req: _fix_day(req, deps),
        key="run_id",
        artifact_key=setup_key(run_id),
        output=DaySetup,
        context=context,
    )
    shadow = frozenset(t.book_id for t in setup.books if t.mode is BookMode.SHADOW)
    blocked = _blocked_reason(run_id, deps, shadow)
    plan = CyclePlan(
        run_id=run_id,
        stage=request.stage,
        trading_date=day,
        market_open=True,
        proceed=True,
        run_at=setup.run_at,
        account_equity=setup.account_equity,
        blocked_reason=blocked,
        books=[b.model_copy(update={"blocked_reason": blocked}) for b in setup.books],
        data_source=setup.data_source,
        warnings=[*late, *setup.warnings],
        hedge_cash=setup.hedge_cash,
        hedge_spendable=setup.hedge_spendable,
        hedge_events=setup.hedge_events,
    )
    put_model(deps.store, day_key(run_id), plan)
    return CycleStart(
        run_id=run_id,
        stage=request.stage,
        trading_date=day,
        market_open=True,
        proceed=True,
        run_at=setup.run_at,
        blocked=bool(blocked),
        book_ids=[b.book_id for b in setup.books],
    )


def _reason_to_stop(
    request: CycleRequest, day_run: DayRun, day: date, deps: Dependencies
) -> CycleStart | None:
    """Return the plan of a day with nothing to do (closed, traded, too late), else None."""
    run_id = day_run.run_id
    session = _session(day, deps)
    if session is None:
        reason = f"the market is closed on {day} ({day:%A})"
        return _stop(request, run_id, day, reason, market_open=False)
    previous = day_run.done
    if previous is not None:
        reason = (
            f"{day} was already traded by run {previous.run_id} "
            f"(completed {previous.updated_at:%Y-%m-%d %H:%M} UTC); no new orders"
        )
        return _stop(request, run_id, day, reason, market_open=True, already_traded=True)
    if deps.settings.runtime is Runtime.AWS and deps.clock.now() >= session.close:
        reason = f"too late: the market closed at {session.close:%H:%M} UTC"
        return _stop(request, run_id, day, reason, market_open=True)
    return None


class _SetupRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    stage: str
    trading_date: date
    close: datetime
    retry_books: list[str] = []  # a retry run: only these books (alchemiser.cycle.retry)


def _fix_day(request: _SetupRequest, deps: Dependencies) -> DaySetup:
    stage = _stage(request.stage, deps)
    retry = set(request.retry_books)
    books = [b for b in stage.books if b.id in retry] if retry else list(stage.books)
    account = deps.broker.account()
    if account.trading_blocked:
        raise ConfigurationError("the broker account is blocked from trading")
    if account.equity <= 0:
        raise DataError(f"account equity must be > 0 to plan books, was {account.equity}")
    warnings = _check_data_fresh(books, request.trading_date, deps)
    capital = settle_capital(request.run_id, request.trading_date, stage, deps, retry=retry)
    run_at = request.close - timedelta(minutes=deps.settings.minutes_before_close)
    common = {
        "run_id": request.run_id,
        "stage": request.stage,
        "trading_date": request.trading_date,
        "account_equity": account.equity,
    }
    tasks = [
        BookTask(
            **common,
            book_id=b.id,
            strategy=b.strategy,
            share=b.share,
            cash=capital.cash[b.id],
            mode=BookMode.SHADOW if b.shadow else BookMode.LIVE,
        )
        for b in books
    ]
    tasks += [
        BookTask(
            **common,
            book_id=b,
            strategy="",
            share=Decimal(0),
            cash=capital.cash[b],
            mode=BookMode.RETIRED,
        )
        for b in capital.retired
        if not retry or b in retry
    ]
    return DaySetup(
        run_id=request.run_id,
        stage=request.stage,
        trading_date=request.trading_date,
        account_equity=account.equity,
        books=tasks,
        run_at=run_at,
        data_source=deps.market.describe(),
        warnings=[*warnings, *capital.warnings],
        rebalanced=capital.rebalanced,
        hedge_cash=capital.hedge.cash if capital.hedge else None,
        hedge_spendable=capital.hedge.spendable if capital.hedge else None,
        hedge_events=capital.hedge.events if capital.hedge else 0,
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


def _stage(stage: str, deps: Dependencies) -> StageConfig:
    path = deps.strategies_dir / deps.settings.books_file
    config = load_stage(path, stage)
    if not config.books:
        raise ConfigurationError(f"{path}: stage {stage!r} has no books")
    return config


def _check_data_fresh(books: list[BookConfig], day: date, deps: Dependencies) -> list[str]:
    """Check each book's data has a close for ``day``; fail closed when no book's data does.

    A book whose data is missing or stale is only warned about here: its evaluation fails
    with the exact reason, and the other books go on. Each strategy file is checked once,
    however many books run it.
    """
    problems = {s: _data_problem(s, day, deps) for s in sorted({b.strategy for b in books})}
    warnings = [f"book {b.id}: {problems[b.strategy]}" for b in books if problems[b.strategy]]
    if len(warnings) == len(books):
        raise DataError("no book has market data for the trading day: " + "; ".join(warnings))
    return warnings


def _data_problem(strategy: str, day: date, deps: Dependencies) -> str:
    tickers = compile_symphony(load_symphony(deps.strategies_dir / strategy)).tickers
    try:
        history = deps.market.history(tickers, day)
    except MissingTickersError as exc:
        return str(exc)
    last = history.day(len(history.dates) - 1) if len(history.dates) else None
    return "" if last == day else f"the last close is for {last}, the trading day is {day}"


def _blocked_reason(run_id: str, deps: Dependencies, shadow: frozenset[str]) -> str:
    """Return why nothing may trade this run ('' when trading may go ahead)."""
    reasons: list[str] = []
    switch = deps.ledger.kill_switch()
    if deps.settings.kill_switch:
        reasons.append("kill switch is on (setting ALCHEMISER_KILL_SWITCH)")
    elif switch is not None and switch.enabled:
        reasons.append(
            f"kill switch is on ({switch.reason or 'no reason given'}, by {switch.updated_by or 'unknown'})"
        )
    drift = _drift(run_id, deps, shadow)
    if drift:
        reasons.append("broker positions disagree with the books: " + "; ".join(drift))
    return "; ".join(reasons)


def _drift(run_id: str, deps: Dependencies, shadow: frozenset[str]) -> list[str]:
    """Compare the broker's positions with the books' lots plus this run's unreconciled fills
    (as the broker reports them: an earlier attempt may have died before recording them)."""
    refresh_from_broker(run_id, deps)
    live = books_total(deps.ledger, exclude=shadow_books(deps.ledger, shadow))
    expected = with_unreconciled_fills(live, deps.ledger, run_id)
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
) -> CycleStart:
    return CycleStart(
        run_id=run_id,
        stage=request.stage,
        trading_date=day,
        market_open=market_open,
        proceed=False,
        reason=reason,
        already_traded=already_traded,
        run_at=request.started_at,
    )
