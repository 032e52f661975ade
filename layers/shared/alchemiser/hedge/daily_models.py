"""The inputs, ports and report of one hedge day (``hedge.daily``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from alchemiser.broker.options_models import OptionLeg, PositionIntent
from alchemiser.broker.options_port import OptionsBroker
from alchemiser.execution.clock import Clock
from alchemiser.execution.deadline import Deadline
from alchemiser.hedge.book import HedgeBookState, HedgeRecord
from alchemiser.hedge.execution import OptionExecution, WalkSettings
from alchemiser.hedge.iv_regime import IvStore, RegimeReading
from alchemiser.hedge.journal import OrderIntent
from alchemiser.hedge.policy import HedgeLimits, HedgePolicy
from alchemiser.hedge.roll import MarkedHedge
from alchemiser.hedge.sizing import Clip, SizingDecision


@dataclass(frozen=True)
class HedgeDayInputs:
    run_id: str
    today: date
    policy: HedgePolicy | None
    nav: Decimal  # the account's NAV the policy's fractions apply to
    underlying: str  # chosen by the exposure estimate
    equity_delta: Decimal  # the books' dollar delta to it (exposure.equity_delta)
    spot: Decimal
    state: HedgeBookState
    halt_reason: str = ""  # a kill switch: nothing is traded and the run says why
    # The hedge book's cash it may spend (None: no cash cap), which includes the cash of
    # the state's first ``cash_events`` events; later events' cash is added to it.
    cash: Decimal | None = None
    cash_events: int = 0


CloseOf = Callable[[str, date], Decimal | None]  # an underlying's close on a day, if known


@dataclass(frozen=True)
class HedgePorts:
    broker: OptionsBroker
    clock: Clock
    iv_history: IvStore
    close_of: CloseOf  # settles hedges that expired: their intrinsic value at that close
    limits: HedgeLimits = field(default_factory=HedgeLimits)
    walk: WalkSettings = field(default_factory=WalkSettings)
    journal: Callable[[OrderIntent], None] | None = None  # stores an order before it is sent
    deadline: Deadline | None = None  # every walk ends before it (the Lambda's remaining time)


@dataclass(frozen=True)
class HedgeAction:
    kind: str  # "open" or "close"
    hedge_id: str
    reason: str
    execution: OptionExecution


@dataclass
class HedgeDayReport:
    run_id: str
    day: date
    state: HedgeBookState
    decision: str = "no-hedge"  # "hedged" when a hedge was bought, "refused" when failed closed
    reasons: list[str] = field(default_factory=list)
    actions: list[HedgeAction] = field(default_factory=list)
    clips: tuple[Clip, ...] = ()
    marks: list[MarkedHedge] = field(default_factory=list)
    regime: RegimeReading | None = None
    sizing: SizingDecision | None = None
    spent_month: Decimal = Decimal(0)
    spent_year: Decimal = Decimal(0)
    protection: dict[str, Decimal] = field(default_factory=dict)  # move -> dollars
    next_roll: date | None = None

    def refuse(self, reason: str) -> HedgeDayReport:
        self.decision = "refused"
        self.reasons.append(reason)
        return self


def close_legs(record: HedgeRecord) -> tuple[tuple[OptionLeg, ...], int]:
    """Return the legs and unit count of the order that closes ``record``."""
    units = math.gcd(*(abs(leg.qty) for leg in record.legs))
    legs = tuple(
        OptionLeg(
            symbol=leg.symbol,
            intent=PositionIntent.SELL_TO_CLOSE if leg.qty > 0 else PositionIntent.BUY_TO_CLOSE,
            ratio=abs(leg.qty) // units,
        )
        for leg in record.legs
    )
    return legs, units
