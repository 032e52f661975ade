"""events/: one sample input per function (and the state machine's), all from one real day.

Every file validates against the model its handler parses, and together the samples
tell one consistent run (cycle-2026-07-31-dev): the states pass each other the very
plans they produced, order ids are the ones the library derives, and the prices are
the real closes of that day.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from alchemiser.books.client_ids import client_order_id
from alchemiser.books.config import load_books
from alchemiser.cycle.models import (
    BookPlan,
    CheckSellsRequest,
    CycleOptions,
    CycleRequest,
    EvaluateBookEvent,
    ExecuteOrderEvent,
    FailureNotice,
    HedgeRequest,
    NetOrder,
    NotifyRequest,
    PlanOrdersRequest,
    ReconcileRequest,
)
from tests.conftest import PRICES_DIR, REPO_ROOT

EVENTS_DIR = REPO_ROOT / "events"
ASL_PATH = REPO_ROOT / "statemachines" / "daily_cycle.asl.json"
RUN_ID = "cycle-2026-07-31-dev"
EVENT_OF_TASK = {
    "PlanCycle": "plan_cycle.json",
    "EvaluateBook": "evaluate_book.json",
    "PlanOrders": "plan_orders.json",
    "ExecuteOrder": "execute_order.json",
    "CheckSells": "check_sells.json",
    "Hedge": "hedge.json",
    "Reconcile": "reconcile.json",
    "Notify": "notify.json",
    "NotifyFailure": "notify_failure.json",
}

MODEL_OF: dict[str, type[BaseModel]] = {
    "daily_cycle_input.json": CycleOptions,  # the state machine's execution input
    "plan_cycle.json": CycleRequest,
    "evaluate_book.json": EvaluateBookEvent,
    "plan_orders.json": PlanOrdersRequest,
    "execute_order.json": ExecuteOrderEvent,
    "check_sells.json": CheckSellsRequest,
    "hedge.json": HedgeRequest,
    "reconcile.json": ReconcileRequest,
    "notify.json": NotifyRequest,
    "notify_failure.json": FailureNotice,
}


def event_files() -> list[str]:
    return sorted(p.name for p in EVENTS_DIR.glob("*.json"))


def parsed(name: str) -> Any:
    return MODEL_OF[name].model_validate_json((EVENTS_DIR / name).read_text(encoding="utf-8"))


def raw(name: str) -> Any:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def values_of(node: Any, key: str) -> Iterator[Any]:
    """Yield every value stored under ``key`` anywhere in a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from values_of(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from values_of(item, key)


def real_close(ticker: str, day: str) -> Decimal:
    with (PRICES_DIR / f"{ticker}.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Date"] == day:
                return Decimal(row["Adj Close"]).quantize(Decimal("0.01"))
    raise AssertionError(f"no real close of {ticker} on {day} in {PRICES_DIR}")


# -- every file validates against its model ----------------------------------------------


@pytest.mark.parametrize("name", event_files())
def test_every_event_file_validates_against_the_model_its_handler_parses(name: str) -> None:
    # Given a sample event in events/
    # When it is looked up in the map of handler models
    model = MODEL_OF.get(name)

    # Then it has a model (a new sample needs one) and validates against it
    assert model is not None, (
        f"events/{name} has no model in MODEL_OF; add the model its handler parses"
    )
    model.model_validate_json((EVENTS_DIR / name).read_text(encoding="utf-8"))


def test_every_function_and_the_state_machine_have_a_sample_event() -> None:
    # Given the samples the map expects
    # When events/ is listed
    present = set(event_files())

    # Then none is missing
    assert sorted(set(MODEL_OF) - present) == []


def task_parameters(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (state name, Parameters) for every Task of the definition, nested ones included."""
    if isinstance(node, dict):
        for name, state in node.get("States", {}).items():
            if state.get("Type") == "Task":
                yield name, state.get("Parameters", {})
        for value in node.values():
            yield from task_parameters(value)
    elif isinstance(node, list):
        for item in node:
            yield from task_parameters(item)


def test_every_event_has_exactly_the_fields_its_task_passes() -> None:
    # Given every Task of the state machine and the sample event of its function
    definition = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    for name, parameters in task_parameters(definition):
        # When the fields the Task's Parameters build are compared with the sample's
        passed = {key.removesuffix(".$") for key in parameters}

        # Then they are the same: the sample is what the function really receives
        assert set(raw(EVENT_OF_TASK[name])) == passed, name


def test_the_execution_input_is_what_plan_cycle_receives_as_its_options() -> None:
    # Given the state machine's input and PlanCycle's event
    # When PlanCycle's Parameters pass the input through as "options"
    # Then the two agree
    assert raw("plan_cycle.json")["options"] == raw("daily_cycle_input.json")


# -- one consistent run --------------------------------------------------------------------


def test_all_samples_belong_to_one_run_one_stage_and_one_day() -> None:
    # Given every sample
    documents = [raw(name) for name in MODEL_OF]

    # When their run ids, stages and trading dates are collected
    run_ids = {v for d in documents for v in values_of(d, "run_id")}
    stages = {v for d in documents for v in values_of(d, "stage")}
    days = {v for d in documents for v in values_of(d, "trading_date")}

    # Then there is one of each
    assert run_ids == {RUN_ID}
    assert stages == {"dev"}
    assert days == {"2026-07-31"}


def net_orders() -> list[NetOrder]:
    check: CheckSellsRequest = parsed("check_sells.json")
    reconcile: ReconcileRequest = parsed("reconcile.json")
    execute: ExecuteOrderEvent = parsed("execute_order.json")
    return [
        *check.plan.sell_orders,
        *check.plan.buy_orders,
        *(r.order for r in reconcile.execution.gate.buy_orders),
        execute.request.order,
    ]


def test_every_order_carries_the_client_order_id_the_library_derives() -> None:
    # Given every netted order in the samples
    for order in net_orders():
        # When the library derives the id of that run, phase, symbol and side
        expected = client_order_id(order.run_id, order.phase, order.symbol, order.side)

        # Then the sample carries exactly that id
        assert order.client_order_id == expected, order.symbol


def test_states_pass_each_other_the_plans_they_produced() -> None:
    # Given the samples of consecutive states
    plan_orders: PlanOrdersRequest = parsed("plan_orders.json")
    execute: ExecuteOrderEvent = parsed("execute_order.json")
    check: CheckSellsRequest = parsed("check_sells.json")
    hedge: HedgeRequest = parsed("hedge.json")
    reconcile: ReconcileRequest = parsed("reconcile.json")
    notify: NotifyRequest = parsed("notify.json")
    evaluate: EvaluateBookEvent = parsed("evaluate_book.json")

    # Then the books, the order plan, the results and the tasks are the same objects downstream
    assert plan_orders.books == hedge.books == reconcile.books
    assert check.plan == reconcile.orders == notify.orders
    assert execute.request.order in check.plan.sell_orders
    assert check.sell_results == reconcile.execution.sell_results
    assert reconcile.tasks == notify.plan.books
    assert evaluate.task in notify.plan.books
    assert [r.order for r in reconcile.execution.gate.buy_orders] == check.plan.buy_orders
    assert notify.reconcile.orders == [
        *reconcile.execution.sell_results,
        *reconcile.execution.buy_results,
    ]


def test_books_are_the_dev_books_of_strategies_books_yaml() -> None:
    # Given the dev stage's books as configured
    configured = {
        (b.id, b.strategy, b.share)
        for b in load_books(REPO_ROOT / "strategies" / "books.yaml", "dev")
    }

    # When the samples' book tasks are read
    notify: NotifyRequest = parsed("notify.json")
    sampled = {(t.book_id, t.strategy, t.share) for t in notify.plan.books}

    # Then they are exactly those books, with those shares
    assert sampled == configured


def test_book_plans_add_up_trades_and_cash() -> None:
    # Given every book plan of the samples
    plan_orders: PlanOrdersRequest = parsed("plan_orders.json")
    for book in plan_orders.books:
        # Then a trade's notional is its quantity at its price, to the cent,
        assert all(t.notional == (t.qty * t.price).quantize(Decimal("0.01")) for t in book.trades)
        # and capital is the book's cash plus its positions at the planning prices
        held = sum((qty * book.prices[s] for s, qty in book.positions.items()), Decimal(0))
        assert book.capital == book.cash + held, book.book_id


def test_prices_are_the_real_closes_of_the_trading_day() -> None:
    # Given the planning prices and the netted orders' reference prices
    plan_orders: PlanOrdersRequest = parsed("plan_orders.json")
    books: list[BookPlan] = plan_orders.books
    quoted = {s: p for book in books for s, p in book.prices.items()}
    quoted |= {o.symbol: o.ref_price for o in net_orders()}

    # When each is compared with the real adjusted close of 2026-07-31 (to the cent)
    real = {s: real_close(s, "2026-07-31") for s in quoted}

    # Then all of them are real
    assert quoted == real
