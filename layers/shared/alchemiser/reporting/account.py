"""The report's account sections: P&L, the pool and NAV against the broker, transfers."""

from __future__ import annotations

from decimal import Decimal

from alchemiser.cycle.models import ReconcileResult
from alchemiser.reporting.document import NONE, Section, Table, money, signed_money


def account_sections(reconcile: ReconcileResult | None) -> list[Section]:
    """Return the account's P&L, its pool and NAV against the broker, the day's transfers."""
    if reconcile is None:
        return []
    pnl = reconcile.account_pnl
    headers = ("P&L realised", "P&L unrealised", "P&L total")
    row = (signed_money(pnl.realised), signed_money(pnl.unrealised), signed_money(pnl.total))
    sections = [Section("Account", table=Table(headers, [row]))]
    account = reconcile.account
    if account is not None:
        pool_headers = ("Pool", "NAV (pool + books)", "Broker equity", "Unexplained", "Deposits",
                   "Return today", "Since inception")  # fmt: skip
        pool_row = (money(account.pool), money(account.nav), money(account.broker_equity),
               signed_money(account.unexplained), signed_money(account.flows),
               percent(account.twr_day), percent(account.twr_inception))  # fmt: skip
        sections.append(Section("Pool and NAV", table=Table(pool_headers, [pool_row])))
        if account.transfers:
            sections.append(Section("Capital transfers", lines=account.transfers))
    return sections


def percent(value: Decimal | None) -> str:
    return NONE if value is None else f"{float(value):+.2%}"
