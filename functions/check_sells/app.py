"""CheckSells: Circuit breaker between the SELL and BUY phases."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.execute import check_sells
from alchemiser.cycle.messages import PlanRef
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=PlanRef)
def lambda_handler(event: PlanRef, context: LambdaContext) -> dict[str, Any]:
    result = check_sells(event, current(), context)
    metrics.add_metric(
        name="BuyPhaseBlocked", unit=MetricUnit.Count, value=0 if result.buys_allowed else 1
    )
    return result.model_dump(mode="json")
