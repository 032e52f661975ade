"""How long each step of the daily cycle may run: one number per step, derived here.

``FUNCTION_TIMEOUT_S`` is each function's Lambda ``Timeout`` (template.yaml sets exactly
these). Everything else follows from it, and tests check that the template, the state
machine and the settings agree with this module:

* the Task's ``TimeoutSeconds`` is the function's timeout plus ``TASK_TIMEOUT_MARGIN_S``,
  so Lambda always ends a slow invocation itself (``Lambda.Unknown``, caught or failed
  at that state) before Step Functions stops waiting for it: an invocation never keeps
  running after its state has given up on it;
* a crashed invocation leaves its Powertools idempotency record IN PROGRESS until the
  function's timeout has passed (Powertools sets that expiry from the Lambda context's
  remaining time), so ``IdempotencyAlreadyInProgressError`` is retried with back-offs
  whose sum outlasts the function's timeout (``in_progress_retry``);
* the ExecuteOrder walk must fit in ``walk_budget_s(walk_margin_s)``: the function's
  timeout less the margin the walk keeps to record its result (the setting
  ``walk_margin_s``, which the walk also takes off the Lambda context's remaining time).
"""

from __future__ import annotations

import math
from typing import Any, Final

FUNCTION_TIMEOUT_S: Final[dict[str, int]] = {
    "PlanCycle": 300,  # refreshes every ticker's closes from Alpaca before checking them
    "EvaluateBook": 300,
    "PlanOrders": 120,
    "ExecuteOrder": 300,  # one walk of the book (limit steps, then market)
    "CheckSells": 120,
    "HedgePlan": 300,  # every live book's symphony over its history (the exposure), closes
    "HedgeExecute": 600,  # a roll is up to two walks of option orders (close, then open)
    "Reconcile": 300,
    "Notify": 120,
    "NotifyFailure": 60,
}
TASK_TIMEOUT_MARGIN_S: Final = 30
IN_PROGRESS_ERROR: Final = "IdempotencyAlreadyInProgressError"
IN_PROGRESS_ATTEMPTS: Final = 3
IN_PROGRESS_BACKOFF: Final = 2.0


def function_timeout_s(step: str) -> int:
    """Return the Lambda timeout of ``step``'s function (seconds)."""
    try:
        return FUNCTION_TIMEOUT_S[step]
    except KeyError:
        raise KeyError(
            f"no timeout for step {step!r}; steps: {', '.join(FUNCTION_TIMEOUT_S)}"
        ) from None


def task_timeout_s(step: str) -> int:
    """Return the ``TimeoutSeconds`` of the Task state that invokes ``step``'s function."""
    return function_timeout_s(step) + TASK_TIMEOUT_MARGIN_S


def in_progress_retry(step: str) -> dict[str, Any]:
    """Return the Retry rule for an idempotency record held by an invocation that died.

    The first two waits (half the timeout, then the timeout) already add up to more
    than the function's timeout, after which Powertools lets the record be taken over;
    no jitter, so the waits are never shorter than that.
    """
    return {
        "ErrorEquals": [IN_PROGRESS_ERROR],
        "IntervalSeconds": math.ceil(function_timeout_s(step) / 2),
        "MaxAttempts": IN_PROGRESS_ATTEMPTS,
        "BackoffRate": IN_PROGRESS_BACKOFF,
    }


def retry_waits_s(rule: dict[str, Any]) -> list[float]:
    """Return the waits before each retry of a Retry rule without jitter (seconds)."""
    interval = float(rule.get("IntervalSeconds", 1))
    rate = float(rule.get("BackoffRate", 2.0))
    cap = float(rule.get("MaxDelaySeconds", math.inf))
    return [min(interval * rate**n, cap) for n in range(int(rule.get("MaxAttempts", 3)))]


def walk_budget_s(walk_margin_s: float) -> float:
    """Return the longest one ExecuteOrder walk may take, inside its function's timeout."""
    return function_timeout_s("ExecuteOrder") - walk_margin_s
