"""HedgeExecute: the hedge book's day on HedgePlan's plan (mark, roll, buy), fail closed."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.hedge_step import hedge
from alchemiser.cycle.messages import HedgePlanRef
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=HedgePlanRef)
def lambda_handler(event: HedgePlanRef, context: LambdaContext) -> dict[str, Any]:
    result = hedge(event, current(), context)
    metrics.add_metric(name="HedgeOrders", unit=MetricUnit.Count, value=result.option_orders)
    return result.model_dump(mode="json")
