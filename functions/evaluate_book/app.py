"""EvaluateBook: Evaluate one book's symphony as of today and store that book's rebalance plan."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.evaluate_book import evaluate_book
from alchemiser.cycle.messages import BookRef
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BookRef)
def lambda_handler(event: BookRef, context: LambdaContext) -> dict[str, Any]:
    result = evaluate_book(event, current(), context)
    metrics.add_metric(name="BookTradesPlanned", unit=MetricUnit.Count, value=result.trades)
    return result.model_dump(mode="json")
