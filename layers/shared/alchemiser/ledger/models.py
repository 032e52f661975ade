"""Ledger records. Each book's positions are its open lots, never the broker's totals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from alchemiser.broker.models import OrderSide


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunStatus(StrEnum):
    STARTED = "started"  # claimed by the execution named in the record
    COMPLETED = "completed"  # the day was traded: re-runs place nothing
    BLOCKED = "blocked"  # the kill switch, drift or a limit stopped trading: a re-run may trade
    FAILED = "failed"  # failed, timed out or aborted: a re-run or redrive finishes the day


class RunRecord(_Record):
    run_id: str
    stage: str
    trading_date: date
    status: RunStatus
    started_at: datetime
    updated_at: datetime
    attempts: int = Field(1, ge=1)
    message: str = ""
    execution_name: str = ""  # the Step Functions execution currently (or last) running the day
    execution_arn: str = ""  # its ARN: whose claim this is (Ledger.claim_run, Ledger.finish_run)


class OrderPhase(StrEnum):
    SELL = "sell"
    BUY = "buy"


class BookAllocation(_Record):
    """One book's intended trade inside a netted broker order (or an internal cross)."""

    book_id: str
    side: OrderSide
    qty: Decimal = Field(gt=0)


class OrderState(StrEnum):
    PLANNED = "planned"
    SUBMITTED = "submitted"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    FAILED = "failed"  # rejected, or nothing filled before the last step
    SKIPPED = "skipped"  # blocked by a limit, the kill switch or the circuit breaker


class OrderRecord(_Record):
    client_order_id: str
    run_id: str
    trading_date: date
    phase: OrderPhase
    symbol: str
    side: OrderSide
    qty: Decimal = Field(gt=0)
    ref_price: Decimal = Field(gt=0)
    state: OrderState = OrderState.PLANNED
    filled_qty: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    broker_order_ids: tuple[str, ...] = ()
    allocations: tuple[BookAllocation, ...] = ()
    reason: str = ""
    # The notional the broker booked for the fills, in cents, each broker order's
    # fill rounded as the broker rounds it (None: recorded before this was kept).
    notional: Decimal | None = None
    # How the walk met the market (None in records written before the walk kept them):
    # the first quote it priced against, how many broker orders it placed, when the first
    # went out and when the last fill came in.
    arrival_bid: Decimal | None = None
    arrival_ask: Decimal | None = None
    steps_used: int = Field(0, ge=0)
    submitted_at: datetime | None = None
    last_fill_at: datetime | None = None


class FillSource(StrEnum):
    MARKET = "market"  # the book's share of a broker fill
    CROSS = "cross"  # netted against another book's opposite trade, at the same price
    VIRTUAL = "virtual"  # a shadow book's fill: never at the broker (alchemiser.books.shadow)


class FillRecord(_Record):
    """A fill attributed to one book. ``fill_id`` is deterministic, so recording is idempotent."""

    fill_id: str
    run_id: str
    trading_date: date
    book_id: str
    symbol: str
    side: OrderSide
    qty: Decimal = Field(gt=0)
    price: Decimal = Field(gt=0)
    source: FillSource
    client_order_id: str | None = None
    # The book's cash for this fill, signed (a buy pays: < 0), in cents: its exact share
    # of the broker's cash for the order (alchemiser.books.cash). None on fills booked
    # before books kept their own cash: the upgrade's opening transfer covers those.
    cash: Decimal | None = None


class Lot(_Record):
    """An open FIFO lot of one book: what is left of one buy."""

    book_id: str
    symbol: str
    lot_id: str
    opened_on: date
    qty: Decimal = Field(gt=0)
    cost_price: Decimal = Field(gt=0)


