"""The day's capital, settled by PlanCycle before any book is evaluated.

In order, each step recorded as transfers of the trading day (``Ledger.record_transfers``,
idempotent by transfer id, so an attempt that dies half-way is finished by the next):

1. **Open** the books' cash when the ledger has no pool yet (a new account, or a
   ledger made before books kept their own cash: ``alchemiser.books.opening``).
2. **Cash the broker moved without a trade** (``Broker.cash_activities``, read from
   ``ACTIVITY_MARGIN_DAYS`` before the last account snapshot): deposits, withdrawals,
   fees and interest go to or come from the pool (``activity:<id>``); a dividend goes to
   the books that held the symbol, by their shares, and the pool gets the part no book
   held (``alchemiser.books.dividends``). Each activity once, dated the trading day that
   first sees it. An activity of a type the books do not account for is credited to no
   one: it is named in the run's warnings and stays in the "unexplained" line.
3. **The hedge book's funding** (``alchemiser.cycle.hedge_funding``): its cash topped
   up to what its policy may spend before the next run, from the pool, then the books.
4. **Retired books** (the ledger knows them, the stage's configuration does not) are
   exited by their own plan; one that is flat gives its cash back to the pool.
5. **The capital policy** (``alchemiser.books.capital_policy.decide_capital``) on each
   live book's NAV at its last snapshot's prices and the pool: new books are funded,
   a due capital rebalance moves every book back to its target share. Decided once
   per run (an attempt that finds this run's capital transfers reuses them).

Each book then plans on its NAV: its cash after these transfers plus its lots at the
day's prices (``EvaluateBook``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from alchemiser.books.capital_policy import decide_capital
from alchemiser.books.config import StageConfig
from alchemiser.books.dividends import dividend_transfers, holders, positions_before
from alchemiser.books.opening import opening_transfers
from alchemiser.books.shadow import shadow_books
from alchemiser.broker.models import CashActivity, CashActivityKind
from alchemiser.cycle.hedge_funding import HedgeFunding, fund_hedge
from alchemiser.ledger.models import EXTERNAL, POOL, Transfer, TransferReason
from alchemiser.ledger.port import Ledger
from alchemiser.money import CENT, ZERO
from alchemiser.runtime import Dependencies

ACTIVITY_MARGIN_DAYS = 31  # activities are read from this long before the last snapshot
CAPITAL_REASONS = frozenset({TransferReason.FUND, TransferReason.SCHEDULED, TransferReason.DRIFT})
_INTO_POOL = {
    CashActivityKind.DEPOSIT: TransferReason.DEPOSIT,
    CashActivityKind.INTEREST: TransferReason.INTEREST,
    CashActivityKind.WITHDRAWAL: TransferReason.WITHDRAWAL,
    CashActivityKind.FEE: TransferReason.FEE,
}


@dataclass(frozen=True)
class CapitalDay:
    """Each book's cash after the day's transfers, the retired books, and what to say."""

    cash: dict[str, Decimal]
    retired: list[str]
    rebalanced: bool
    warnings: list[str]
    hedge: HedgeFunding | None = None  # the hedge book's cash (alchemiser.cycle.hedge_funding)


def settle_capital(
    run_id: str,
    day: date,
    stage: StageConfig,
    deps: Dependencies,
    *,
    retry: set[str] | frozenset[str] = frozenset(),
) -> CapitalDay:
    """Open, credit, retire and apply the capital policy for ``day``; see the module doc.

    ``retry``: a retry run's books (``alchemiser.cycle.retry``): only the broker's cash
    activities are credited; no capital moves a second time that day.
    """
    ledger = deps.ledger
    history = ledger.account_snapshots()
    since = history[-1].trading_date - timedelta(days=ACTIVITY_MARGIN_DAYS) if history else None
    activities = deps.broker.cash_activities(since)
    credited = [a for a in activities if a.kind is not CashActivityKind.OTHER]
    if POOL not in ledger.cash_accounts():
        _open(run_id, day, activities, deps)
    warnings = [_not_credited(a) for a in activities if a.kind is CashActivityKind.OTHER]
    warnings += _credit(run_id, day, credited, ledger, stage)
    hedge = fund_hedge(run_id, day, stage, deps, retry=bool(retry))
    configured = {b.id for b in stage.books}
    retired = retired_books(ledger, configured)
    rebalanced = False
    if not retry:
        ledger.record_transfers(retire_transfers(run_id, day, ledger, retired))
        rebalanced, policy_warnings = _apply_policy(run_id, day, stage, ledger)
        warnings += policy_warnings
        ledger.record_transfers(_fund_shadows(run_id, day, stage, ledger))
    accounts = ledger.cash_accounts()
    return CapitalDay(
        cash={b: accounts.get(b, ZERO) for b in [*configured, *retired]},
        retired=[b for b in retired if ledger.open_lots(b)],
        rebalanced=rebalanced,
        warnings=warnings + (hedge.warnings if hedge else []),
        hedge=hedge,
    )


def retired_books(ledger: Ledger, configured: set[str]) -> list[str]:
    """Return the books the ledger holds positions or cash for that ``configured`` lacks.

    A shadow book removed from the configuration is not one: its positions are virtual.
    """
    accounts = ledger.cash_accounts()
    shadow = shadow_books(ledger)
    return [
        b
        for b in ledger.book_ids()
        if b not in configured
        and b not in shadow
        and (ledger.open_lots(b) or accounts.get(b, ZERO) != 0)
    ]


def _fund_shadows(run_id: str, day: date, stage: StageConfig, ledger: Ledger) -> list[Transfer]:
    """Give each new shadow book its virtual capital: its share of the account's capital."""
    accounts = ledger.cash_accounts()
    new = [
        b
        for b in stage.books
        if b.shadow and b.id not in accounts and ledger.latest_snapshot(b.id, day) is None
    ]
    if not new:
        return []
    live = {b.id: b.share for b in stage.books if not b.shadow}
    capital = accounts.get(POOL, ZERO) + sum(_navs(ledger, live, day, accounts).values(), ZERO)
    return [
        Transfer(
            transfer_id=f"{run_id}:fund:{b.id}",
            trading_date=day,
            source=EXTERNAL,
            destination=b.id,
            amount=(b.share * capital).quantize(CENT, rounding=ROUND_DOWN),
            reason=TransferReason.FUND,
            detail=(
                f"{b.id} (shadow) starts with virtual capital: its {b.share} of "
                f"${capital:,.2f}; not the account's money"
            ),
            run_id=run_id,
        )
        for b in new
        if b.share * capital >= CENT
    ]


