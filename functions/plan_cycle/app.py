"""PlanCycle: Plan the day: calendar, run record, kill switch, books, data freshness, account equity."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.models import CycleRequest
from alchemiser.cycle.plan_cycle import plan_cycle
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="execution_name")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=CycleRequest)
def lambda_handler(event: CycleRequest, context: LambdaContext) -> dict[str, Any]:
    result = plan_cycle(event, current(), context)
    metrics.add_dimension(name="stage", value=result.stage)
    # Every day decided (closed days too): the no-cycle alarm watches for its absence.
    metrics.add_metric(name="CyclesPlanned", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="BooksPlanned", unit=MetricUnit.Count, value=len(result.books))
    return result.model_dump(mode="json")
