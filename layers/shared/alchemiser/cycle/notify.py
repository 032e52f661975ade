"""Notify and NotifyFailure: one email and one HTML report per run; the run's final status."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.models import FailureNotice, NotifyRequest, NotifyResult
from alchemiser.ledger.models import RunStatus
from alchemiser.notify.port import Message
from alchemiser.reporting.report import RunReport, render_failure_report, render_report
from alchemiser.runtime import Dependencies


def notify(
    request: NotifyRequest, deps: Dependencies, context: LambdaContext | None = None
) -> NotifyResult:
    """Store the run's report, send the email, and mark the day traded."""
    deps.faults.enter("Notify")
    report = render_report(
        request.plan, request.orders, request.reconcile, data_source=request.plan.data_source
    )
    result = _publish(report, f"reports/{request.run_id}.html", deps)
    _finish(request.run_id, RunStatus.COMPLETED, report.subject, deps)
    return result


def blocked_reason(request: NotifyRequest) -> str:
    """Return why a run that succeeded traded nothing (kill switch, drift), or '' if it was not."""
    reasons = (request.plan.blocked_reason, request.orders.blocked_reason)
    return "; ".join(dict.fromkeys(r for r in reasons if r))


def notify_failure(
    notice: FailureNotice, deps: Dependencies, context: LambdaContext | None = None
) -> NotifyResult:
    """Tell the operator which state failed and why; leave the run re-runnable."""
    run = deps.ledger.get_run(notice.run_id)
    report = render_failure_report(notice, run=run)
    result = _publish(report, f"reports/{notice.run_id}.failure.html", deps)
    _finish(notice.run_id, RunStatus.FAILED, f"{notice.error}: {notice.cause}"[:500], deps)
    return result


def _publish(report: RunReport, key: str, deps: Dependencies) -> NotifyResult:
    """Store the report's HTML under ``key`` and send its email with a link to it."""
    deps.store.put_bytes(key, report.html.encode(), "text/html; charset=utf-8")
    location = deps.store.locate(key)
    message_id = deps.notifier.send(
        Message(
            subject=report.subject,
            text=f"{report.text}\n\nFull report: {location}\n",
            html=report.html,
            run_id=report.run_id,
        )
    )
    return NotifyResult(run_id=report.run_id, report_key=location, message_id=message_id)


def _finish(run_id: str, status: RunStatus, message: str, deps: Dependencies) -> None:
    run = deps.ledger.get_run(run_id)
    if run is None:
        return  # failed before the run was recorded (e.g. bad configuration): nothing to update
    deps.ledger.put_run(
        run.model_copy(
            update={"status": status, "updated_at": deps.clock.now(), "message": message}
        )
    )
