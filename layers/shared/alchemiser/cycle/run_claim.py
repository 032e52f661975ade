"""Who runs a day: one execution claims it with one conditional write, and settles it.

A day's run record names the execution that claimed it (``execution_arn``). PlanCycle
claims the day unless another execution that is *still running* holds it; "still
running" is asked of the executions port (DescribeExecution on AWS; locally the
home's lock guarantees that nothing else runs), so an execution that failed, timed
out or was aborted never locks the day. Two executions that claim together both
write "attempts + 1" conditioned on the attempts they read: exactly one succeeds,
and the other places nothing. Notify, NotifyFailure and the next day's late
reconciliation settle the run only while the execution they speak for still owns it.
"""

from __future__ import annotations

from datetime import date

from alchemiser.cycle.models import CycleRequest
from alchemiser.ledger.models import RunRecord, RunStatus
from alchemiser.runtime import Dependencies


def claim_day(request: CycleRequest, run_id: str, day: date, deps: Dependencies) -> str:
    """Claim the day for this execution; return why it may not ('' when it is claimed)."""
    current = deps.ledger.get_run(run_id)
    busy = owned_elsewhere(current, request, deps)
    if busy:
        return busy
    now = deps.clock.now()
    claim = RunRecord(
        run_id=run_id,
        stage=request.stage,
        trading_date=day,
        status=RunStatus.STARTED,
        started_at=current.started_at if current is not None else now,
        updated_at=now,
        attempts=current.attempts + 1 if current is not None else 1,
        message=_message(current),
        execution_name=request.execution_name,
        execution_arn=request.execution_arn,
    )
    if deps.ledger.claim_run(claim, current.attempts if current is not None else 0):
        return ""
    winner = deps.ledger.get_run(run_id)
    who = winner.execution_name if winner is not None else "another execution"
    return f"execution {who} claimed {run_id} at the same moment; this execution places nothing"


def owned_elsewhere(current: RunRecord | None, request: CycleRequest, deps: Dependencies) -> str:
    """Return why another live execution owns the day ('' when none does)."""
    if current is None or current.status is not RunStatus.STARTED:
        return ""
    if _same_execution(current, request):
        return ""  # a retry of PlanCycle, a redrive, or (locally) the re-run of a dead process
    if not current.execution_arn or not deps.executions.is_running(current.execution_arn):
        return ""  # it ended without settling the day (killed, timed out, aborted): take over
    return (
        f"execution {current.execution_name} is already running {current.run_id} "
        f"(claimed {current.updated_at:%Y-%m-%d %H:%M} UTC); this execution places nothing"
    )


def _same_execution(current: RunRecord, request: CycleRequest) -> bool:
    if current.execution_arn and request.execution_arn:
        return current.execution_arn == request.execution_arn
    return current.execution_name == request.execution_name


def _message(current: RunRecord | None) -> str:
    if current is None:
        return ""
    if current.status is RunStatus.STARTED:
        return f"took over from execution {current.execution_name}, which ended without settling"
    return f"re-run of a {current.status.value} run"
