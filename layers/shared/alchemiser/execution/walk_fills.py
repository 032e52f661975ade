"""What one walk has filled so far, and how it ended: its ledger record and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from alchemiser.broker.errors import BrokerError
from alchemiser.broker.models import Order, Quote
from alchemiser.cycle.models import NetOrder, OrderResult
from alchemiser.ledger.models import OrderRecord, OrderState
from alchemiser.money import ZERO, to_cents


class WalkEnd(StrEnum):
    """Why the walk stopped; with the fills it decides the order's final state."""

    DONE = "done"  # nothing left to trade
    DUST = "dust"  # what is left is smaller than the broker's smallest order
    HALTED = "halted"  # deliberately not traded: kill switch, cash cap
    FAILED = "failed"  # rejected, bad quote, broker disagreement, market order unfilled


@dataclass
class WalkFills:
    """The broker orders of one walk, as last seen, and how the walk ended."""

    order: NetOrder
    legs: dict[str, Order] = field(default_factory=dict)  # broker order id -> latest state
    end: WalkEnd | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)  # said whatever the end (steps skipped, ...)
    arrival_bid: Decimal | None = None  # the first quote the walk priced against
    arrival_ask: Decimal | None = None

    def arrive(self, quote: Quote) -> None:
        """Keep the first quote of the walk (the arrival price execution quality is measured from)."""
        if self.arrival_bid is None:
            self.arrival_bid, self.arrival_ask = quote.bid, quote.ask

    def resume(self, earlier: OrderRecord | None) -> None:
        """Carry the arrival quote of an earlier attempt of the same order (a re-run)."""
        if earlier is not None and earlier.arrival_bid is not None:
            self.arrival_bid, self.arrival_ask = earlier.arrival_bid, earlier.arrival_ask

    def see(self, placed: Order) -> None:
        if placed.filled_qty > 0 and placed.filled_avg_price is None:
            raise BrokerError(
                f"broker order {placed.id} ({placed.client_order_id}) filled {placed.filled_qty} "
                "but reports no average fill price"
            )
        self.legs[placed.id] = placed

    def stop(self, end: WalkEnd, reason: str) -> None:
        self.end, self.reason = end, reason

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def explanation(self) -> str:
        """The reason the walk ended, then its notes."""
        return "; ".join(part for part in (self.reason, *self.notes) if part)

    @property
    def filled(self) -> Decimal:
        return sum((o.filled_qty for o in self.legs.values()), ZERO)

    @property
    def spent(self) -> Decimal:
        return sum((o.filled_qty * (o.filled_avg_price or ZERO) for o in self.legs.values()), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.order.qty - self.filled

    @property
    def notional(self) -> Decimal:
        """Return the cents the broker booked: each broker order's fill rounded to the cent."""
        return sum(
            (to_cents(o.filled_qty * (o.filled_avg_price or ZERO)) for o in self.legs.values()),
            ZERO,
        )

    def submitted_at(self) -> datetime | None:
        return min((o.submitted_at for o in self.legs.values()), default=None)

    def last_fill_at(self) -> datetime | None:
        return max((o.updated_at for o in self.legs.values() if o.filled_qty > 0), default=None)

    def avg_price(self) -> Decimal | None:
        filled = self.filled
        return self.spent / filled if filled > 0 else None

    def state(self) -> OrderState:
        filled = self.filled
        if self.end is None:  # still walking
            return OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.SUBMITTED
        if filled > 0:
            complete = self.end in (WalkEnd.DONE, WalkEnd.DUST)
            return OrderState.FILLED if complete else OrderState.PARTIALLY_FILLED
        return (
            OrderState.SKIPPED if self.end in (WalkEnd.DUST, WalkEnd.HALTED) else OrderState.FAILED
        )

    def record(self) -> OrderRecord:
        o = self.order
        return OrderRecord(
            client_order_id=o.client_order_id,
            run_id=o.run_id,
            trading_date=o.trading_date,
            phase=o.phase,
            symbol=o.symbol,
            side=o.side,
            qty=o.qty,
            ref_price=o.ref_price,
            state=self.state(),
            filled_qty=self.filled,
            avg_fill_price=self.avg_price(),
            broker_order_ids=tuple(self.legs),
            allocations=tuple(o.allocations),
            reason=self.explanation,
            notional=self.notional,
            arrival_bid=self.arrival_bid,
            arrival_ask=self.arrival_ask,
            steps_used=len(self.legs),
            submitted_at=self.submitted_at(),
            last_fill_at=self.last_fill_at(),
        )

    def result(self) -> OrderResult:
        o = self.order
        return OrderResult(
            client_order_id=o.client_order_id,
            run_id=o.run_id,
            phase=o.phase,
            symbol=o.symbol,
            side=o.side,
            requested_qty=o.qty,
            filled_qty=self.filled,
            avg_price=self.avg_price(),
            state=self.state(),
            broker_order_ids=list(self.legs),
            reason=self.explanation,
            notional=self.notional,
        )
