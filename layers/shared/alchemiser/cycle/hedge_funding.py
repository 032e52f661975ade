"""The hedge book's funding, decided in PlanCycle before any book plans.

The hedge book (``alchemiser.books.hedge_account``) holds only the cash its policy may
spend before the next run, so that the equity branch, trading in parallel with the
Hedge branch, can never spend the hedge's cash nor the hedge the books':

1. Every event of the hedge book is posted to its cash (idempotent), so the cash is
   current, whatever step last saw the book.
2. **The target** is what the policy may still spend: the smaller of the monthly cap
   less the premium paid this month and the yearly cap less the premium of the last
   12 months (caps are fractions of the account's equity, as the Hedge step sizes
   them), never below 0. With no ``hedge:`` policy, or the hedge kill switch on, the
   target is 0 (the global kill switch stops a day's trading, not its capital).
3. **Top-up** (cash below target): from the pool first, then from the live books pro
   rata to their NAV (the hedge protects them all, so its cost is theirs), as ``HEDGE``
   transfers. A book's cash may go below zero: its own plan sells to make it good.
   **Spare cash** goes back to the pool, where the capital policy gives it to the
   books: all of it when hedging is off or the hedge kill switch is on; else what is above a
   month's cap (a close's proceeds, a payoff). While hedging, a move smaller than
   ``TOLERANCE`` of a month's cap is not made, so the hedge's cash does not churn by a
   few dollars with every day's NAV. Decided once per run (a later attempt finds the
   run's transfers).
4. **What the Hedge step may spend today** is the hedge's cash less what the live
   books owe (the sum of their negative cash: sells not made yet fund it), never below
   0. The Hedge step adds the cash of the events the book gains after this (a close's
   proceeds) and clips its purchase to it (the sizing's ``hedge cash`` cap).

For returns, ``HEDGE`` transfers are start-of-day flows: a book's NAV falls by its
part of the hedge's cost, and that is not its strategy's performance; the hedge book's
premium and proceeds are its performance, and the account's (no flow of the account).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from alchemiser.books.cash import largest_remainder
from alchemiser.books.config import StageConfig
from alchemiser.books.hedge_account import post_hedge_events
from alchemiser.hedge.book import HedgeBookState
from alchemiser.hedge.policy import HedgePolicy
from alchemiser.ledger.models import HEDGE, POOL, Transfer, TransferReason
from alchemiser.ledger.port import Ledger
from alchemiser.money import CENT, ZERO
from alchemiser.runtime import Dependencies

TOLERANCE = Decimal("0.02")  # of a month's cap: smaller top-ups and returns are not made


@dataclass(frozen=True)
class HedgeFunding:
    """The hedge book's cash after PlanCycle, and what the Hedge step may spend of it."""

    cash: Decimal
    spendable: Decimal
    events: int  # how many of the book's events the cash includes (a prefix: append-only)
    warnings: list[str] = field(default_factory=list)


def fund_hedge(
    run_id: str, day: date, stage: StageConfig, deps: Dependencies, *, retry: bool = False
) -> HedgeFunding | None:
    """Post the hedge's events, top its cash up or return its spare; see the module doc.

    Return None when the runtime has no hedge book and the ledger no hedge cash. A
    ``retry`` run (``alchemiser.cycle.retry``) posts the events and moves no capital.
    """
    ledger, store = deps.ledger, deps.hedge_store
    if store is None:
        return None if HEDGE not in ledger.cash_accounts() else _funding(ledger, stage, 0, [])
    state = store.load_book().state
    events = post_hedge_events(ledger, state, run_id)
    warnings: list[str] = []
    if not retry and not _decided(ledger, run_id, day):
        halt = _halted(deps, stage.hedge is not None)
        target, ceiling, why = _target(stage.hedge, state, day, deps, halt)
        transfers, short = _moves(run_id, day, stage, ledger, (target, ceiling), why)
        ledger.record_transfers(transfers)
        if short:
            warnings.append(short)
    if HEDGE not in ledger.cash_accounts() and stage.hedge is None:
        return None
    return _funding(ledger, stage, events, warnings)


def _decided(ledger: Ledger, run_id: str, day: date) -> bool:
    return any(
        t.run_id == run_id and t.reason is TransferReason.HEDGE for t in ledger.transfers_on(day)
    )


