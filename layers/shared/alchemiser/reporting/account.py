"""The report's account sections: P&L, the pool and NAV against the broker, the hedge
book, transfers."""

from __future__ import annotations

from decimal import Decimal

from alchemiser.cycle.models import ReconcileResult
from alchemiser.ledger.models import HedgeBookDay
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
        pool_headers = ("Pool", "NAV (pool + books + hedge)", "Broker equity", "Unexplained", "Deposits",
                   "Return today", "Since inception")  # fmt: skip
        pool_row = (money(account.pool), money(account.nav), money(account.broker_equity),
               signed_money(account.unexplained), signed_money(account.flows),
               percent(account.twr_day), percent(account.twr_inception))  # fmt: skip
        sections.append(Section("Pool and NAV", table=Table(pool_headers, [pool_row])))
        if account.hedge is not None:
            sections.append(hedge_book_section(account.hedge))
        if account.transfers:
            sections.append(Section("Capital transfers", lines=account.transfers))
    return sections


def hedge_book_section(hedge: HedgeBookDay) -> Section:
    """Return the hedge book beside the books: NAV, cash, options, premium, funding, TWR."""
    headers = ("NAV", "Cash", "Options at mid", "Funding today", "Premium this month",
               "Premium 12 months", "Return today", "Since inception")  # fmt: skip
    row = (money(hedge.nav), money(hedge.cash), money(hedge.options),
           signed_money(hedge.transfers), money(hedge.premium_month), money(hedge.premium_year),
           percent(hedge.twr_day), percent(hedge.twr_inception))  # fmt: skip
    return Section("Hedge book", table=Table(headers, [row]))


def percent(value: Decimal | None) -> str:
    return NONE if value is None else f"{float(value):+.2%}"
