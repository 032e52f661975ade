"""Run a step's computation once per key, with Powertools Idempotency.

A re-run (redrive) of a failed day must plan exactly what the first attempt
planned, even though prices and the account have moved since: the first
successful result of a step is stored under its key and returned again. A failed
attempt stores nothing, so retries recompute.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from alchemiser.runtime import Dependencies

RETENTION_SECONDS = 14 * 24 * 3600  # long enough to redrive a failed day a week later


def run_once[In: BaseModel, Out: BaseModel](
    deps: Dependencies,
    step: str,
    data: In,
    compute: Callable[[In], Out],
    *,
    key: str,
    output: type[Out],
    context: LambdaContext | None = None,
) -> Out:
    """Return ``compute(data)``, or the result stored for the same ``key`` (a JMESPath on data)."""
    config = IdempotencyConfig(
        event_key_jmespath=key,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RETENTION_SECONDS,
    )
    if context is not None:
        config.register_lambda_context(context)

    def body(data: In) -> Out:
        return compute(data)

    once = idempotent_function(
        body,
        data_keyword_argument="data",
        persistence_store=deps.idempotency(),
        config=config,
        output_serializer=PydanticSerializer(output),
        key_prefix=f"alchemiser.{deps.settings.stage}.{step}",
    )
    result: Out = once(data=data)
    return result
