"""``alchemiser run``: the deployed state machine, executed in-process on one machine.

The runner reads ``statemachines/daily_cycle.asl.json`` and ``template.yaml``, installs
the embedded adapters, and lets moto's Step Functions interpreter run the definition;
every Lambda task is answered by the handler in ``functions/<step>/app.py``. Waits and
retry back-offs are skipped (a replay of a past day has nothing to wait for). What the
handlers print (Powertools' metric lines) is kept off stdout and saved beside the
history; their logs go to stderr (``alchemiser.local.handler_output``).
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
from alchemiser.cycle.faults import FaultPlan
from alchemiser.local.asl_runner import ExecutionResult, run_state_machine
from alchemiser.local.environment import (
    books_of,
    build_local_dependencies,
    open_local_home,
    open_market,
    run_time_of,
    trading_day,
)
from alchemiser.local.handler_output import route_logs_to_stderr, stdout_captured
from alchemiser.local.template import clear_handler_metrics, local_state_machine
from alchemiser.runtime import installed
from alchemiser.settings import Settings

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

    ``cash`` is the opening cash of a new home's account (refused once it exists).
    """
    today = today or date.today()
    settings = open_local_home(settings, cash)
    books = books_of(settings)
    market = open_market(settings, books, today)
    run_day = trading_day(market.history, day, today)
    run_id = f"cycle-{run_day.isoformat()}-{settings.stage}"
    run_time = run_time_of(trading_session(run_day).close, settings)
    deps = build_local_dependencies(settings, market, run_day, run_time, faults or FaultPlan())
    for name, value in _POWERTOOLS_LOCAL.items():
        os.environ.setdefault(name, value)
    logging.getLogger("moto").setLevel(
        logging.CRITICAL
    )  # it logs every caught state failure as ERROR
    with installed(deps), stdout_captured() as captured:
        machine = local_state_machine(project_root, settings.stage)
        route_logs_to_stderr(_POWERTOOLS_LOCAL["POWERTOOLS_SERVICE_NAME"])
        try:
            execution = run_state_machine(
                machine.definition,
                machine.substitutions,
                machine.handlers,
                {"trading_date": run_day.isoformat()},
                run_id,
                time_scale=0.0,
            )
        finally:
            clear_handler_metrics()
    path = _save_history(settings.home / "runs" / run_id, execution, captured.getvalue())
    return LocalRun(
        run_id, run_day, execution, path, market.synthetic, market.data.describe(), settings.home
    )


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
