"""What travels between the states of the daily cycle: run ids, item ids and flags.

Each Lambda handler parses its event into one of these models and returns another
(``model_dump(mode="json")``). None of them grows with a book's size: what a step
produces is stored under the run id (``alchemiser.cycle.artifacts``) and the state
carries its key. The lists here are of ids only (one per book, one per netted order),
so the state stays small at a thousand books (tests/workflow/test_scale.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, field_validator

from alchemiser.cycle.models import RUN_ID_PATTERN, BookStatus


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CycleStart(_Message):
    """PlanCycle's output: whether the day trades, when, and which books."""

    run_id: str
    stage: str
    trading_date: date
    market_open: bool
    proceed: bool  # False: nothing to do (closed, already traded, another execution owns it)
    reason: str = ""
    already_traded: bool = False
    run_at: datetime  # close minus N minutes (UTC): the Wait state's timestamp
    blocked: bool = False  # the books are evaluated and reported, nothing trades
    book_ids: list[str] = Field(default_factory=list)


class RunRef(_Message):
    """The event of a step that works on the whole run (PlanOrders, HedgePlan)."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)


class HedgePlanRef(_Message):
    """HedgePlan's output and HedgeExecute's event: the run and its stored hedge plan."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    hedge_plan_key: str  # runs/<run>/hedge-plan.json (cycle.hedge_models.HedgePlanned)


class BookRef(_Message):
    """One item of the EvaluateBooks Map."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    book_id: str


class BookDone(_Message):
    """EvaluateBook's output (its plan is stored)."""

    run_id: str
    book_id: str
    status: BookStatus
    trades: int


class OrdersPlanned(_Message):
    """PlanOrders' output: which plan this attempt follows and the SELL orders to walk."""

    run_id: str
    plan_key: str
    blocked: bool = False
    sell_order_ids: list[str] = Field(default_factory=list)
    buy_orders: int = 0


class OrderRef(_Message):
    """One item of the ExecuteSells or ExecuteBuys Map: a netted order of the stored plan."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    client_order_id: str = Field(max_length=48)


class GateDecision(_Message):
    """CheckSells' output: may the BUY phase run, and which BUY orders it walks."""

    run_id: str
    buys_allowed: bool
    reason: str = ""
    buy_order_ids: list[str] = Field(default_factory=list)


class PlanRef(_Message):
    """The event of a step that reads this attempt's order plan (CheckSells, Reconcile)."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    plan_key: str  # the order plan this attempt follows (OrdersPlanned.plan_key)


class HedgeBranchOutcome(_Message):
    """How the ExecuteAndHedge Parallel's hedge branch ended: its decision, or the error caught.

    ``decision`` is the Hedge step's (hedged / no-hedge / refused / off), or "failed" when
    its Catch took the branch to HedgeFailed; ``error`` is then the Catch's
    ``{"Error", "Cause"}`` (a Lambda error's Cause is its error document).
    """

    decision: str
    error: dict[str, str] | None = None


class ReconcileRequest(PlanRef):
    """Reconcile's event: the order plan, and how the hedge branch ended (absent: unknown)."""

    hedge: HedgeBranchOutcome | None = None


class ReconcileDone(_Message):
    run_id: str
    drift_lines: int
    warnings: int


class NotifyRequest(_Message):
    run_id: str = Field(pattern=RUN_ID_PATTERN)
    plan_key: str
    execution_arn: str  # whose claim on the day Notify settles


ExecutionStatus = Literal[
    "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"
]


class ExecutionStatusDetail(BaseModel):
    """The ``detail`` of a "Step Functions Execution Status Change" event (DescribeExecution's fields)."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str
    status: ExecutionStatus
    start_date: datetime = Field(alias="startDate")  # epoch milliseconds on the wire
    stop_date: datetime | None = Field(None, alias="stopDate")
    input: str | None = None  # the execution input as JSON text (left out above 248 KB)
    error: str | None = None
    cause: str | None = None

    @field_validator("start_date", "stop_date", mode="before")
    @classmethod
    def _from_epoch_millis(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        return value


class ExecutionStatusChange(EventBridgeModel):
    """NotifyFailure's event: EventBridge's rule on the state machine's status changes."""

    detail: ExecutionStatusDetail