def retire_transfers(
    run_id: str, day: date, ledger: Ledger, retired: Sequence[str]
) -> list[Transfer]:
    """Return the transfers that give each flat retired book's cash back to the pool."""
    accounts = ledger.cash_accounts()
    transfers: list[Transfer] = []
    for book in retired:
        cash = accounts.get(book, ZERO)
        if ledger.open_lots(book) or cash == 0:
            continue
        transfers.append(
            Transfer(
                transfer_id=f"{run_id}:retire:{book}",
                trading_date=day,
                source=book if cash > 0 else POOL,
                destination=POOL if cash > 0 else book,
                amount=abs(cash),
                reason=TransferReason.RETIRE,
                detail=f"{book} is no longer configured and is flat: its cash returns to the pool",
                run_id=run_id,
            )
        )
    return transfers


def _open(run_id: str, day: date, activities: Sequence[CashActivity], deps: Dependencies) -> None:
    old_cash: dict[str, tuple[Decimal, date]] = {}
    for book in deps.ledger.book_ids():
        snapshot = deps.ledger.latest_snapshot(book, day)
        if snapshot is not None:
            old_cash[book] = (snapshot.cash, snapshot.trading_date)
    broker_cash = deps.broker.account().cash
    total = sum((a.amount for a in activities), ZERO)
    deps.ledger.record_transfers(opening_transfers(run_id, day, broker_cash, total, old_cash))