def _halted(deps: Dependencies, hedged: bool) -> str:
    """Return why the hedge is switched off ("" when it is not).

    Only the hedge's own switch: the global kill switch stops a day's trading, not its
    capital (a day blocked by it and re-run once it is off still has its hedge cash).
    """
    if hedged and deps.hedge_store is not None and deps.hedge_store.hedge_switch().enabled:
        return "the hedge kill switch is on"
    return ""


def _target(
    policy: HedgePolicy | None, state: HedgeBookState, day: date, deps: Dependencies, halt: str
) -> tuple[Decimal, Decimal, str]:
    """Return the cash the hedge should hold at least and at most today, and why."""
    if policy is None:
        return ZERO, ZERO, "hedging is off for this stage"
    if halt:
        return ZERO, ZERO, halt
    nav = deps.broker.account().equity
    month_cap, year_cap = policy.budget.monthly * nav, policy.budget.yearly * nav
    month, year = state.month_to_date(day), state.last_twelve_months(day)
    target = max(min(month_cap - month, year_cap - year), ZERO).quantize(CENT, rounding=ROUND_DOWN)
    why = (
        f"what the policy may spend before the next run: ${month_cap:,.2f} a month less "
        f"${month:,.2f} spent, ${year_cap:,.2f} a year less ${year:,.2f}"
    )
    return target, month_cap.quantize(CENT, rounding=ROUND_DOWN), why


def _moves(
    run_id: str,
    day: date,
    stage: StageConfig,
    ledger: Ledger,
    bounds: tuple[Decimal, Decimal],
    why: str,
) -> tuple[list[Transfer], str]:
    """Return the transfers that bring the hedge's cash within ``bounds`` (target,
    ceiling), and any shortfall."""
    accounts = ledger.cash_accounts()
    cash = accounts.get(HEDGE, ZERO)
    target, ceiling = bounds
    least = max((TOLERANCE * ceiling).quantize(CENT), CENT)
    if cash - ceiling >= least:
        detail = f"spare hedge cash back to the pool: the hedge keeps ${ceiling:,.2f} ({why})"
        return [_transfer(run_id, day, HEDGE, POOL, cash - ceiling, detail)], ""
    need = target - cash
    if need < least:
        return [], ""
    detail = f"tops the hedge book up to ${target:,.2f}, {why}"
    pool = max(accounts.get(POOL, ZERO), ZERO)
    from_pool = min(need, pool)
    transfers = [_transfer(run_id, day, POOL, HEDGE, from_pool, detail)] if from_pool else []
    rest = need - from_pool
    navs = {b: n for b, n in live_navs(ledger, stage, day, accounts).items() if n > 0}
    if rest and not navs:
        return transfers, f"hedge: funded ${need - rest:,.2f} of ${need:,.2f}: no book has capital"
    if rest:
        shares = largest_remainder(rest, navs)
        transfers += [
            _transfer(run_id, day, book, HEDGE, amount, f"{book}'s part, pro rata to NAV: {detail}")
            for book, amount in sorted(shares.items())
            if amount > 0
        ]
    return transfers, ""


def _transfer(
    run_id: str, day: date, source: str, destination: str, amount: Decimal, detail: str
) -> Transfer:
    return Transfer(
        transfer_id=f"{run_id}:hedge:{source}:{destination}",
        trading_date=day,
        source=source,
        destination=destination,
        amount=amount,
        reason=TransferReason.HEDGE,
        detail=detail,
        run_id=run_id,
    )


def live_navs(
    ledger: Ledger, stage: StageConfig, day: date, accounts: dict[str, Decimal]
) -> dict[str, Decimal]:
    """Return each live configured book's NAV: its cash and its lots at its last snapshot."""
    navs: dict[str, Decimal] = {}
    for book in (b.id for b in stage.books if not b.shadow):
        snapshot = ledger.latest_snapshot(book, day - timedelta(days=1))
        value = ZERO
        if snapshot is not None:
            value = sum((q * snapshot.prices[s] for s, q in snapshot.positions.items()), ZERO)
        if book in accounts or snapshot is not None:
            navs[book] = accounts.get(book, ZERO) + value
    return navs


def _funding(ledger: Ledger, stage: StageConfig, events: int, warnings: list[str]) -> HedgeFunding:
    accounts = ledger.cash_accounts()
    cash = accounts.get(HEDGE, ZERO)
    owed = sum(
        (
            -accounts.get(b.id, ZERO)
            for b in stage.books
            if not b.shadow and accounts.get(b.id, ZERO) < 0
        ),
        ZERO,
    )
    return HedgeFunding(cash, max(cash - owed, ZERO), events, warnings)
