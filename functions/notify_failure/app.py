"""NotifyFailure: On a failed, timed-out or aborted execution, say where and why; release the day."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.messages import ExecutionStatusChange
from alchemiser.cycle.notify import notify_execution_ended
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="detail.name")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ExecutionStatusChange)
def lambda_handler(event: ExecutionStatusChange, context: LambdaContext) -> dict[str, Any]:
    result = notify_execution_ended(event, current(), context)
    metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=1)
    return result.model_dump(mode="json")
