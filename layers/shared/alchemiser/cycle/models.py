"""Input and output of every state of the daily cycle.

These are what the steps produce. They are stored in the object store under the run
id (``alchemiser.cycle.artifacts``); the small messages that travel between states
are in ``alchemiser.cycle.messages``. JSON keeps Decimals as strings and dates as
ISO text.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from alchemiser.broker.models import OrderSide
from alchemiser.ledger.models import BookAllocation, HedgeBookDay, OrderPhase, OrderState

RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- PlanCycle -------------------------------------------------------------------------


class CycleOptions(_State):
    """The execution input (``{}`` from the schedule; the console may set a day to replay)."""

    trading_date: date | None = None  # replay a past trading day (local runs); None: today


class CycleRequest(_State):
    """PlanCycle input. The run id is derived from stage and trading day, not from the
    execution name (the schedule cannot choose names), so any execution for a day —
    scheduled, redriven or started by hand — is the same run with the same order ids."""

    execution_name: str = Field(min_length=1, max_length=80)
    execution_arn: str = ""  # $$.Execution.Id: whose claim on the day this is
    stage: str
    started_at: datetime
    options: CycleOptions = CycleOptions()


class BookMode(StrEnum):
    """How a book takes part in the day."""

    LIVE = "live"  # configured: evaluated, planned and traded
    RETIRED = "retired"  # the ledger has it, the configuration no longer: exited fully
    SHADOW = "shadow"  # evaluated and planned, filled virtually; never sent to the broker


class BookTask(_State):
    """One item of the EvaluateBooks Map."""

    run_id: str
    stage: str
    trading_date: date
    book_id: str
    strategy: str  # file name in strategies/ ("" for a retired book)
    share: Decimal = Field(ge=0, le=1)  # target share (0: a retired book)
    account_equity: Decimal
    blocked_reason: str = ""
    cash: Decimal = Decimal(0)  # the book's own cash after the day's capital transfers
    mode: BookMode = BookMode.LIVE


class CyclePlan(_State):
    """PlanCycle output."""

    run_id: str
    stage: str
    trading_date: date
    market_open: bool
    proceed: bool  # False: nothing to do today (closed, or already traded)
    reason: str = ""
    already_traded: bool = False
    run_at: datetime  # close minus N minutes (UTC): the Wait state's timestamp
    account_equity: Decimal = Decimal(0)
    blocked_reason: str = ""  # set: the books are evaluated and reported, nothing trades
    books: list[BookTask] = Field(default_factory=list)
    data_source: str = ""
    warnings: list[str] = Field(default_factory=list)
    # The hedge book (alchemiser.cycle.hedge_funding): its cash after PlanCycle, what the
    # Hedge step may spend of it (None: no cash cap) and how many of its events that
    # cash includes (the events after them moved cash since).
    hedge_cash: Decimal | None = None
    hedge_spendable: Decimal | None = None
    hedge_events: int = 0


# -- EvaluateBook ----------------------------------------------------------------------


class BookStatus(StrEnum):
    PLANNED = "planned"  # trades planned (possibly none)
    HELD = "held"  # rebalance skipped: inside the corridor or not a rebalance day
    FAILED = "failed"  # evaluation failed: reported, the other books go on
    # After Reconcile a planned book says what happened (alchemiser.reporting.wording):
    TRADED = "traded"  # every planned trade filled
    PARTIALLY_TRADED = "partially_traded"  # some filled, not all
    NOT_TRADED = "not_traded"  # trades were wanted, none filled (blocked, failed or held)
    ON_TARGET = "on_target"  # nothing to trade


class BookTrade(_State):
    """A trade one book wants, before netting."""

    book_id: str
    symbol: str
    side: OrderSide
    qty: Decimal = Field(gt=0)
    price: Decimal = Field(gt=0)  # reference price used for planning
    notional: Decimal = Field(gt=0)
    exit: bool = False  # sells the book's whole holding of the symbol


class HeldTrade(_State):
    symbol: str
    notional: Decimal
    reason: str


class BookPlan(_State):
    """EvaluateBook output (or, on failure, what the Map's Catch records)."""

    run_id: str
    book_id: str
    strategy: str
    status: BookStatus
    reason: str = ""
    target_weights: dict[str, Decimal] = Field(default_factory=dict)
    capital: Decimal = Decimal(0)
    cash: Decimal = Decimal(0)
    positions: dict[str, Decimal] = Field(default_factory=dict)
    prices: dict[str, Decimal] = Field(default_factory=dict)
    trades: list[BookTrade] = Field(default_factory=list)
    held: list[HeldTrade] = Field(default_factory=list)
    trace_key: str | None = None


# -- PlanOrders ------------------------------------------------------------------------


class NetOrder(_State):
    """One broker order: the books' trades in a symbol netted together."""

    client_order_id: str = Field(max_length=48)
    run_id: str
    trading_date: date
    phase: OrderPhase
    symbol: str
    side: OrderSide
    qty: Decimal = Field(gt=0)
    ref_price: Decimal = Field(gt=0)
    fractionable: bool = True
    allocations: list[BookAllocation]


class Cross(_State):
    """Shares passed between books inside the account instead of through the market."""

    symbol: str
    qty: Decimal = Field(gt=0)
    seller: str
    buyer: str


class NettingSummary(_State):
    book_trades: int
    orders: int
    notional_saved: Decimal


class OrderPlan(_State):
    run_id: str
    trading_date: date
    sell_orders: list[NetOrder] = Field(default_factory=list)
    buy_orders: list[NetOrder] = Field(default_factory=list)
    crosses: list[Cross] = Field(default_factory=list)
    netting: NettingSummary
    blocked_reason: str = ""
    warnings: list[str] = Field(default_factory=list)


# -- ExecuteOrder, CheckSells (circuit breaker), Hedge ---------------------------------


class ExecuteOrderRequest(_State):
    order: NetOrder
    max_notional: Decimal | None = None  # BUY phase: the cash left for this order


class OrderResult(_State):
    client_order_id: str
    run_id: str
    phase: OrderPhase
    symbol: str
    side: OrderSide
    requested_qty: Decimal
    filled_qty: Decimal
    avg_price: Decimal | None = None
    state: OrderState
    broker_order_ids: list[str] = Field(default_factory=list)
    reason: str = ""
    notional: Decimal | None = None  # the broker's cents for the fills (OrderRecord.notional)


class BuyGate(_State):
    """CheckSells output: the circuit breaker's decision before the BUY phase."""

    run_id: str
    buys_allowed: bool
    reason: str = ""
    sell_failures: int = 0
    available_cash: Decimal = Decimal(0)
    buy_orders: list[ExecuteOrderRequest] = Field(default_factory=list)


class HedgeDecision(_State):
    """The Hedge step's output (what it did in full: ``runs/<run>/hedge.json``)."""

    run_id: str
    decision: str  # hedged / no-hedge / refused / off
    reason: str
    option_orders: int = 0  # broker orders the hedge's walks placed in this attempt


# -- Reconcile, Notify -----------------------------------------------------------------


class Pnl(_State):
    realised: Decimal
    unrealised: Decimal
    total: Decimal


class BookOutcome(_State):
    book_id: str
    strategy: str
    status: BookStatus
    reason: str = ""
    target_weights: dict[str, Decimal] = Field(default_factory=dict)
    positions: dict[str, Decimal] = Field(default_factory=dict)
    cash: Decimal = Decimal(0)
    equity: Decimal = Decimal(0)  # the book's NAV: its cash + its positions at the day's marks
    pnl: Pnl | None = None
    mode: BookMode = BookMode.LIVE
    transfers: Decimal = Decimal(0)  # capital moved in today (< 0: out)
    twr_day: Decimal | None = None
    twr_inception: Decimal | None = None


class AccountOutcome(_State):
    """The account after the day: the pool, its NAV against the broker's equity, returns."""

    pool: Decimal
    nav: Decimal
    broker_equity: Decimal
    unexplained: Decimal  # broker equity - NAV: 0 on the simulated broker
    flows: Decimal = Decimal(0)
    twr_day: Decimal | None = None
    twr_inception: Decimal | None = None
    transfers: list[str] = Field(default_factory=list)  # the day's transfers, in words
    hedge: HedgeBookDay | None = None  # the hedge book (None: the account never had one)


class DriftLine(_State):
    symbol: str
    broker_qty: Decimal
    books_qty: Decimal
    notional: Decimal


class ReconcileResult(_State):
    run_id: str
    trading_date: date
    books: list[BookOutcome]
    orders: list[OrderResult]
    account_pnl: Pnl
    drift: list[DriftLine] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    account: AccountOutcome | None = None


class NotifyResult(_State):
    run_id: str
    report_key: str
    message_id: str
    dashboard: str = (
        ""  # the dashboard's index (a path or a pre-signed URL), or why it is not there
    )
    stage: str = ""
    blocked_reason: str = (
        ""  # set: the run succeeded but the kill switch, drift or a limit stopped it
    )


class FailureNotice(_State):
    """What the failure email says: the run, how its execution ended, where and why."""

    run_id: str
    execution_name: str = ""
    stage: str = ""
    status: str = "FAILED"  # FAILED, TIMED_OUT or ABORTED
    failed_state: str = ""  # the state the execution failed at, when the history says
    error: str
    cause: str = ""
