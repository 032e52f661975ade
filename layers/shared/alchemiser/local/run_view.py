"""A local run as one document: its state, with the stored step outputs it names put back.

The state carries ids and keys only; the summary and ``--json`` show the day's plan,
each book's plan, the order plan, each order's outcome and the reconciliation, so this
module reads them back from the run's object store and ledger (the home directory's,
unless a test put others in) the way Notify reads them on AWS.
"""

from __future__ import annotations

import json
from typing import Any

from alchemiser.cycle.artifacts import RunArtifacts, find_model
from alchemiser.cycle.models import BookStatus, OrderPlan
from alchemiser.cycle.order_results import executed_results
from alchemiser.cycle.reconcile import NOT_EVALUATED
from alchemiser.local.cycle_runner import LocalRun
from alchemiser.reporting.report import readable_error


def run_view(run: LocalRun) -> dict[str, Any]:
    """Return {"plan", "books", "orders", "execution", "reconcile", "notify"} of a local run.

    Only what this execution reached is filled in: a run that stopped in PlanCycle (the
    day already traded, another execution busy) shows none of an earlier run's outputs.
    """
    state = run.state
    start = state.get("plan") or {}
    if not start.get("proceed"):
        return {"plan": start, "notify": state.get("notify")}
    # A retry of failed books is a run of its own (alchemiser.cycle.retry): PlanCycle says which.
    artifacts = RunArtifacts(run.store, str(start.get("run_id") or run.run_id))
    day = artifacts.find_day()
    if day is None:
        return {"plan": start}
    view: dict[str, Any] = {
        "plan": {**day.model_dump(mode="json"), **start},
        "books": _books(artifacts, [t.book_id for t in day.books], run),
        "notify": state.get("notify"),
    }
    orders = state.get("orders") or {}
    plan = find_model(artifacts.store, orders["plan_key"], OrderPlan) if orders else None
    if plan is not None:
        view["orders"] = plan.model_dump(mode="json")
        view["execution"] = {"orders": {**_results(run, plan), "gate": _gate(run, artifacts)}}
    if state.get("reconcile") and (reconciled := artifacts.reconcile()) is not None:
        view["reconcile"] = reconciled.model_dump(mode="json")
    return view


def _books(artifacts: RunArtifacts, book_ids: list[str], run: LocalRun) -> list[dict[str, Any]]:
    plans = {p.book_id: p for p in artifacts.book_plans(book_ids)}
    tasks = {t.book_id: t for t in artifacts.day().books}
    caught = _caught_book_errors(run)
    return [
        plans[b].model_dump(mode="json")
        if b in plans
        else {
            "run_id": artifacts.run_id,
            "book_id": b,
            "strategy": tasks[b].strategy,
            "status": BookStatus.FAILED.value,
            "reason": caught.get(b, NOT_EVALUATED),
        }
        for b in book_ids
    ]


def _caught_book_errors(run: LocalRun) -> dict[str, str]:
    """Return, per book, the error the EvaluateBooks Map caught (from the history)."""
    found: dict[str, str] = {}
    for event in run.execution.history:
        data = event.input
        if event.state_name == "BookFailed" and isinstance(data, dict) and "error" in data:
            error = data["error"] or {}
            found[str(data.get("book_id"))] = readable_error(json.dumps(error))
    return found


def _gate(run: LocalRun, artifacts: RunArtifacts) -> dict[str, Any]:
    """Return the BUY gate: the stored one, else (a gate the kill switch closed is not kept)
    CheckSells' answer in the history; {} when CheckSells did not run."""
    stored = artifacts.gate()
    if stored is not None:
        return stored.model_dump(mode="json")
    for event in reversed(run.execution.history):
        answer = event.output
        if event.state_name == "CheckSells" and isinstance(answer, dict):
            gate = answer.get("gate", answer)
            if isinstance(gate, dict) and "buys_allowed" in gate:
                return gate
    return {}


def _results(run: LocalRun, plan: OrderPlan) -> dict[str, list[dict[str, Any]]]:
    results = executed_results(run.ledger, plan.run_id, plan)
    sells = {o.client_order_id for o in plan.sell_orders}
    return {
        "sell_results": [r.model_dump(mode="json") for c, r in results.items() if c in sells],
        "buy_results": [r.model_dump(mode="json") for c, r in results.items() if c not in sells],
    }