def _credit(
    run_id: str, day: date, activities: Sequence[CashActivity], ledger: Ledger, stage: StageConfig
) -> list[str]:
    """Record each activity's transfers; return what the dividends' new splits said."""
    shadow = shadow_books(ledger, [b.id for b in stage.books if b.shadow])
    owners = [b for b in ledger.book_ids() if b not in shadow]
    kinds = (CashActivityKind.DIVIDEND,)
    ledger.record_transfers(
        [_pool_transfer(run_id, day, a) for a in activities if a.kind not in kinds]
    )
    warnings: list[str] = []
    by_day: dict[date, dict[str, dict[str, Decimal]]] = {}  # the books' positions, read once
    for activity in (a for a in activities if a.kind in kinds):
        if activity.day not in by_day:
            by_day[activity.day] = positions_before(ledger, activity.day, owners)
        held = holders(by_day[activity.day], activity.symbol)
        paid, said = dividend_transfers(run_id, day, activity, held)
        if ledger.record_transfers(paid):
            warnings += said  # said once, on the day it is credited
    return warnings


def _not_credited(activity: CashActivity) -> str:
    return (
        f"unexplained: broker activity {activity.id} ({activity.broker_type or 'unknown type'}"
        f", ${activity.amount:,.2f} on {activity.day}) is of a kind the books do not account "
        "for; credited to no one"
    )


def _pool_transfer(run_id: str, day: date, activity: CashActivity) -> Transfer:
    reason = _INTO_POOL[activity.kind]
    inward = activity.amount > 0
    kind = activity.broker_type or activity.kind.value
    return Transfer(
        transfer_id=f"activity:{activity.id}",
        trading_date=day,
        source=EXTERNAL if inward else POOL,
        destination=POOL if inward else EXTERNAL,
        amount=abs(activity.amount),
        reason=reason,
        detail=f"{kind} of ${activity.amount:,.2f} on {activity.day}",
        run_id=run_id,
    )


def _apply_policy(
    run_id: str, day: date, stage: StageConfig, ledger: Ledger
) -> tuple[bool, list[str]]:
    """Decide and record the day's capital transfers once per run; return (rebalanced, warnings)."""
    done = [
        t for t in ledger.transfers_on(day) if t.run_id == run_id and t.reason in CAPITAL_REASONS
    ]
    if done:
        rebalanced = any(t.reason is not TransferReason.FUND for t in done)
        return rebalanced, []
    accounts = ledger.cash_accounts()
    pool = accounts.get(POOL, ZERO)
    targets = {b.id: b.share for b in stage.books if not b.shadow}
    navs = _navs(ledger, targets, day, accounts)
    history = ledger.account_snapshots()
    last = history[-1].last_rebalance if history else None
    try:
        decision = decide_capital(stage.capital, day, navs, pool, targets, last)
    except ValueError as exc:
        return False, [f"capital: no transfer today: {exc}"]
    transfers = [
        Transfer(
            transfer_id=f"{run_id}:{t.reason.value}:{t.book_id}",
            trading_date=day,
            source=POOL if t.amount > 0 else t.book_id,
            destination=t.book_id if t.amount > 0 else POOL,
            amount=abs(t.amount),
            reason=TransferReason(t.reason.value),
            detail=t.detail,
            run_id=run_id,
        )
        for t in decision.transfers
        if t.amount != 0
    ]
    ledger.record_transfers(transfers)
    return decision.rebalanced, []


def _navs(
    ledger: Ledger, targets: dict[str, Decimal], day: date, accounts: dict[str, Decimal]
) -> dict[str, Decimal]:
    """Return each configured book's NAV: its cash and its lots at its last snapshot's prices.

    A book with neither cash nor a snapshot is new (left out: the policy funds it).
    """
    navs: dict[str, Decimal] = {}
    for book in targets:
        snapshot = ledger.latest_snapshot(book, day - timedelta(days=1))
        if book not in accounts and snapshot is None:
            continue
        value = ZERO
        if snapshot is not None:
            value = sum((q * snapshot.prices[s] for s, q in snapshot.positions.items()), ZERO)
        navs[book] = accounts.get(book, ZERO) + value
    return navs
