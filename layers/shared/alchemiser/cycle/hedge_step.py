"""HedgeExecute: the hedge book's day inside the cycle (mark, roll, buy), safe to re-run.

It trades on the plan HedgePlan stored (``cycle.hedge_plan``: the policy, the day's
exposure, the closes), so it loads neither the engine nor the price history. In order:

1. the plan (no policy: hedging is off, nothing else is read);
2. the hedge book from the ledger; orders journaled by an attempt that stopped before
   saving are settled from the broker, read-only (``hedge.journal``);
3. the halt: the global kill switch (setting or ledger) or the hedge switch;
4. the plan's exposure, or its refusal (a book that could not be evaluated);
5. ``run_hedge_day``: settle expiries, check the broker's positions, mark, roll, size,
   buy, each failing closed with its reason; every order is journaled before it is
   sent, and every walk stops before the market's close (``hedge.execution``);
6. the book is saved (state, IV history, today's snapshot, journal cleared) and the
   summary stored as ``runs/<run>/hedge.json``.

The hedge is the day's, not the run's: a retry run (``<first run>-r2``, started by a
re-run of a day whose hedge failed, or whose books did) works under the day's first run
id, with that run's books and account equity, so its client order ids are the ones the
first run's hedge used (found at the broker, never placed twice) and it ends the day as
an uninterrupted first run would. Its summary is stored under its own run id.

A refusal (not a halt) counts as a failure; so does any error that escapes this step,
which the state machine catches and Reconcile records (``cycle.hedge_failure``). A run
counts once; ``hedge_trip_failures`` failures within 24 hours switch the hedge off, with
the failures as the reason.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.artifacts import get_model, hedge_key, put_model
from alchemiser.cycle.hedge_failure import count_failure
from alchemiser.cycle.hedge_models import HedgePlanned, RunExposure, days_first_run
from alchemiser.cycle.messages import HedgePlanRef
from alchemiser.cycle.models import CyclePlan, HedgeDecision
from alchemiser.errors import ConfigurationError
from alchemiser.execution.deadline import Deadline, walk_deadline
from alchemiser.hedge.book import HedgeBookState
from alchemiser.hedge.daily import HedgeDayInputs, HedgeDayReport, HedgePorts, run_hedge_day
from alchemiser.hedge.execution import MarketHours
from alchemiser.hedge.iv_regime import IvHistory
from alchemiser.hedge.journal import OrderIntent, settle_intents
from alchemiser.hedge.policy import HedgePolicy
from alchemiser.hedge.summary import HedgeSummary, book_pnl, summarise
from alchemiser.ledger.hedge_store import HedgeBookRecord, HedgeSnapshot, HedgeStore, HedgeSwitch
from alchemiser.runtime import Dependencies

if TYPE_CHECKING:
    from alchemiser.broker.options_port import OptionsBroker


def hedge(
    ref: HedgePlanRef, deps: Dependencies, context: LambdaContext | None = None
) -> HedgeDecision:
    """Run the hedge book's day for ``ref``'s run on its plan; store what it did.

    Every option walk ends by the ``context``'s remaining time less ``walk_margin_s``.
    """
    deps.faults.enter("HedgeExecute")
    day = days_first_run(deps.store, ref.run_id)
    planned = get_model(deps.store, ref.hedge_plan_key, HedgePlanned)
    policy = planned.policy
    if policy is None:
        report = HedgeDayReport(ref.run_id, day.trading_date, HedgeBookState())
        report.reasons.append("hedging is off for this stage (no hedge: in books.yaml)")
        return _stored(deps, ref.run_id, summarise(report, None, day.account_equity))
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
    hedge_run = _HedgeRun(deps, store, options, day, (planned, policy), deadline)
    summary = hedge_run.run()  # an error escapes to the state machine's Catch (HedgeFailed)
    if summary.decision == "refused" and not hedge_run.halted:
        count_failure(deps, store, ref.run_id, summary.reasons[-1])
    return _stored(deps, ref.run_id, summary)


def _stored(deps: Dependencies, run_id: str, summary: HedgeSummary) -> HedgeDecision:
    summary = summary.model_copy(update={"run_id": run_id})
    put_model(deps.store, hedge_key(run_id), summary)
    return HedgeDecision(
        run_id=run_id,
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
        plan: tuple[HedgePlanned, HedgePolicy],  # the stored plan, and its (set) policy
        deadline: Deadline | None,
    ) -> None:
        self.deps, self.store, self.options, self.day = deps, store, options, day
        self.planned, self.policy = plan
        self.deadline = deadline
        self.book = store.load_book()
        self.pending: list[OrderIntent] = []
        self.halted = False  # a kill switch stopped the day: a refusal, not a failure

    def run(self) -> HedgeSummary:
        state, notes = settle_intents(self.book.state, self.book.pending, self.options)
        if self.book.pending:
            self.book = self.book.model_copy(update={"state": state, "pending": ()})
            self.store.save_book(self.book)
        self.deps.faults.inside("HedgeExecute")
        halt = halt_reason(self.deps, self.store.hedge_switch())
        self.halted = bool(halt)
        exposure = self.planned.exposure
        if not halt and exposure is None:
            why = self.planned.refusal or (
                f"no exposure estimate: the hedge was halted when planned ({self.planned.halted})"
            )
            return self._refused(state, notes, why)
        report = run_hedge_day(self._inputs(state, exposure, halt), self._ports())
        report.reasons[:0] = notes
        self._save(report)
        if exposure is None:
            return summarise(report, self.policy, self.day.account_equity)
        return summarise(
            report, self.policy, exposure.nav, exposure.underlying, exposure.spot,
            exposure.equity_delta,
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
        margin = timedelta(seconds=self.deps.settings.close_margin_s)
        return HedgePorts(
            self.options, self.deps.clock, self.iv, close_of=self._close_of,
            journal=self._journal, deadline=self.deadline,
            market=MarketHours(self.deps.broker.clock, margin),
        )  # fmt: skip

    def _journal(self, intent: OrderIntent) -> None:
        self.pending.append(intent)
        self.store.save_book(self.book.model_copy(update={"pending": tuple(self.pending)}))

    def _close_of(self, underlying: str, day: date) -> Decimal | None:
        """Return a close HedgePlan read (None: the data had none, the hedge fails closed)."""
        return self.planned.closes.get(underlying, {}).get(day)

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
