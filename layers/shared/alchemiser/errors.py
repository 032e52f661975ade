"""Named errors the state machine routes on.

Step Functions matches ``Retry``/``Catch`` ``ErrorEquals`` against the *class name*
of the exception a handler raises (Lambda's ``errorType``), not its base classes,
so every retryable condition raises exactly one of the names in ``RETRYABLE``.
``IdempotencyAlreadyInProgressError`` (a step's record held by an invocation that may
have died) has its own, slower Retry rule: ``alchemiser.cycle.timeouts.in_progress_retry``.
"""

from __future__ import annotations


class TransientError(Exception):
    """A condition that may pass on its own (throttling, timeouts, 5xx): retry the step."""


class DataError(Exception):
    """Market data is missing, stale or suspicious: fail closed, nothing trades."""


class ConfigurationError(Exception):
    """Books, strategies or settings are invalid: fix the configuration, then redrive."""


class InjectedCrashError(Exception):
    """A non-retryable failure injected by ``alchemiser run --crash-at`` (drills)."""


RETRYABLE: tuple[str, ...] = (
    "TransientError",
    "TransientBrokerError",
    "IdempotencyInconsistentStateError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
