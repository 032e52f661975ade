"""Reconcile: Record fills per book (FIFO lots), snapshot books, compute P&L and drift."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.cycle.messages import ReconcileRequest
from alchemiser.cycle.reconcile import reconcile
from alchemiser.runtime import current

logger = Logger(service="alchemiser")
tracer = Tracer(service="alchemiser")
metrics = Metrics(namespace="Alchemiser", service="alchemiser")


@logger.inject_lambda_context(correlation_id_path="run_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ReconcileRequest)
def lambda_handler(event: ReconcileRequest, context: LambdaContext) -> dict[str, Any]:
    result = reconcile(event, current(), context)
    metrics.add_metric(name="DriftLines", unit=MetricUnit.Count, value=result.drift_lines)
    return result.model_dump(mode="json")
