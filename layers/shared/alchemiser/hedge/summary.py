"""What a run's hedge did, stored as ``runs/<run>/hedge.json`` for the report and email.

Built from the day's ``HedgeDayReport``: the positions with their greeks, the dollars
they pay at -10/-20/-30 % of the underlying, premium spent against the caps, the next
roll, the orders and every clip or refusal with its reason.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from alchemiser.hedge.book import EventKind, HedgeBookState
from alchemiser.hedge.daily_models import HedgeDayReport
from alchemiser.hedge.policy import HedgePolicy
from alchemiser.hedge.roll import MarkedHedge


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LegGreeks(_Frozen):
    symbol: str
    qty: int
    delta: float  # per share
    gamma: float
    vega: float


class HedgePosition(_Frozen):
    hedge_id: str
    template: str
    opened_on: date
    premium: Decimal
    dte: int
    value: Decimal  # at mid, dollars
    delta: Decimal  # dollars of underlying
    legs: list[LegGreeks]


class HedgeOrderLine(_Frozen):
    kind: str  # open or close
    hedge_id: str
    reason: str
    outcome: str
    filled: int
    qty: int
    avg_price: Decimal | None
    orders: int  # broker orders the walk placed (one per step it reached)


class HedgeSummary(_Frozen):
    run_id: str
    day: date
    decision: str  # hedged / no-hedge / refused / off; "failed" when stored by Reconcile
    reasons: list[str] = Field(default_factory=list)
    policy: str = ""
    underlying: str = ""
    spot: Decimal = Decimal(0)
    nav: Decimal = Decimal(0)
    equity_delta: Decimal = Decimal(0)
    positions: list[HedgePosition] = Field(default_factory=list)
    protection: dict[str, Decimal] = Field(default_factory=dict)  # "-0.2" -> dollars
    spent_month: Decimal = Decimal(0)
    cap_month: Decimal = Decimal(0)
    spent_year: Decimal = Decimal(0)
    cap_year: Decimal = Decimal(0)
    next_roll: date | None = None
    orders: list[HedgeOrderLine] = Field(default_factory=list)
    clips: list[str] = Field(default_factory=list)
    regime: str = ""
    realised: Decimal = Decimal(0)
    unrealised: Decimal = Decimal(0)

    @property
    def broker_orders(self) -> int:
        return sum(o.orders for o in self.orders)


def _position(marked: MarkedHedge) -> HedgePosition:
    record = marked.record
    return HedgePosition(
        hedge_id=record.hedge_id, template=record.template.value, opened_on=record.opened_on,
        premium=record.premium, dte=marked.dte, value=marked.value, delta=marked.delta,
        legs=[
            LegGreeks(symbol=leg.symbol, qty=leg.qty, delta=g[0], gamma=g[1], vega=g[2])
            for leg in record.legs
            for g in [marked.greeks.get(leg.symbol, (0.0, 0.0, 0.0))]
        ],
    )  # fmt: skip


def book_pnl(state: HedgeBookState, marks: list[MarkedHedge]) -> tuple[Decimal, Decimal]:
    """Return the book's realised and unrealised P&L (dollars) from its events and marks.

    Realised: the cash of hedges no longer held (premium paid, proceeds, settlements).
    Unrealised: the held hedges' value at mid plus their cash so far.
    """
    held = {h.hedge_id for h in state.hedges}
    realised = sum((e.amount for e in state.events if e.hedge_id not in held), Decimal(0))
    held_cash = sum((e.amount for e in state.events if e.hedge_id in held), Decimal(0))
    value = sum((m.value for m in marks), Decimal(0))
    return realised, held_cash + value


def summarise(
    report: HedgeDayReport,
    policy: HedgePolicy | None,
    nav: Decimal,
    underlying: str = "",
    spot: Decimal = Decimal(0),
    equity_delta: Decimal = Decimal(0),
) -> HedgeSummary:
    """Return what the report and email show of ``report``."""
    realised, unrealised = book_pnl(report.state, report.marks)
    opened = [e for e in report.state.events if e.kind is EventKind.OPEN]
    return HedgeSummary(
        run_id=report.run_id, day=report.day,
        decision="off" if policy is None else report.decision, reasons=list(report.reasons),
        policy=policy.describe() if policy else "", underlying=underlying, spot=spot, nav=nav,
        equity_delta=equity_delta, positions=[_position(m) for m in report.marks],
        protection=dict(report.protection),
        spent_month=report.state.month_to_date(report.day) if opened else Decimal(0),
        cap_month=(policy.budget.monthly * nav).quantize(Decimal("0.01")) if policy else Decimal(0),
        spent_year=report.state.last_twelve_months(report.day) if opened else Decimal(0),
        cap_year=(policy.budget.yearly * nav).quantize(Decimal("0.01")) if policy else Decimal(0),
        next_roll=report.next_roll,
        orders=[
            HedgeOrderLine(
                kind=a.kind, hedge_id=a.hedge_id, reason=a.reason,
                outcome=a.execution.outcome.value if a.execution.outcome else "",
                filled=a.execution.filled_qty, qty=a.execution.plan.qty,
                avg_price=a.execution.avg_price, orders=len(a.execution.orders),
            )
            for a in report.actions
        ],
        clips=[str(c) for c in report.clips],
        regime=report.regime.note if report.regime else "",
        realised=realised, unrealised=unrealised,
    )  # fmt: skip
