"""Open the books' own cash: on a new account, and on a ledger made before books kept cash.

Books keep their own cash from the first run that finds no ``POOL`` account in the
ledger. That run records, as transfers of its trading day (reason ``opening``):

* ``EXTERNAL -> POOL``: the broker's cash less the non-trade activities the broker
  already reports (those are recorded as their own transfers, so nothing is counted
  twice);
* for each book the ledger already knows (an **upgrade**): ``POOL -> book`` its cash
  by the old rule, that is its latest snapshot's cash (the account's equity x its share
  less the market value of its lots, after that day's fills), or ``book -> POOL`` when
  that was negative.

Then the broker's cash = the pool + the books' cash to the cent, as it stays from then
on. Nothing else changes: lots, fills, P&L and snapshots are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from alchemiser.ledger.models import EXTERNAL, POOL, Transfer, TransferReason
from alchemiser.money import ZERO


def opening_transfers(
    run_id: str,
    day: date,
    broker_cash: Decimal,
    activities_total: Decimal,
    old_cash: Mapping[str, tuple[Decimal, date]],
) -> list[Transfer]:
    """Return the transfers that open the pool and each existing book's cash.

    ``old_cash``: per book the ledger knows, its cash by the old rule and the day of the
    snapshot it comes from.
    """
    opening = broker_cash - activities_total
    transfers: list[Transfer] = []
    if opening != 0:
        transfers.append(
            Transfer(
                transfer_id="opening:pool",
                trading_date=day,
                source=EXTERNAL if opening > 0 else POOL,
                destination=POOL if opening > 0 else EXTERNAL,
                amount=abs(opening),
                reason=TransferReason.OPENING,
                detail=f"the broker's cash ${broker_cash:,.2f} when books began keeping their own",
                run_id=run_id,
            )
        )
    for book, (cash, on) in sorted(old_cash.items()):
        if cash == ZERO:
            continue
        transfers.append(
            Transfer(
                transfer_id=f"opening:{book}",
                trading_date=day,
                source=POOL if cash > 0 else book,
                destination=book if cash > 0 else POOL,
                amount=abs(cash),
                reason=TransferReason.OPENING,
                detail=(
                    f"{book}'s cash opened from its lots and the old rule (equity x share - "
                    f"market value) as of its snapshot of {on}"
                ),
                run_id=run_id,
            )
        )
    return transfers
