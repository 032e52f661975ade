"""The hedge book in the account's ledger: its cash account, its trades' cash, its NAV.

The options hedge is a book of its own (not a strategy book, never in ``books.yaml``):

* **Cash**: the ledger's cash account ``HEDGE``. It moves only by the hedge book's own
  option trades (premium paid, close proceeds, expiry settlements: the signed cash of
  each event of its ``HedgeBookState``, posted as ``OPTION`` transfers with the outside)
  and by recorded ``HEDGE`` transfers (its funding, ``alchemiser.cycle.hedge_funding``).
* **NAV** = its cash + its contracts marked at the day's mids (``option_marks``, the
  rule the simulated account's equity uses), so that ``broker equity = sum of the live
  books' NAVs + hedge NAV + pool`` to the cent.

Posting is idempotent: an event's transfer id is its place in the book's event list
(append-only) with its day, kind and hedge, so the events are posted whenever a step
sees them (PlanCycle before it funds the hedge, Reconcile after the day's trades) and
never twice; the account snapshot keeps how many were posted, so only later ones are
offered again. An event of no cash (a hedge that expired worthless) moves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from alchemiser.broker.option_marks import options_value, quote_mid
from alchemiser.broker.options_models import OptionSnapshot
from alchemiser.hedge.book import HedgeBookState, HedgeEvent
from alchemiser.ledger.models import EXTERNAL, HEDGE, Transfer, TransferReason
from alchemiser.ledger.port import Ledger

__all__ = ["HEDGE", "event_transfers", "hedge_options_value", "post_hedge_events"]


def event_id(index: int, event: HedgeEvent) -> str:
    """Return the transfer id of the book's ``index``-th event."""
    return f"hedge-event:{index}:{event.day}:{event.kind.value}:{event.hedge_id}"


def event_transfers(state: HedgeBookState, run_id: str, start: int = 0) -> list[Transfer]:
    """Return one ``OPTION`` transfer per event of the book from ``start`` on that moved cash."""
    transfers: list[Transfer] = []
    for index, event in enumerate(state.events[start:], start):
        if event.amount == 0:
            continue
        paid = event.amount < 0
        transfers.append(
            Transfer(
                transfer_id=event_id(index, event),
                trading_date=event.day,
                source=HEDGE if paid else EXTERNAL,
                destination=EXTERNAL if paid else HEDGE,
                amount=abs(event.amount),
                reason=TransferReason.OPTION,
                detail=f"{event.kind.value} {event.hedge_id}: {event.reason}"[:300],
                run_id=run_id,
            )
        )
    return transfers


def post_hedge_events(ledger: Ledger, state: HedgeBookState, run_id: str) -> int:
    """Post the book's events to the hedge cash (once each); return how many it has.

    Only the events after those the last account snapshot says were posted are offered
    (the list is append-only), so a run does not re-offer years of events.
    """
    ledger.record_transfers(event_transfers(state, run_id, posted_events(ledger)))
    return len(state.events)


def posted_events(ledger: Ledger) -> int:
    """Return how many of the hedge book's events the last account snapshot had posted."""
    for snapshot in reversed(ledger.account_snapshots()):
        if snapshot.hedge is not None:
            return snapshot.hedge.events
    return 0


def hedge_options_value(
    contracts: Mapping[str, int], snapshots: Mapping[str, OptionSnapshot]
) -> tuple[Decimal, list[str]]:
    """Return the book's contracts at the day's mids, and the contracts with no quote.

    A contract with no quote (expired and not yet settled by the book, or no data) is
    left out of the value: the caller says so, and the account's "unexplained" line
    shows what it is worth at the broker.
    """
    missing = sorted(s for s in contracts if s not in snapshots)
    mids = {s: quote_mid(snapshots[s].bid, snapshots[s].ask) for s in contracts if s in snapshots}
    return options_value({s: q for s, q in contracts.items() if s in mids}, mids), missing
