"""One timeout per step: the walk's budget, the local Lambda contexts and the template agree."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from alchemiser.cycle.timeouts import (
    FUNCTION_TIMEOUT_S,
    function_timeout_s,
    in_progress_retry,
    retry_waits_s,
    walk_budget_s,
)
from alchemiser.local.template import local_state_machine
from alchemiser.settings import Settings
from tests.conftest import REPO_ROOT


def test_the_walk_budget_is_the_execute_order_timeout_less_the_walks_margin() -> None:
    settings = Settings()
    budget = walk_budget_s(settings.walk_margin_s)
    assert budget == FUNCTION_TIMEOUT_S["ExecuteOrder"] - settings.walk_margin_s
    # and the default walk (every step waited out, then as long again to cancel) fits it
    worst = (len(settings.limit_steps) + 1) * 2 * settings.step_timeout_s
    assert worst <= budget


def test_a_walk_longer_than_its_function_may_run_is_refused() -> None:
    # Given step timeouts that would walk past the ExecuteOrder function's timeout
    budget = walk_budget_s(15)
    too_slow = budget / 8 + 1  # 3 limit steps + market, twice each
    # Then the settings are refused, naming the budget and where it comes from
    with pytest.raises(ValidationError, match=f"must fit in {budget:g} s"):
        Settings(
            step_timeout_s=too_slow,
            walk_margin_s=15,
            limit_steps=(Decimal(0), Decimal("0.5"), Decimal(1)),
        )


def test_local_lambda_contexts_carry_each_functions_template_timeout() -> None:
    # Given the local state machine read from template.yaml
    machine = local_state_machine(REPO_ROOT, "dev")
    # Then every function's context gets the Timeout that is deployed, per function
    by_step = {
        name.removeprefix("alchemiser-dev-"): seconds for name, seconds in machine.timeouts.items()
    }
    assert by_step["evaluate-book"] == function_timeout_s("EvaluateBook")
    assert by_step["notify-failure"] == function_timeout_s("NotifyFailure")
    assert sorted(by_step.values()) == sorted(float(t) for t in FUNCTION_TIMEOUT_S.values())


def test_retry_waits_follow_the_backoff_and_its_cap() -> None:
    rule = {"IntervalSeconds": 2, "BackoffRate": 2.0, "MaxAttempts": 4, "MaxDelaySeconds": 5}
    assert retry_waits_s(rule) == [2, 4, 5, 5]
    assert retry_waits_s(in_progress_retry("PlanOrders")) == [60, 120, 240]


def test_an_unknown_step_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="EvaluateBook"):
        function_timeout_s("Nope")
