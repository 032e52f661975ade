"""One order's walk over a scripted broker, a memory ledger and an instant clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from alchemiser.books.client_ids import client_order_id
from alchemiser.broker.models import OrderSide, OrderType
from alchemiser.broker.port import Broker
from alchemiser.cycle.models import ExecuteOrderRequest, NetOrder, OrderResult
from alchemiser.execution import Deadline, InstantClock, execute_order, walk_client_order_ids
from alchemiser.ledger.models import (
    BookAllocation,
    BookSnapshot,
    FillRecord,
    KillSwitch,
    Lot,
    OrderPhase,
    OrderRecord,
    RunRecord,
)
from alchemiser.ledger.port import Ledger
from alchemiser.settings import Settings
from tests.support.scripted_broker import QuoteSpec, ScriptedBroker

D = Decimal
START = datetime(2026, 11, 20, 20, 45, tzinfo=UTC)
RUN_ID = "cycle-2026-11-20-dev"


class MemoryLedger:
    """The orders and kill switch of a Ledger, in memory (the rest is not used here)."""

    def __init__(self) -> None:
        self.writes: list[OrderRecord] = []
        self.switch: KillSwitch | None = None

    def put_order(self, order: OrderRecord) -> None:
        self.writes.append(order)

    def get_order(self, run_id: str, client_order_id: str) -> OrderRecord | None:
        found = [
            o for o in self.writes if (o.run_id, o.client_order_id) == (run_id, client_order_id)
        ]
        return found[-1] if found else None

    def orders(self, run_id: str) -> list[OrderRecord]:
        latest = {o.client_order_id: o for o in self.writes if o.run_id == run_id}
        return list(latest.values())

    def kill_switch(self) -> KillSwitch | None:
        return self.switch

    def set_kill_switch(self, switch: KillSwitch) -> None:
        self.switch = switch

    def get_run(self, run_id: str) -> RunRecord | None:
        raise NotImplementedError

    def put_run(self, run: RunRecord) -> None:
        raise NotImplementedError

    def runs(self, stage: str) -> list[RunRecord]:
        raise NotImplementedError

    def record_fills(self, fills: Sequence[FillRecord]) -> list[FillRecord]:
        raise NotImplementedError

    def fills(self, run_id: str) -> list[FillRecord]:
        raise NotImplementedError

    def open_lots(self, book_id: str) -> list[Lot]:
        raise NotImplementedError

    def realised_pnl(self, book_id: str) -> Decimal:
        raise NotImplementedError

    def book_ids(self) -> list[str]:
        raise NotImplementedError

    def put_snapshot(self, snapshot: BookSnapshot) -> None:
        raise NotImplementedError

    def latest_snapshot(self, book_id: str, on_or_before: date) -> BookSnapshot | None:
        raise NotImplementedError


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "limit_steps": (D("0"), D("0.5"), D("1")),
        "step_timeout_s": 20.0,
        "poll_interval_s": 1.0,
        "kill_switch": False,
    }
    values.update(overrides)
    return Settings.model_validate(values)


def net_order(
    side: OrderSide,
    qty: str,
    *,
    symbol: str = "SPY",
    fractionable: bool = True,
    ref_price: str = "100",
) -> NetOrder:
    phase = OrderPhase.BUY if side is OrderSide.BUY else OrderPhase.SELL
    return NetOrder(
        client_order_id=client_order_id(RUN_ID, phase, symbol, side),
        run_id=RUN_ID,
        trading_date=date(2026, 11, 20),
        phase=phase,
        symbol=symbol,
        side=side,
        qty=D(qty),
        ref_price=D(ref_price),
        fractionable=fractionable,
        allocations=[BookAllocation(book_id="core", side=side, qty=D(qty))],
    )


class Venue:
    """A scripted broker, a memory ledger and an instant clock, for one order."""

    def __init__(self, *, fractionable: bool = True, tick: str = "0.01") -> None:
        self.clock = InstantClock(START)
        self.broker = ScriptedBroker(self.clock)
        self.broker.add_asset(
            "SPY",
            fractionable=fractionable,
            qty_places=9 if fractionable else 0,
            price_tick=D(tick),
        )
        self.broker.set_quotes("SPY", QuoteSpec(D("100.00"), D("100.10")))
        self.ledger = MemoryLedger()

    def run(
        self,
        order: NetOrder,
        *,
        max_notional: str | None = None,
        settings: Settings | None = None,
        deadline: Deadline | None = None,
    ) -> OrderResult:
        request = ExecuteOrderRequest(
            order=order, max_notional=None if max_notional is None else D(max_notional)
        )
        broker: Broker = self.broker
        ledger: Ledger = self.ledger
        return execute_order(
            request, broker, ledger, settings or make_settings(), self.clock, deadline
        )

    def placed(self) -> list[tuple[str, OrderType, Decimal, Decimal | None]]:
        return [
            (r.client_order_id, r.type, r.qty, getattr(r, "limit_price", None))
            for r in self.broker.submitted
        ]


def ids(order: NetOrder) -> tuple[str, ...]:
    return walk_client_order_ids(order.client_order_id, 3)