class BookSnapshot(_Record):
    """A book at the end of a trading day (positions by lots, cash, P&L, returns).

    ``equity`` is the book's NAV (cash + positions at the day's prices). ``transfers`` is
    the capital moved into the book that day (< 0: out), counted at the start of the day;
    ``twr_day`` = equity / (previous equity + transfers) - 1, ``twr_inception`` chains
    them (alchemiser.books.returns). Snapshots written before books kept their own cash
    have no returns (None).
    """

    book_id: str
    trading_date: date
    run_id: str
    capital: Decimal
    cash: Decimal
    positions: dict[str, Decimal]
    prices: dict[str, Decimal]
    market_value: Decimal
    equity: Decimal
    cost_basis: Decimal
    realised_pnl: Decimal  # cumulative since the book opened
    unrealised_pnl: Decimal
    transfers: Decimal = Decimal(0)
    twr_day: Decimal | None = None
    twr_inception: Decimal | None = None
    mode: str = "live"  # live, shadow or retired (a book the configuration no longer has)


POOL = "_pool"  # the unallocated cash's account (book ids never start with "_")
EXTERNAL = "_external"  # outside the account: deposits come from it, withdrawals go to it
HEDGE = "_hedge"  # the hedge book's cash (alchemiser.books.hedge_account): not a strategy book


class TransferReason(StrEnum):
    """Why cash moved between the books, the pool and the outside."""

    OPENING = "opening"  # the account's cash when books first kept their own (or the upgrade)
    FUND = "fund"  # a new book's capital, from the pool
    SCHEDULED = "scheduled"  # a monthly or quarterly capital rebalance
    DRIFT = "drift"  # a threshold capital rebalance
    RETIRE = "retire"  # a retired book, flat, gives its cash back to the pool
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    FEE = "fee"
    INTEREST = "interest"
    DIVIDEND = "dividend"
    UNEXPLAINED = "unexplained"  # a broker cash move nothing explains, shown, never hidden
    HEDGE = "hedge"  # the hedge book's funding (pool, books -> hedge) or spare cash (-> pool)
    OPTION = "option"  # the hedge book's option premium, close proceeds, expiry settlements


class Transfer(_Record):
    """Cash moved from one account to another (a book id, ``POOL`` or ``EXTERNAL``).

    ``transfer_id`` is deterministic, so recording a transfer twice is a no-op.
    """

    transfer_id: str
    trading_date: date
    source: str
    destination: str
    amount: Decimal = Field(gt=0)
    reason: TransferReason
    detail: str = ""
    run_id: str = ""

    def same_move(self, other: Transfer) -> bool:
        """Tell whether ``other`` moves the same cash (a re-run offering it again, any day)."""
        fields = ("transfer_id", "source", "destination", "amount", "reason")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


class HedgeBookDay(_Record):
    """The hedge book at the end of a trading day (``alchemiser.books.hedge_account``).

    ``nav`` = ``cash`` + ``options`` (its contracts at the day's mids); ``transfers`` is
    its funding that day (< 0: spare cash back to the pool), a flow of its returns; the
    premium it pays and the proceeds it receives are its performance.
    """

    cash: Decimal
    options: Decimal
    nav: Decimal
    transfers: Decimal = Decimal(0)
    premium_month: Decimal = Decimal(0)
    premium_year: Decimal = Decimal(0)
    twr_day: Decimal | None = None
    twr_inception: Decimal | None = None
    events: int = 0  # how many of the hedge book's events its cash includes (posted)


class AccountSnapshot(_Record):
    """The account at the end of a trading day: the pool, the live books, the hedge, the broker.

    ``nav`` = pool + the live books' NAVs + the hedge book's NAV; ``flows`` = deposits -
    withdrawals that day (fees, interest, dividends and the hedge's P&L are performance).
    ``difference`` = broker equity - nav: 0 on the simulated broker, else what no activity
    explains. ``hedge`` is the hedge book's day (None: the account has never had one).
    """

    trading_date: date
    run_id: str
    pool: Decimal
    nav: Decimal
    broker_equity: Decimal
    difference: Decimal
    flows: Decimal = Decimal(0)
    twr_day: Decimal | None = None
    twr_inception: Decimal | None = None
    last_rebalance: date | None = None  # the last capital rebalance (capital policy)
    hedge: HedgeBookDay | None = None


class KillSwitch(_Record):
    enabled: bool
    reason: str = ""
    updated_at: datetime
    updated_by: str = ""
