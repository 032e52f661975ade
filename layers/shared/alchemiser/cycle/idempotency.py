"""Run a step's computation once per key, with Powertools Idempotency.

A re-run (redrive) of a failed day must plan exactly what the first attempt
planned, even though prices and the account have moved since: the first
successful result of a step is stored under its key and returned again. A failed
attempt stores nothing, so retries recompute; so does a result the step marks
``Uncached`` (a blocked day: once trading is allowed again, the re-run plans it).

While a step runs, its record is IN PROGRESS until the invocation's deadline (the
Lambda context's remaining time; a direct library call gets its step's function
timeout). A duplicate before then raises ``IdempotencyAlreadyInProgressError``,
which the state machine retries past that deadline (``alchemiser.cycle.timeouts``);
the local runner expires the records of a process that died (``alchemiser.local``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from alchemiser.cycle.artifacts import get_model, put_model
from alchemiser.cycle.timeouts import function_timeout_s
from alchemiser.runtime import Dependencies

RETENTION_SECONDS = 14 * 24 * 3600  # long enough to redrive a failed day a week later


class Uncached[Out: BaseModel](Exception):  # noqa: N818 - a result carrier, not an error
    """Raised by a step's computation to return ``result`` without storing it."""

    def __init__(self, result: Out) -> None:
        super().__init__("result not stored")
        self.result = result


class StepDeadline:
    """A Lambda context stand-in for a direct library call: the step's function timeout."""

    def __init__(self, step: str) -> None:
        self._deadline = time.monotonic() + function_timeout_s(step)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _StoredAt(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str


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
    """Return ``compute(data)``, or the result stored for the same ``key`` (a JMESPath on data).

    ``compute`` may raise `Uncached` to return a result that a later call recomputes.
    """
    try:
        return _idempotent(deps, step, data, compute, key, output, context)
    except Uncached as uncached:
        return cast(Out, uncached.result)


def _idempotent[In: BaseModel, Out: BaseModel](
    deps: Dependencies,
    step: str,
    data: In,
    compute: Callable[[In], Out],
    key: str,
    output: type[Out],
    context: LambdaContext | None,
) -> Out:
    config = IdempotencyConfig(
        event_key_jmespath=key,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RETENTION_SECONDS,
    )
    config.register_lambda_context(
        context if context is not None else cast(LambdaContext, StepDeadline(step))
    )

    def body(data: In) -> Out:
        deps.faults.inside(step)
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


def run_once_stored[In: BaseModel, Out: BaseModel](
    deps: Dependencies,
    step: str,
    data: In,
    compute: Callable[[In], Out],
    *,
    key: str,
    artifact_key: str,
    output: type[Out],
    context: LambdaContext | None = None,
) -> Out:
    """Like `run_once`, but keep the (possibly large) result in the object store.

    The idempotency record holds only ``artifact_key``; the first successful call writes
    the result there before its record completes, and later calls read it back.
    """

    def compute_and_store(data: In) -> _StoredAt:
        put_model(deps.store, artifact_key, compute(data))
        return _StoredAt(key=artifact_key)

    try:
        stored = _idempotent(deps, step, data, compute_and_store, key, _StoredAt, context)
    except Uncached as uncached:
        return cast(Out, uncached.result)
    return get_model(deps.store, stored.key, output)
