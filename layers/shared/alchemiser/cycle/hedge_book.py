"""Reconcile's day of the hedge book: its events posted, its NAV marked, its returns.

After the Parallel state (the books' orders and the Hedge branch are done), every event
the hedge book gained is posted to its cash (``alchemiser.books.hedge_account``), its
contracts are marked at the day's mids, and its daily return is chained from the
previous day's account snapshot: its funding (``HEDGE`` transfers) is a flow, its
premium and proceeds are performance. The account's NAV counts it beside the books
and the pool (``alchemiser.cycle.snapshots.account_snapshot``).
"""

from __future__ import annotations

from datetime import date

from alchemiser.books.hedge_account import hedge_options_value, post_hedge_events
from alchemiser.books.returns import book_flows, chain, day_return
from alchemiser.hedge.book import HedgeBookState
from alchemiser.ledger.models import HEDGE, HedgeBookDay
from alchemiser.money import ZERO
from alchemiser.runtime import Dependencies


def hedge_book_day(
    run_id: str, day: date, deps: Dependencies
) -> tuple[HedgeBookDay | None, list[str]]:
    """Post the hedge book's events and value it for ``day``; return it and any warning.

    None when the account has never had a hedge book (no hedge cash, no event).
    """
    ledger = deps.ledger
    state = deps.hedge_store.load_book().state if deps.hedge_store else HedgeBookState()
    post_hedge_events(ledger, state, run_id)
    accounts = ledger.cash_accounts()
    if HEDGE not in accounts and not state.events:
        return None, []
    contracts = state.contracts()
    snapshots = {}
    if contracts and deps.options is not None:
        snapshots = deps.options.option_snapshots(sorted(contracts))
    value, missing = hedge_options_value(contracts, snapshots)
    warnings = (
        [
            f"hedge: no quote on {day} for {', '.join(missing)}: left out of the hedge book's NAV "
            "(the unexplained line shows what the broker holds it at)"
        ]
        if missing
        else []
    )
    cash = accounts.get(HEDGE, ZERO)
    nav = cash + value
    start, end = book_flows(HEDGE, ledger.transfers_on(day))
    earlier = [s for s in ledger.account_snapshots() if s.trading_date < day and s.hedge]
    previous = earlier[-1].hedge if earlier else None
    today = day_return(previous.nav if previous else ZERO, nav, start, end)
    return HedgeBookDay(
        cash=cash,
        options=value,
        nav=nav,
        transfers=start + end,
        premium_month=state.month_to_date(day),
        premium_year=state.last_twelve_months(day),
        twr_day=today,
        twr_inception=chain(previous.twr_inception if previous else None, today),
        events=len(state.events),
    ), warnings
