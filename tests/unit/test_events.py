"""events/: one sample input per function (and the state machine's), all of one run.

Every file validates against the model its handler parses, carries exactly the fields
the state machine passes (states pass ids and keys, never payloads), and together the
samples tell one consistent run (cycle-2026-07-31-dev): one execution, the run's
stored step outputs' keys, and order ids the library derives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from alchemiser.books.client_ids import client_order_id
from alchemiser.books.config import load_books
from alchemiser.broker.models import OrderSide
from alchemiser.cycle.artifacts import order_plan_key
from alchemiser.cycle.messages import (
    BookRef,
    ExecutionStatusChange,
    HedgePlanRef,
    NotifyRequest,
    OrderRef,
    PlanRef,
    ReconcileRequest,
    RunRef,
)
from alchemiser.cycle.models import CycleOptions, CycleRequest
from alchemiser.ledger.models import OrderPhase
from tests.conftest import REPO_ROOT

EVENTS_DIR = REPO_ROOT / "events"
ASL_PATH = REPO_ROOT / "statemachines" / "daily_cycle.asl.json"
RUN_ID = "cycle-2026-07-31-dev"
EVENT_OF_TASK = {
    "PlanCycle": "plan_cycle.json",
    "EvaluateBook": "evaluate_book.json",
    "PlanOrders": "plan_orders.json",
    "ExecuteSellOrder": "execute_order.json",
    "ExecuteBuyOrder": "execute_order.json",
    "CheckSells": "check_sells.json",
    "HedgePlan": "hedge_plan.json",
    "HedgeExecute": "hedge_execute.json",
    "Reconcile": "reconcile.json",
    "Notify": "notify.json",
}

MODEL_OF: dict[str, type[BaseModel]] = {
    "daily_cycle_input.json": CycleOptions,  # the state machine's execution input
    "plan_cycle.json": CycleRequest,
    "evaluate_book.json": BookRef,
    "plan_orders.json": RunRef,
    "execute_order.json": OrderRef,
    "check_sells.json": PlanRef,
    "hedge_plan.json": RunRef,
    "hedge_execute.json": HedgePlanRef,
    "reconcile.json": ReconcileRequest,
    "notify.json": NotifyRequest,
    "notify_failure.json": ExecutionStatusChange,  # EventBridge, on a failed execution
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


def task_inputs(
    node: Any, selector: dict[str, Any] | None = None
) -> Iterator[tuple[str, set[str]]]:
    """Yield (Task name, the fields it sends its function) for every Task, nested ones
    included: its Parameters, else the ItemSelector of the Map item it runs in."""
    if isinstance(node, dict):
        for name, state in node.get("States", {}).items():
            if state.get("Type") == "Task":
                fields = state.get("Parameters") or selector or {}
                yield name, {key.removesuffix(".$") for key in fields}
            inner = state.get("ItemSelector") if state.get("Type") == "Map" else selector
            for child in (state.get("ItemProcessor"), *state.get("Branches", [])):
                if child is not None:
                    yield from task_inputs(child, inner)


def test_every_event_has_exactly_the_fields_its_task_passes() -> None:
    # Given every Task of the state machine and the sample event of its function
    definition = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    seen = set()
    for name, passed in task_inputs(definition):
        # Then the sample has the same fields: it is what the function really receives
        assert set(raw(EVENT_OF_TASK[name])) == passed, name
        seen.add(name)
    assert seen == set(EVENT_OF_TASK)


def test_the_execution_input_is_what_plan_cycle_receives_as_its_options() -> None:
    assert raw("plan_cycle.json")["options"] == raw("daily_cycle_input.json")


def test_no_event_carries_a_payload_that_grows_with_the_books() -> None:
    # Given every sample a state passes to a function
    for name in EVENT_OF_TASK.values():
        # Then it is a few ids and keys: no list, no nested plan
        values = raw(name).values()
        assert not [v for v in values if isinstance(v, list)], name
        assert len(json.dumps(raw(name))) < 400, name


# -- one consistent run --------------------------------------------------------------------


def test_all_samples_belong_to_one_run_and_one_execution() -> None:
    # Given every sample
    documents = [raw(name) for name in MODEL_OF]

    # Then they name one run, its stored order plan, and one execution
    assert {v for d in documents for v in values_of(d, "run_id")} == {RUN_ID}
    assert {v for d in documents for v in values_of(d, "plan_key")} == {order_plan_key(RUN_ID)}
    failure: ExecutionStatusChange = parsed("notify_failure.json")
    start: CycleRequest = parsed("plan_cycle.json")
    notify: NotifyRequest = parsed("notify.json")
    assert start.execution_arn == notify.execution_arn == failure.detail.execution_arn
    assert failure.detail.name == start.execution_name
    assert start.execution_arn.endswith(f":{start.execution_name}")
    # And the failed execution ran that day, from that input
    assert json.loads(failure.detail.input or "{}") == raw("daily_cycle_input.json")
    assert failure.detail.start_date.date().isoformat() == "2026-07-31"


def test_the_order_id_is_the_one_the_library_derives() -> None:
    order: OrderRef = parsed("execute_order.json")
    expected = client_order_id(RUN_ID, OrderPhase.SELL, "XLK", OrderSide.SELL)
    assert order.client_order_id == expected


def test_the_book_is_a_dev_book_of_strategies_books_yaml() -> None:
    configured = {b.id for b in load_books(REPO_ROOT / "strategies" / "books.yaml", "dev")}
    book: BookRef = parsed("evaluate_book.json")
    assert book.book_id in configured
