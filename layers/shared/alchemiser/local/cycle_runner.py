"""``alchemiser run``: the deployed state machine, executed in-process on one machine.

The runner reads ``statemachines/daily_cycle.asl.json`` and ``template.yaml``, installs
the embedded adapters, and lets moto's Step Functions interpreter run the definition;
every Lambda task is answered by the handler in ``functions/<step>/app.py`` with its
function's real timeout in its context. Waits and retry back-offs are skipped (a
replay of a past day has nothing to wait for). What the handlers print (Powertools'
metric lines) is kept off stdout and saved beside the history; their logs go to stderr
(``alchemiser.local.handler_output``).

One run holds its home's lock throughout (`alchemiser.local.home_lock`): step records a
dead run left in progress are expired first, and the run ends only once no handler is
still working (a failed Map's other iterations finish first). When the execution ends
FAILED, TIMED_OUT or ABORTED, the runner does what the template's EventBridge rule does
on AWS: it invokes NotifyFailure with the status-change event. moto cannot redrive, so
re-running a failed day starts again from PlanCycle; every step is idempotent.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alchemiser.broker.simulated_market import trading_session
from alchemiser.cycle.days import run_id_for
from alchemiser.cycle.faults import FaultPlan
from alchemiser.executions.port import Executions, NoOtherExecutions
from alchemiser.ledger.port import Ledger
from alchemiser.local.asl_runner import ExecutionResult, LocalStepFunctions
from alchemiser.local.environment import (
    books_of,
    build_local_dependencies,
    open_local_home,
    open_market,
    run_time_of,
    trading_day,
)
from alchemiser.local.handler_output import route_logs_to_stderr, stdout_captured
from alchemiser.local.home_lock import home_lock, recover
from alchemiser.local.status_events import (
    failed_state,
    status_change_event,
    task_states_by_function,
)
from alchemiser.local.template import (
    LocalStateMachine,
    clear_handler_metrics,
    local_state_machine,
)
from alchemiser.runtime import installed
from alchemiser.settings import Settings
from alchemiser.storage.port import ObjectStore

RUN_DEADLINE_S = 600.0  # a local run (and its handlers) must end within this

# Powertools reads these when a handler module is first imported: quiet, untraced, no EMF.
_POWERTOOLS_LOCAL = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_SERVICE_NAME": "alchemiser",
}


@dataclass(frozen=True)
class LocalRun:
    run_id: str
    trading_date: date
    execution: ExecutionResult
    history_path: Path
    synthetic_market: bool
    data_source: str
    home: Path
    store: ObjectStore  # where the run's steps stored their outputs
    ledger: Ledger
    recovered: tuple[str, ...] = ()  # what was done about a run that died on this home

    @property
    def state(self) -> dict[str, Any]:
        """Return the execution's final state (its output, or the last state's input on failure)."""
        if isinstance(self.execution.output, dict):
            return self.execution.output
        for event in reversed(self.execution.history):
            if isinstance(event.input, dict) and "plan" in event.input:
                return event.input
        return {}


def run_cycle(
    settings: Settings,
    project_root: Path,
    *,
    day: date | None = None,
    today: date | None = None,
    faults: FaultPlan | None = None,
    cash: Decimal | None = None,
) -> LocalRun:
    """Run one trading day of the cycle locally and save its execution history.

    ``cash`` is the opening cash of a new home's account (refused once it exists). Raise
    `alchemiser.local.home_lock.HomeInUseError` when another run holds the home.
    """
    today = today or date.today()
    settings = open_local_home(settings, cash)
    books = books_of(settings)
    market = open_market(settings, books, today)
    run_day = trading_day(market.history, day, today)
    run_id = run_id_for(settings.stage, run_day)
    run_time = run_time_of(trading_session(run_day).close, settings)
    for name, value in _POWERTOOLS_LOCAL.items():
        os.environ.setdefault(name, value)
    logging.getLogger("moto").setLevel(
        logging.CRITICAL
    )  # it logs every caught state failure as ERROR
    with home_lock(settings.home) as lock:
        recovered = recover(lock)
        deps = build_local_dependencies(settings, market, run_day, run_time, faults or FaultPlan())
        with installed(deps), stdout_captured() as captured:
            machine = local_state_machine(project_root, settings.stage)
            route_logs_to_stderr(_POWERTOOLS_LOCAL["POWERTOOLS_SERVICE_NAME"])
            try:
                execution = _execute(machine, run_id, run_day, deps.executions)
            finally:
                clear_handler_metrics()
        path = _save_history(settings.home / "runs" / run_id, execution, captured.getvalue())
    return LocalRun(
        run_id,
        run_day,
        execution,
        path,
        market.synthetic,
        market.data.describe(),
        settings.home,
        deps.store,
        deps.ledger,
        tuple(recovered),
    )


def _execute(
    machine: LocalStateMachine, run_id: str, run_day: date, executions: Executions
) -> ExecutionResult:
    """Run the execution to its end, let every handler finish, then emulate the status rule."""
    input_json = json.dumps({"trading_date": run_day.isoformat()})
    with LocalStepFunctions(
        machine.definition,
        machine.substitutions,
        machine.handlers,
        time_scale=0.0,
        timeout_s=RUN_DEADLINE_S,
        lambda_timeouts=machine.timeouts,
    ) as session:
        execution = session.start(run_id, json.loads(input_json))
        session.lambdas.wait_idle(RUN_DEADLINE_S)
        for target in machine.status_targets:
            if execution.status not in target.statuses:
                continue
            if isinstance(executions, NoOtherExecutions):
                tasks = task_states_by_function(session.definition)
                where = failed_state(execution, session.lambdas.raised, tasks)
                executions.ended(execution.execution_arn, where)
            event = status_change_event(execution, session.state_machine_arn, input_json)
            target.handler(event, session.lambdas.context_for(target.function_name))
    return execution


def _save_history(folder: Path, execution: ExecutionResult, handler_output: str) -> Path:
    """Write this attempt's history (and what its handlers printed), numbered after earlier ones."""
    folder.mkdir(parents=True, exist_ok=True)
    attempt = len(list(folder.glob("attempt-*.json"))) + 1
    path = folder / f"attempt-{attempt}.json"
    if handler_output:
        path.with_suffix(".log").write_text(handler_output, encoding="utf-8")
    payload = {
        "execution": execution.name,
        "status": execution.status,
        "error": execution.error,
        "cause": execution.cause,
        "states_entered": execution.states_entered(),
        "events": [_event(e) for e in execution.history],
    }
    path.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    return path


def _event(event: Any) -> dict[str, Any]:
    return {
        "id": event.id,
        "timestamp": event.timestamp.isoformat()
        if isinstance(event.timestamp, datetime)
        else str(event.timestamp),
        "type": event.type,
        "state": event.state_name,
        "input": event.input,
        "output": event.output,
        "error": event.error,
        "cause": event.cause,
    }
