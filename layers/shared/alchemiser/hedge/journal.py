"""The hedge book's order journal: what a crash between a fill and the state save left.

Before the hedge day submits an option order it journals an ``OrderIntent`` (the
order's plan and what its fills mean to the book) in the hedge store; the state saved
after the day clears the journal. A run that finds intents still journaled (the
previous attempt died between the broker's fill and the save) settles them first,
read-only: each walk step's deterministic client order id is looked up at the broker,
an order still open is canceled (and read back), and the fills found are applied to
the book exactly as the walk would have applied them. Nothing is submitted, so a
re-run never places an order twice and a past day's order is never re-walked; the day
then goes on (one purchase a day, the held hedges as the broker shows them).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alchemiser.books.client_ids import step_client_order_id
from alchemiser.broker.errors import BrokerError, OrderNotCancelableError
from alchemiser.broker.options_models import CONTRACT_MULTIPLIER, OptionLeg, OptionOrder
from alchemiser.broker.options_port import OptionsBroker
from alchemiser.hedge.book import EventKind, HedgeBookState, HedgeLeg, HedgeRecord
from alchemiser.hedge.execution import (
    DEFAULT_STEPS,
    OptionExecution,
    OptionOrderPlan,
    hedge_order_id,
)
from alchemiser.hedge.policy import HedgeTemplate
from alchemiser.money import CENT

_SIZE = Decimal(CONTRACT_MULTIPLIER)


class OrderIntent(BaseModel):
    """One option order of the hedge day, journaled before it is submitted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    tag: str  # with run_id, names the walk's client order ids (execution.hedge_order_id)
    kind: Literal["open", "close"]
    day: date
    hedge_id: str
    legs: tuple[OptionLeg, ...] = Field(min_length=1)
    qty: int = Field(gt=0)  # units of the order
    reason: str
    # open only: what the new record says
    underlying: str = ""
    template: HedgeTemplate | None = None
    signed_ratios: tuple[int, ...] = ()  # per leg: + bought, - sold
    unit_payoff: Decimal = Decimal(0)
    spot: Decimal = Decimal(0)

    def plan(self) -> OptionOrderPlan:
        return OptionOrderPlan(self.run_id, self.tag, self.legs, self.qty)


def found_orders(
    intent: OrderIntent, broker: OptionsBroker, steps: int = len(DEFAULT_STEPS)
) -> OptionExecution:
    """Return what the walk of ``intent`` left at the broker, canceling an order still open."""
    execution = OptionExecution(intent.plan())
    base = hedge_order_id(intent.run_id, intent.tag)
    for step in range(steps):
        order = broker.option_order_by_client_id(step_client_order_id(base, step))
        if order is None:
            continue
        execution.orders[order.id] = _final(order, broker)
    return execution


def _final(order: OptionOrder, broker: OptionsBroker) -> OptionOrder:
    if order.status.terminal:
        return order
    with suppress(OrderNotCancelableError):  # a cancel that raced a fill: the read tells
        broker.cancel_option_order(order.id)
    current = broker.get_option_order(order.id)
    if not current.status.terminal:
        raise BrokerError(
            f"order {order.client_order_id} is still {current.status.value} after its cancel: "
            "the hedge book cannot be settled until the broker confirms it"
        )
    return current


def apply_fills(
    state: HedgeBookState, intent: OrderIntent, execution: OptionExecution
) -> tuple[HedgeBookState, str]:
    """Return the book with ``execution``'s fills of ``intent`` applied, and a note ("" if none)."""
    filled = execution.filled_qty
    if filled == 0:
        return state, ""
    price = execution.avg_price or Decimal(0)
    if intent.kind == "open":
        if intent.template is None:
            raise ValueError(f"open intent {intent.tag} of {intent.run_id} has no template")
        record = HedgeRecord(
            hedge_id=intent.hedge_id, underlying=intent.underlying, template=intent.template,
            legs=tuple(
                HedgeLeg(symbol=leg.symbol, qty=filled * ratio)
                for leg, ratio in zip(intent.legs, intent.signed_ratios, strict=True)
            ),
            opened_on=intent.day, premium=(price * filled * _SIZE).quantize(CENT),
            promised_payoff=intent.unit_payoff * filled, spot_at_open=intent.spot,
        )  # fmt: skip
        note = f"opened {intent.hedge_id}: {filled} of {intent.qty} at {price:.2f}"
        return state.opened(record, intent.day, intent.reason), note
    held = next((h for h in state.hedges if h.hedge_id == intent.hedge_id), None)
    if held is None:
        return state, ""  # already closed in the book: the save got through
    proceeds = (-price * filled * _SIZE).quantize(CENT)
    note = f"closed {intent.hedge_id}: {filled} of {intent.qty} at {price:.2f}"
    if filled == intent.qty:
        return state.closed(
            intent.hedge_id, intent.day, proceeds, EventKind.CLOSE, intent.reason
        ), note
    left = tuple(
        HedgeLeg(symbol=leg.symbol, qty=leg.qty // intent.qty * (intent.qty - filled))
        for leg in held.legs
    )
    return state.closed_in_part(intent.hedge_id, left, intent.day, proceeds, intent.reason), note


def settle_intents(
    state: HedgeBookState, intents: tuple[OrderIntent, ...], broker: OptionsBroker
) -> tuple[HedgeBookState, list[str]]:
    """Apply the fills of journaled intents to the book (read-only at the broker)."""
    notes = []
    for intent in intents:
        already = any(
            e.hedge_id == intent.hedge_id and e.day == intent.day and e.kind.value == intent.kind
            for e in state.events
        )
        if already:
            continue
        state, note = apply_fills(state, intent, found_orders(intent, broker))
        notes.append(
            f"settled {intent.kind} order {intent.tag} of {intent.run_id} left by an attempt "
            f"that stopped before saving: {note or 'nothing had filled'}"
        )
    return state, notes
