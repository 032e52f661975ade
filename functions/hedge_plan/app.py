"""HedgePlan: the hedge's policy, the day's exposure (every book's symphony) and the closes it needs."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.hedge_plan import plan_hedge
from alchemiser.cycle.messages import RunRef
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=RunRef)
def lambda_handler(event: RunRef, context: LambdaContext) -> dict[str, Any]:
    return plan_hedge(event, current(), context).model_dump(mode="json")
