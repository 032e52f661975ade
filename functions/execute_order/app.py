"""ExecuteOrder: Walk the book for one netted order (limit steps, then market)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.execute import execute_net_order
from alchemiser.cycle.models import ExecuteOrderEvent
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ExecuteOrderEvent)
def lambda_handler(event: ExecuteOrderEvent, context: LambdaContext) -> dict[str, Any]:
    result = execute_net_order(event.request, current(), context)
    metrics.add_metric(name="SharesFilled", unit=MetricUnit.Count, value=float(result.filled_qty))
    return result.model_dump(mode="json")
