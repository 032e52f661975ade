"""Notify and NotifyFailure: one email and one HTML report per run; the run's final status.

Notify ends a successful execution: it refreshes the live dashboard
(``alchemiser.analytics.publish``), sends the email (the day's summary, its chart and the
dashboard's link above the report), and the day is COMPLETED, or BLOCKED when the kill
switch, drift or a limit kept it from trading (a re-run may then trade it).
NotifyFailure is not a state: an EventBridge rule invokes it when an execution ends
FAILED, TIMED_OUT or ABORTED (locally the runner does the same). It says which state
the execution stopped at and why, and releases the day (FAILED) if that execution
still owned it, so a re-run or a redrive can finish the day at once.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.artifacts import RunArtifacts, get_model
from alchemiser.cycle.days import MARKET_TIMEZONE
from alchemiser.cycle.messages import ExecutionStatusChange, NotifyRequest
from alchemiser.cycle.models import FailureNotice, NotifyResult, OrderPlan
from alchemiser.cycle.retry import run_of_execution
from alchemiser.execution.limits import kill_switch_reason
from alchemiser.ledger.models import RunStatus
from alchemiser.notify.port import InlineImage, Message
from alchemiser.reporting.report import RunReport, render_failure_report, render_report
from alchemiser.runtime import Dependencies

if TYPE_CHECKING:  # numpy: loaded only when Notify builds them
    from alchemiser.analytics.publish import PublishedSite
    from alchemiser.reporting.digest import Digest


def notify(
    request: NotifyRequest, deps: Dependencies, context: LambdaContext | None = None
) -> NotifyResult:
    """Store the run's report, send the email, and settle the day (traded, or blocked)."""
    deps.faults.enter("Notify")
    artifacts = RunArtifacts(deps.store, request.run_id)
    day = artifacts.day()
    orders = get_model(deps.store, request.plan_key, OrderPlan)
    reconciled = artifacts.reconcile()
    # numpy and the pages load here, not when the handler starts (NotifyFailure shares
    # this module and loads neither)
    from alchemiser.analytics.publish import refresh_dashboard

    site, problem = refresh_dashboard(deps, day.stage)
    report = render_report(
        day, orders, reconciled, data_source=day.data_source, hedge=artifacts.hedge()
    )
    dashboard = site.index if site is not None else problem
    summary = _digest(site, dashboard) if site is not None else None
    result = _publish(
        report, f"reports/{request.run_id}.html", deps, dashboard=dashboard, digest=summary
    )
    blocked = blocked_reason(orders.blocked_reason, deps)
    status = RunStatus.BLOCKED if blocked else RunStatus.COMPLETED
    deps.ledger.finish_run(
        request.run_id, request.execution_arn, status, report.subject, deps.clock.now()
    )
    return result.model_copy(update={"stage": day.stage, "blocked_reason": blocked})


def blocked_reason(plan_blocked_reason: str, deps: Dependencies) -> str:
    """Return why a run that succeeded did not trade (all of it): the kill switch, drift or a
    limit in its plan, or the kill switch turned on while it ran ('' when neither)."""
    switch = kill_switch_reason(deps.settings, deps.ledger.kill_switch())
    return "; ".join(dict.fromkeys(r for r in (plan_blocked_reason, switch) if r))


def notify_execution_ended(
    event: ExecutionStatusChange, deps: Dependencies, context: LambdaContext | None = None
) -> NotifyResult:
    """Email which state a failed, timed-out or aborted execution stopped at; release its day."""
    detail = event.detail
    run_id = run_of_execution(deps.settings.stage, _trading_day(event), detail.execution_arn, deps)
    run = deps.ledger.get_run(run_id)
    notice = FailureNotice(
        run_id=run_id,
        execution_name=detail.name,
        stage=deps.settings.stage,
        status=detail.status,
        failed_state=deps.executions.failed_state(detail.execution_arn),
        error=detail.error or f"States.{detail.status}",
        cause=detail.cause or "",
    )
    report = render_failure_report(notice, run=run)
    result = _publish(report, f"reports/{run_id}.failure.html", deps)
    message = f"{detail.status} at {notice.failed_state or 'an unknown state'}: {notice.error}"
    deps.ledger.finish_run(
        run_id, detail.execution_arn, RunStatus.FAILED, message[:500], deps.clock.now()
    )
    return result


def _trading_day(event: ExecutionStatusChange) -> date:
    """Return the day the execution ran: the replayed day of its input, else its start day."""
    try:
        options = json.loads(event.detail.input or "{}")
    except json.JSONDecodeError:
        options = {}
    if isinstance(options, dict) and isinstance(options.get("trading_date"), str):
        return date.fromisoformat(options["trading_date"])
    return event.detail.start_date.astimezone(MARKET_TIMEZONE).date()


def _digest(site: PublishedSite, dashboard: str) -> Digest:
    """Return the email's summary; without its chart when the chart cannot be drawn."""
    from alchemiser.reporting.digest import build_digest

    try:
        return build_digest(site.history, site.benchmark, dashboard, comparisons=site.comparisons)
    except (ImportError, OSError, ValueError) as error:
        plain = build_digest(
            site.history, site.benchmark, dashboard, comparisons=site.comparisons, chart=False
        )
        note = f"The chart could not be drawn: {type(error).__name__}: {error}"
        return replace(plain, text=f"{plain.text}{note}\n", html=f"{plain.html}<p>{note}</p>")


def _publish(
    report: RunReport,
    key: str,
    deps: Dependencies,
    *,
    dashboard: str = "",
    digest: Digest | None = None,
) -> NotifyResult:
    """Store the report's HTML under ``key`` and send its email with a link to it.

    A ``digest`` (the account, the books, a chart and the dashboard) goes above the report.
    """
    deps.store.put_bytes(key, report.html.encode(), "text/html; charset=utf-8")
    location = deps.store.locate(key)
    links = f"Full report: {location}\n" + (f"Dashboard: {dashboard}\n" if dashboard else "")
    text, body = report.text, report.html
    images: tuple[InlineImage, ...] = ()
    if digest is not None:
        text = f"{digest.text}\n{text}"
        body = body.replace("<body>", f"<body>{digest.html}", 1)
        images = digest.images
    message_id = deps.notifier.send(
        Message(
            subject=report.subject,
            text=f"{text}\n\n{links}",
            html=body,
            run_id=report.run_id,
            images=images,
        )
    )
    return NotifyResult(
        run_id=report.run_id, report_key=location, message_id=message_id, dashboard=dashboard
    )
