"""Hedge: the hedge book's day inside the cycle (evaluate, roll, execute), safe to re-run.

In order:

1. the stage's ``hedge:`` policy (none: hedging is off, nothing else is read);
2. the hedge book from the ledger; orders journaled by an attempt that stopped before
   saving are settled from the broker, read-only (``hedge.journal``);
3. the halt: the global kill switch (setting or ledger) or the hedge switch;
4. the account's exposure, fixed once per run (``cycle.hedge_exposure``);
5. ``run_hedge_day``: settle expiries, check the broker's positions, mark, roll, size,
   buy, each failing closed with its reason; every order is journaled before it is sent;
6. the book is saved (state, IV history, today's snapshot, journal cleared) and the
   summary stored as ``runs/<run>/hedge.json``.

A refusal (not a halt) or a broker error counts as a failure; ``hedge_trip_failures``
of them within 24 hours switch the hedge off, with the failures as the reason.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.books.config import load_hedge_policy
from alchemiser.broker.errors import BrokerError, TransientBrokerError
from alchemiser.cycle.artifacts import RunArtifacts, hedge_key, put_model
from alchemiser.cycle.messages import RunRef
from alchemiser.cycle.models import CyclePlan, HedgeDecision
from alchemiser.errors import ConfigurationError, DataError
from alchemiser.execution.deadline import Deadline, walk_deadline
from alchemiser.hedge.book import HedgeBookState
from alchemiser.hedge.daily import HedgeDayInputs, HedgeDayReport, HedgePorts, run_hedge_day
from alchemiser.hedge.iv_regime import IvHistory
from alchemiser.hedge.journal import OrderIntent, settle_intents
from alchemiser.hedge.policy import HedgePolicy
from alchemiser.hedge.summary import HedgeSummary, book_pnl, summarise
from alchemiser.ledger.hedge_store import (
    HedgeBookRecord,
    HedgeFailure,
    HedgeSnapshot,
    HedgeStore,
    HedgeSwitch,
)
from alchemiser.money import to_decimal
from alchemiser.runtime import Dependencies

if TYPE_CHECKING:  # the exposure needs the engine and numpy: imported when a policy is set
    from alchemiser.broker.options_port import OptionsBroker
    from alchemiser.cycle.hedge_exposure import RunExposure

FAILURE_WINDOW = timedelta(hours=24)


def hedge(ref: RunRef, deps: Dependencies, context: LambdaContext | None = None) -> HedgeDecision:
    """Run the hedge book's day for ``ref``'s run; store what it did; return the decision.

    Every option walk ends by the ``context``'s remaining time less ``walk_margin_s``.
    """
    deps.faults.enter("Hedge")
    day = RunArtifacts(deps.store, ref.run_id).day()
    policy = load_hedge_policy(deps.strategies_dir / deps.settings.books_file, day.stage)
    if policy is None:
        report = HedgeDayReport(ref.run_id, day.trading_date, HedgeBookState())
        report.reasons.append("hedging is off for this stage (no hedge: in books.yaml)")
        return _stored(deps, summarise(report, None, day.account_equity))
    store, options = deps.hedge_store, deps.options
    if store is None or options is None:
        raise ConfigurationError(
            f"stage {day.stage} has a hedge policy but this runtime has no options broker "
            "or hedge store"
        )
    deadline = None
    if context is not None:
        remaining_ms = context.get_remaining_time_in_millis()
        deadline = walk_deadline(deps.clock.now(), remaining_ms, deps.settings)
    hedge_run = _HedgeRun(deps, store, options, day, policy, deadline)
    try:
        summary = hedge_run.run()
    except TransientBrokerError:
        raise  # retried by the state machine; not a failure of the hedge
    except BrokerError as error:
        _count_failure(deps, store, ref.run_id, f"{type(error).__name__}: {error}")
        raise
    if summary.decision == "refused" and not hedge_run.halted:
        _count_failure(deps, store, ref.run_id, summary.reasons[-1])
    return _stored(deps, summary)


def _stored(deps: Dependencies, summary: HedgeSummary) -> HedgeDecision:
    put_model(deps.store, hedge_key(summary.run_id), summary)
    return HedgeDecision(
        run_id=summary.run_id,
        decision=summary.decision,
        reason="; ".join(summary.reasons)[:1000],
        option_orders=summary.broker_orders,
    )


def halt_reason(deps: Dependencies, switch: HedgeSwitch) -> str:
    """Return why no option order may go out today ("" when they may)."""
    if deps.settings.kill_switch:
        return "the kill switch is on (ALCHEMISER_KILL_SWITCH)"
    ledger_switch = deps.ledger.kill_switch()
    if ledger_switch is not None and ledger_switch.enabled:
        return f"the kill switch is on: {ledger_switch.reason}"
    if switch.enabled:
        return f"the hedge kill switch is on: {switch.reason}"
    return ""


class _HedgeRun:
    def __init__(
        self,
        deps: Dependencies,
        store: HedgeStore,
        options: OptionsBroker,
        day: CyclePlan,
        policy: HedgePolicy,
        deadline: Deadline | None,
    ) -> None:
        self.deps, self.store, self.options, self.day = deps, store, options, day
        self.policy, self.deadline = policy, deadline
        self.book = store.load_book()
        self.pending: list[OrderIntent] = []
        self.halted = False  # a kill switch stopped the day: a refusal, not a failure

    def run(self) -> HedgeSummary:
        state, notes = settle_intents(self.book.state, self.book.pending, self.options)
        if self.book.pending:
            self.book = self.book.model_copy(update={"state": state, "pending": ()})
            self.store.save_book(self.book)
        self.deps.faults.inside("Hedge")
        halt = halt_reason(self.deps, self.store.hedge_switch())
        self.halted = bool(halt)
        exposure: RunExposure | None = None
        if not halt:
            try:
                exposure = self._exposure(state)
            except DataError as error:
                return self._refused(state, notes, f"no exposure estimate: {error}")
        report = run_hedge_day(self._inputs(state, exposure, halt), self._ports())
        report.reasons[:0] = notes
        self._save(report)
        if exposure is None:
            return summarise(report, self.policy, self.day.account_equity)
        return summarise(
            report, self.policy, exposure.nav, exposure.underlying, exposure.spot,
            exposure.equity_delta,
        )  # fmt: skip

    def _exposure(self, state: HedgeBookState) -> RunExposure:
        from alchemiser.cycle.hedge_exposure import run_exposure

        held = state.hedges[0].underlying if state.hedges else None
        return run_exposure(
            self.deps, self.day.run_id, self.day.trading_date, list(self.day.books),
            self.day.account_equity, self.policy.underlying, held,
        )  # fmt: skip

    def _refused(self, state: HedgeBookState, notes: list[str], reason: str) -> HedgeSummary:
        report = HedgeDayReport(self.day.run_id, self.day.trading_date, state)
        report.reasons.extend(notes)
        report.refuse(reason)
        return summarise(report, self.policy, self.day.account_equity)

    def _inputs(
        self, state: HedgeBookState, exposure: RunExposure | None, halt: str
    ) -> HedgeDayInputs:
        return HedgeDayInputs(
            run_id=self.day.run_id, today=self.day.trading_date, policy=self.policy,
            nav=exposure.nav if exposure else self.day.account_equity,
            underlying=exposure.underlying if exposure else "",
            equity_delta=exposure.equity_delta if exposure else Decimal(0),
            spot=exposure.spot if exposure else Decimal(0), state=state, halt_reason=halt,
            cash=self.day.hedge_spendable, cash_events=self.day.hedge_events,
        )  # fmt: skip

    def _ports(self) -> HedgePorts:
        self.iv = IvHistory({u: dict(days) for u, days in self.book.iv.items()})
        return HedgePorts(
            self.options, self.deps.clock, self.iv, close_of=self._close_of,
            journal=self._journal, deadline=self.deadline,
        )  # fmt: skip

    def _journal(self, intent: OrderIntent) -> None:
        self.pending.append(intent)
        self.store.save_book(self.book.model_copy(update={"pending": tuple(self.pending)}))

    def _close_of(self, underlying: str, day: date) -> Decimal | None:
        history = self.deps.market.history([underlying], day)
        if len(history.dates) == 0 or history.day(len(history.dates) - 1) != day:
            return None
        return to_decimal(float(history.column(underlying)[-1])).quantize(Decimal("0.0001"))

    def _save(self, report: HedgeDayReport) -> None:
        today = self.day.trading_date
        realised, unrealised = book_pnl(report.state, report.marks)
        snapshot = HedgeSnapshot(
            day=today, nav=sum((m.value for m in report.marks), Decimal(0)),
            premium_month=report.state.month_to_date(today),
            premium_year=report.state.last_twelve_months(today),
            realised=realised, unrealised=unrealised,
        )  # fmt: skip
        snapshots = self.book.snapshots
        if report.marks or not report.state.hedges:  # a day that could not mark keeps none
            snapshots = (*(s for s in snapshots if s.day != today), snapshot)
        self.book = HedgeBookRecord(
            state=report.state, pending=(), iv=self.iv.days(), snapshots=snapshots
        )
        self.store.save_book(self.book)


def _count_failure(deps: Dependencies, store: HedgeStore, run_id: str, reason: str) -> None:
    """Record one hedge failure; trip the hedge switch at the configured count in 24 h."""
    now = deps.clock.now()
    switch = store.hedge_switch()
    recent = tuple(f for f in switch.failures if now - f.at < FAILURE_WINDOW)
    failures = (*recent, HedgeFailure(at=now, run_id=run_id, reason=reason))
    limit = deps.settings.hedge_trip_failures
    if not switch.enabled and len(failures) >= limit:
        switch = switch.model_copy(
            update={
                "enabled": True,
                "reason": f"tripped by {len(failures)} hedge failures in 24 h "
                f"(hedge_trip_failures={limit}); last: {reason}",
                "updated_at": now,
                "updated_by": "alchemiser (automatic)",
            }
        )
    store.save_hedge_switch(switch.model_copy(update={"failures": failures}))


def set_hedge_switch(store: HedgeStore, enabled: bool, reason: str, now: datetime) -> HedgeSwitch:
    """Switch the hedge on or off by hand (off also forgets the failures that tripped it)."""
    switch = store.hedge_switch().model_copy(
        update={"enabled": enabled, "reason": reason, "updated_at": now,
                "updated_by": getpass.getuser()}
    )  # fmt: skip
    if not enabled:
        switch = switch.model_copy(update={"failures": ()})
    store.save_hedge_switch(switch)
    return switch
