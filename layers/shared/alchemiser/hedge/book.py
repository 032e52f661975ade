"""The hedge book's state: open hedges (each one structure of legs) and its premium history.

Immutable: each daily run takes a ``HedgeBookState`` and returns the next one, so the
caller (the ledger, in the daily cycle; a list, in the backtest and tests) decides
where it lives. Premium is counted gross, when a hedge is opened (its net debit), so
a roll spends budget and the proceeds of a close never free budget up.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from alchemiser.hedge.policy import HedgeTemplate


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HedgeLeg(_Frozen):
    symbol: str
    qty: int  # contracts: + long, - short


class HedgeRecord(_Frozen):
    """One open hedge: its legs, when it was opened, what it cost and what it promised."""

    hedge_id: str
    underlying: str
    template: HedgeTemplate
    legs: tuple[HedgeLeg, ...] = Field(min_length=1)
    opened_on: date
    premium: Decimal  # dollars paid (net debit) for the contracts that filled
    promised_payoff: Decimal  # dollars the sizing promised at the policy's move
    spot_at_open: Decimal


class EventKind(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    EXPIRY = "expiry"


class HedgeEvent(_Frozen):
    """Cash moved by the hedge book: + received, - paid (dollars)."""

    day: date
    kind: EventKind
    hedge_id: str
    amount: Decimal
    reason: str = ""


class HedgeBookState(_Frozen):
    hedges: tuple[HedgeRecord, ...] = ()
    events: tuple[HedgeEvent, ...] = ()

    def premium_spent(self, first: date, last: date) -> Decimal:
        """Return the premium paid on opens dated in [first, last] (a positive amount)."""
        return sum(
            (-e.amount for e in self.events if e.kind is EventKind.OPEN and first <= e.day <= last),
            Decimal(0),
        )

    def month_to_date(self, today: date) -> Decimal:
        return self.premium_spent(today.replace(day=1), today)

    def last_twelve_months(self, today: date) -> Decimal:
        return self.premium_spent(today - timedelta(days=364), today)

    def contracts(self) -> dict[str, int]:
        """Return the contracts the book holds per symbol (what the broker should show)."""
        held: dict[str, int] = {}
        for hedge in self.hedges:
            for leg in hedge.legs:
                held[leg.symbol] = held.get(leg.symbol, 0) + leg.qty
        return {s: q for s, q in held.items() if q != 0}

    def opened(self, record: HedgeRecord, day: date, reason: str) -> HedgeBookState:
        event = HedgeEvent(
            day=day, kind=EventKind.OPEN, hedge_id=record.hedge_id, amount=-record.premium,
            reason=reason,
        )  # fmt: skip
        return HedgeBookState(hedges=(*self.hedges, record), events=(*self.events, event))

    def closed(
        self, hedge_id: str, day: date, proceeds: Decimal, kind: EventKind, reason: str
    ) -> HedgeBookState:
        event = HedgeEvent(day=day, kind=kind, hedge_id=hedge_id, amount=proceeds, reason=reason)
        kept = tuple(h for h in self.hedges if h.hedge_id != hedge_id)
        return HedgeBookState(hedges=kept, events=(*self.events, event))

    def closed_in_part(
        self,
        hedge_id: str,
        legs: tuple[HedgeLeg, ...],
        day: date,
        proceeds: Decimal,
        reason: str,
    ) -> HedgeBookState:
        """Return the state after a close that filled in part: ``legs`` are what is left."""
        event = HedgeEvent(
            day=day, kind=EventKind.CLOSE, hedge_id=hedge_id, amount=proceeds,
            reason=f"{reason} (in part)",
        )  # fmt: skip
        hedges = tuple(
            h.model_copy(update={"legs": legs}) if h.hedge_id == hedge_id else h
            for h in self.hedges
        )
        return HedgeBookState(hedges=hedges, events=(*self.events, event))
