"""Notify: Send the run's email and store its HTML report; mark the day traded."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.models import NotifyRequest
from alchemiser.cycle.notify import blocked_reason, notify
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=NotifyRequest)
def lambda_handler(event: NotifyRequest, context: LambdaContext) -> dict[str, Any]:
    result = notify(event, current(), context)
    metrics.add_dimension(name="stage", value=event.plan.stage)
    metrics.add_metric(name="RunsNotified", unit=MetricUnit.Count, value=1)
    # 1 raises the run-blocked alarm: the run succeeded but the kill switch or drift stopped it.
    blocked = 1 if blocked_reason(event) else 0
    metrics.add_metric(name="RunsBlocked", unit=MetricUnit.Count, value=blocked)
    return result.model_dump(mode="json")
