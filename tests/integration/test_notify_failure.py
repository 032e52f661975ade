"""NotifyFailure, as the EventBridge rule invokes it on a failed execution (events/ sample)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from alchemiser.cycle.faults import FaultPlan
from alchemiser.executions.port import NoOtherExecutions
from alchemiser.ledger.models import RunRecord, RunStatus
from alchemiser.local.environment import books_of, build_local_dependencies, open_market
from alchemiser.local.lambda_invoke import InProcessLambda
from alchemiser.local.template import local_state_machine
from alchemiser.runtime import installed
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import make_settings

EVENT = json.loads((REPO_ROOT / "events" / "notify_failure.json").read_text())
RUN_ID = "cycle-2026-07-31-dev"
DAY = date(2026, 7, 31)
ARN = EVENT["detail"]["executionArn"]
CLAIMED = datetime(2026, 7, 31, 13, 0, tzinfo=UTC)


def invoke(tmp_path: Path, owner: str) -> tuple[dict[str, Any], Any]:
    """Invoke the deployed handler with the sample event, the day claimed by ``owner``."""
    settings = make_settings(tmp_path / "home")
    market = open_market(settings, books_of(settings), DAY)
    executions = NoOtherExecutions()
    executions.ended(ARN, "EvaluateBooks")
    deps = replace(
        build_local_dependencies(settings, market, DAY, CLAIMED, FaultPlan()),
        executions=executions,
    )
    deps.ledger.put_run(
        RunRecord(
            run_id=RUN_ID,
            stage="dev",
            trading_date=DAY,
            status=RunStatus.STARTED,
            started_at=CLAIMED,
            updated_at=CLAIMED,
            execution_name=owner.rsplit(":", 1)[-1],
            execution_arn=owner,
        )
    )
    machine = local_state_machine(REPO_ROOT, "dev")
    target = machine.status_targets[0]
    context = InProcessLambda({}, region="us-east-1", account_id="123456789012").context_for(
        target.function_name
    )
    with installed(deps):
        result = target.handler(EVENT, context)
    return result, deps


def test_a_failed_execution_is_emailed_with_its_state_and_error_and_releases_the_day(
    tmp_path: Path,
) -> None:
    # Given the day claimed by the execution that then failed
    result, deps = invoke(tmp_path, ARN)
    # Then the report names the run, the state it stopped at and the error
    report = Path(result["report_key"]).read_text()
    assert result["run_id"] == RUN_ID
    assert "EvaluateBooks" in report and "DataError" in report and "5 trading days stale" in report
    # And the day is released: FAILED, so a re-run may claim it at once
    record = deps.ledger.get_run(RUN_ID)
    assert record is not None and record.status is RunStatus.FAILED
    assert record.message.startswith("FAILED at EvaluateBooks: DataError")


def test_a_late_report_of_an_execution_that_lost_the_day_releases_nothing(
    tmp_path: Path,
) -> None:
    # Given the day now claimed by another execution
    other = ARN.rsplit(":", 1)[0] + ":a-later-execution"
    _, deps = invoke(tmp_path, other)
    # Then the failed execution's email goes out, but the other's claim stands
    record = deps.ledger.get_run(RUN_ID)
    assert record is not None and record.status is RunStatus.STARTED
    assert record.execution_arn == other


@pytest.mark.parametrize("status", ["TIMED_OUT", "ABORTED"])
def test_the_rule_sends_timed_out_and_aborted_executions_too(status: str) -> None:
    machine = local_state_machine(REPO_ROOT, "dev")
    assert status in machine.status_targets[0].statuses
