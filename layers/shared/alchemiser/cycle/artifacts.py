"""Every step output the daily cycle stores, and the one place that names their keys.

States pass keys, never payloads: a step writes what it produced to the object store
(S3 on AWS, the home directory locally) under its run id and returns a few ids and
flags, so no state's input or output grows with the number of books (Step Functions
refuses any above 256 KiB, and ``States.DataLimitExceeded`` cannot be caught).

| key                                  | model        | written by                 | once? |
|--------------------------------------|--------------|----------------------------|-------|
| runs/{run_id}/setup.json             | DaySetup     | PlanCycle (run_once)       | yes   |
| runs/{run_id}/day.json               | CyclePlan    | PlanCycle, every attempt   | no    |
| runs/{run_id}/books/{book_id}.json   | BookPlan     | EvaluateBook, every attempt| no    |
| runs/{run_id}/orders.json            | OrderPlan    | PlanOrders (run_once)      | yes   |
| runs/{run_id}/orders-blocked.json    | OrderPlan    | PlanOrders, blocked attempt| no    |
| runs/{run_id}/gate.json              | BuyGate      | CheckSells (run_once)      | yes   |
| runs/{run_id}/hedge.json             | HedgeSummary | Hedge, every attempt       | no    |
| runs/{run_id}/hedge-exposure.json    | RunExposure  | Hedge, first attempt       | yes   |
| runs/{run_id}/reconcile.json         | ReconcileResult | Reconcile, every attempt| no    |

PlanOrders returns the key of the plan its attempt follows (``orders.json``, or
``orders-blocked.json`` when trading is blocked: nothing is fixed, nothing executes),
and Reconcile and Notify read that key. "Once" objects are written by the first successful attempt of a ``run_once`` step and
never again: a re-run, a redrive or the next day's late reconciliation reads exactly
what the orders were built from. The others describe the latest attempt. What each
order did is not stored here: the ledger's order records (``Ledger.orders``) are the
truth, written by the walk after every step. A book without a plan object was not
evaluated in any attempt (its evaluation crashed, timed out or ran out of memory; the
execution history says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, ValidationError

from alchemiser.cycle.models import (
    BookPlan,
    BookTask,
    BuyGate,
    CyclePlan,
    OrderPlan,
    ReconcileResult,
)
from alchemiser.hedge.summary import HedgeSummary
from alchemiser.storage.port import ObjectStore

_JSON = "application/json"
_READERS = 16  # parallel object reads (S3 latency dominates loading a thousand book plans)


class DaySetup(BaseModel):
    """What a run fixes once and every later attempt reuses: equity, books, timing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    stage: str
    trading_date: date
    account_equity: Decimal
    books: list[BookTask]
    run_at: datetime
    data_source: str
    warnings: list[str] = []
    rebalanced: bool = False  # the capital policy rebalanced today (alchemiser.cycle.capital)
    hedge_cash: Decimal | None = None  # the hedge book's cash after PlanCycle's funding
    hedge_spendable: Decimal | None = None  # what the Hedge step may spend of it today
    hedge_events: int = 0  # the hedge book's events that cash includes (a prefix)


def setup_key(run_id: str) -> str:
    return f"runs/{run_id}/setup.json"


def day_key(run_id: str) -> str:
    return f"runs/{run_id}/day.json"


def book_plan_key(run_id: str, book_id: str) -> str:
    return f"runs/{run_id}/books/{book_id}.json"


def order_plan_key(run_id: str) -> str:
    return f"runs/{run_id}/orders.json"


def blocked_order_plan_key(run_id: str) -> str:
    return f"runs/{run_id}/orders-blocked.json"


def gate_key(run_id: str) -> str:
    return f"runs/{run_id}/gate.json"


def hedge_key(run_id: str) -> str:
    return f"runs/{run_id}/hedge.json"


def reconcile_key(run_id: str) -> str:
    return f"runs/{run_id}/reconcile.json"


def put_model(store: ObjectStore, key: str, model: BaseModel) -> None:
    """Store ``model`` as JSON under ``key`` (replacing what was there)."""
    store.put_bytes(key, model.model_dump_json().encode(), _JSON)


def get_model[M: BaseModel](store: ObjectStore, key: str, model: type[M]) -> M:
    """Return the object stored under ``key``; raise FileNotFoundError when there is none."""
    return model.model_validate_json(store.get_bytes(key))


def find_model[M: BaseModel](store: ObjectStore, key: str, model: type[M]) -> M | None:
    """Return the object stored under ``key``, or None when there is none."""
    try:
        return get_model(store, key, model)
    except FileNotFoundError:
        return None


class RunArtifacts:
    """The stored step outputs of one run."""

    def __init__(self, store: ObjectStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def setup(self) -> DaySetup | None:
        """Return what PlanCycle fixed for the run (None before it did)."""
        return find_model(self.store, setup_key(self.run_id), DaySetup)

    def day(self) -> CyclePlan:
        """Return this attempt's plan of the day (PlanCycle has run)."""
        return get_model(self.store, day_key(self.run_id), CyclePlan)

    def find_day(self) -> CyclePlan | None:
        return find_model(self.store, day_key(self.run_id), CyclePlan)

    def book_task(self, book_id: str) -> BookTask:
        """Return the task of one book of this run; a KeyError names the books there are."""
        tasks = {t.book_id: t for t in self.day().books}
        if book_id not in tasks:
            raise KeyError(
                f"run {self.run_id} has no book {book_id!r}; its books: {', '.join(tasks)}"
            )
        return tasks[book_id]

    def put_book_plan(self, plan: BookPlan) -> None:
        put_model(self.store, book_plan_key(self.run_id, plan.book_id), plan)

    def book_plans(self, book_ids: Sequence[str]) -> list[BookPlan]:
        """Return the stored plan of each book that has one, in the order of ``book_ids``."""
        keys = [book_plan_key(self.run_id, b) for b in book_ids]
        with ThreadPoolExecutor(max_workers=min(_READERS, max(1, len(keys)))) as pool:
            found = pool.map(lambda k: find_model(self.store, k, BookPlan), keys)
            return [plan for plan in found if plan is not None]

    def order_plan(self) -> OrderPlan | None:
        """Return the netted order plan fixed by the first unblocked PlanOrders, if any."""
        return find_model(self.store, order_plan_key(self.run_id), OrderPlan)

    def gate(self) -> BuyGate | None:
        return find_model(self.store, gate_key(self.run_id), BuyGate)

    def hedge(self) -> HedgeSummary | None:
        """Return what the hedge did (None when it has not run, or wrote an older shape)."""
        try:
            return find_model(self.store, hedge_key(self.run_id), HedgeSummary)
        except ValidationError:
            return None  # a run's hedge.json from before the hedge was wired: nothing to show

    def reconcile(self) -> ReconcileResult | None:
        return find_model(self.store, reconcile_key(self.run_id), ReconcileResult)
