"""Where each book stands, from the ledger: what ``alchemiser books`` shows.

Per book (configured, or still in the ledger: retired until flat): its mode, NAV, cash,
positions, return since inception and since the last capital rebalance, and its share
of the account against its target; then the hedge book (NAV, cash, options, premium,
returns: ``alchemiser.books.hedge_account``), the pool and the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from alchemiser.ledger.lots import positions_of
from alchemiser.ledger.models import HEDGE, POOL, AccountSnapshot, BookSnapshot
from alchemiser.ledger.port import Ledger
from alchemiser.money import ZERO


@dataclass(frozen=True)
class BookStanding:
    """One book as of its last snapshot (cash and positions as the ledger has them now)."""

    book_id: str
    mode: str  # live, retired (shadow books arrive with their mode)
    as_of: date | None
    nav: Decimal
    cash: Decimal
    positions: dict[str, Decimal]
    twr_inception: Decimal | None
    twr_since_rebalance: Decimal | None
    share: Decimal | None  # of the account's NAV
    target: Decimal | None  # from books.yaml (None: retired)


@dataclass(frozen=True)
class HedgeStanding:
    """The hedge book as of the last account snapshot (cash as the ledger has it now)."""

    as_of: date
    nav: Decimal
    cash: Decimal
    options: Decimal  # its contracts at that day's mids
    premium_month: Decimal
    premium_year: Decimal
    twr_inception: Decimal | None
    share: Decimal | None  # of the account's NAV


@dataclass(frozen=True)
class AccountStanding:
    """The books, the hedge book, the pool and the account as of the last account snapshot."""

    books: list[BookStanding]
    pool: Decimal
    nav: Decimal | None
    as_of: date | None
    twr_inception: Decimal | None
    last_rebalance: date | None
    unexplained: Decimal | None
    hedge: HedgeStanding | None = None  # None: the account has never had a hedge book


def _since(snapshots: list[BookSnapshot], start: date | None) -> Decimal | None:
    """Chain the daily returns of ``snapshots`` from ``start`` on (None: no rebalance yet)."""
    if start is None:
        return None
    growth = Decimal(1)
    for snapshot in snapshots:
        if snapshot.trading_date >= start and snapshot.twr_day is not None:
            growth *= 1 + snapshot.twr_day
    return growth - 1


def standing(ledger: Ledger, targets: Mapping[str, Decimal]) -> AccountStanding:
    """Return every configured book and every book the ledger still holds something for."""
    accounts = ledger.cash_accounts()
    history = ledger.account_snapshots()
    account = history[-1] if history else None
    last_rebalance = account.last_rebalance if account is not None else None
    books: list[BookStanding] = []
    for book in sorted(set(targets) | set(ledger.book_ids())):
        positions = positions_of(ledger.open_lots(book))
        cash = accounts.get(book, ZERO)
        snapshots = ledger.snapshots(book)
        last = snapshots[-1] if snapshots else None
        if book not in targets and ((not positions and cash == 0) or _is_shadow(last)):
            continue  # retired and settled, or a shadow book no longer configured
        shadow = _is_shadow(last)
        nav = last.equity if last is not None else cash
        books.append(
            BookStanding(
                book_id=book,
                mode=last.mode if last is not None else ("live" if book in targets else "retired"),
                as_of=last.trading_date if last is not None else None,
                nav=nav,
                cash=cash,
                positions=positions,
                twr_inception=last.twr_inception if last is not None else None,
                twr_since_rebalance=_since(snapshots, last_rebalance),
                share=(
                    nav / account.nav
                    if account is not None and account.nav > 0 and not shadow
                    else None
                ),
                target=targets.get(book),
            )
        )
    return AccountStanding(
        books=books,
        pool=accounts.get(POOL, ZERO),
        nav=account.nav if account is not None else None,
        as_of=account.trading_date if account is not None else None,
        twr_inception=account.twr_inception if account is not None else None,
        last_rebalance=last_rebalance,
        unexplained=account.difference if account is not None else None,
        hedge=_hedge(account, accounts),
    )


def _hedge(
    account: AccountSnapshot | None, accounts: Mapping[str, Decimal]
) -> HedgeStanding | None:
    day = account.hedge if account is not None else None
    if account is None or day is None:
        return None
    return HedgeStanding(
        as_of=account.trading_date, nav=day.nav, cash=accounts.get(HEDGE, day.cash),
        options=day.options, premium_month=day.premium_month, premium_year=day.premium_year,
        twr_inception=day.twr_inception,
        share=day.nav / account.nav if account.nav > 0 else None,
    )  # fmt: skip


def _is_shadow(snapshot: BookSnapshot | None) -> bool:
    return snapshot is not None and snapshot.mode == "shadow"


def render_standing(view: AccountStanding) -> str:
    """Return ``alchemiser books``' text: one line per book, then the pool and the account."""
    if not view.books and view.as_of is None:
        return "No book has run yet: `alchemiser run` opens the books' cash on its first day."
    lines = []
    for b in view.books:
        share = "n/a" if b.share is None else f"{b.share:.1%}"
        target = "retired: exited by the next run" if b.target is None else f"target {b.target:.1%}"
        held = ", ".join(f"{s} {q.normalize()}" for s, q in sorted(b.positions.items())) or "flat"
        lines.append(
            f"{b.book_id} [{b.mode}] NAV ${b.nav:,.2f} (cash ${b.cash:,.2f}) as of "
            f"{b.as_of or 'no run yet'}; return since inception {_pct(b.twr_inception)}, "
            f"since the last capital rebalance {_pct(b.twr_since_rebalance)}; share {share} "
            f"({target}); positions: {held}"
        )
    h = view.hedge
    if h is not None:
        share = "n/a" if h.share is None else f"{h.share:.1%}"
        lines.append(
            f"hedge [options] NAV ${h.nav:,.2f} (cash ${h.cash:,.2f}, options ${h.options:,.2f}) "
            f"as of {h.as_of}; premium ${h.premium_month:,.2f} this month, "
            f"${h.premium_year:,.2f} in 12 months; return since inception "
            f"{_pct(h.twr_inception)}; share {share} (funded by the pool and the books)"
        )
    lines.append(f"pool ${view.pool:,.2f} (cash no book has been given)")
    if view.nav is not None:
        lines.append(
            f"account NAV ${view.nav:,.2f} as of {view.as_of}; return since inception "
            f"{_pct(view.twr_inception)}; last capital rebalance {view.last_rebalance or 'never'}; "
            f"unexplained ${view.unexplained or ZERO:,.2f}"
        )
    return "\n".join(lines)


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{float(value):+.2%}"
