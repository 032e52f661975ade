"""The metrics the stage's alarms watch, as the real handlers publish them (CloudWatch EMF).

The no-cycle alarm waits for PlanCycle's CyclesPlanned, every day it decides; the
run-blocked alarm for Notify's RunsBlocked. A metric name or dimension that drifted from
template.yaml would leave an alarm watching nothing: these tests read both sides.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from alchemiser.broker.simulated_market import trading_session
from alchemiser.local.lambda_invoke import LocalLambdaContext
from alchemiser.local.template import load_template
from alchemiser.runtime import installed
from tests.conftest import REPO_ROOT
from tests.integration.test_plan_cycle import DAY, deps_for, request

SATURDAY = date(2024, 3, 16)


def load_handler(step: str) -> ModuleType:
    """Import functions/<step>/app.py as its own module (the Lambda runtime's view of it)."""
    path = REPO_ROOT / "functions" / step / "app.py"
    spec = importlib.util.spec_from_file_location(f"alarm_metrics_{step}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def context(name: str) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name=name,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        aws_request_id="req-1",
        memory_limit_in_mb=512,
        deadline_monotonic=time.monotonic() + 60,
    )


@pytest.fixture
def published(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[ModuleType, dict[str, Any], str], dict[str, tuple[float, dict[str, str]]]]:
    """Invoke a handler with metrics on; return {metric: (value, dimensions)} from its EMF."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    def invoke(
        handler: ModuleType, event: dict[str, Any], name: str
    ) -> dict[str, tuple[float, dict[str, str]]]:
        handler.metrics.clear_metrics()
        capsys.readouterr()
        handler.lambda_handler(event, context(name))
        found: dict[str, tuple[float, dict[str, str]]] = {}
        for line in capsys.readouterr().out.splitlines():
            blob = json.loads(line) if line.startswith("{") else {}
            for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
                dimensions = {d: str(blob[d]) for d in directive["Dimensions"][0]}
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]  # a list when the metric was added repeatedly
                    total = sum(value) if isinstance(value, list) else value
                    found[metric["Name"]] = (float(total), dimensions)
                assert directive["Namespace"] == "Alchemiser"
        return found

    return invoke


def alarm(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = load_template(REPO_ROOT / "template.yaml")["Resources"][name][
        "Properties"
    ]
    return properties


def watched(properties: dict[str, Any], stage: str) -> tuple[str, str, dict[str, str]]:
    """Return what an alarm watches, its stage dimension resolved: (namespace, metric, dims)."""
    dimensions = {
        d["Name"]: stage if d["Value"] == {"Ref": "Stage"} else d["Value"]
        for d in properties["Dimensions"]
    }
    return properties["Namespace"], properties["MetricName"], dimensions


def test_plan_cycle_counts_a_closed_day_for_its_stage_as_the_no_cycle_alarm_expects(
    tmp_path: Path, published: Any
) -> None:
    # Given PlanCycle's handler, on a Saturday (the schedule starts the cycle every day)
    handler = load_handler("plan_cycle")
    deps = deps_for(tmp_path, trading_session(DAY).open)

    # When it decides the day
    with installed(deps):
        metrics = published(handler, request(SATURDAY).model_dump(mode="json"), "plan-cycle")

    # Then it counts one planned day for the dev stage, the metric the alarm watches
    namespace, name, dimensions = watched(alarm("NoCycleAlarm"), "dev")
    assert namespace == "Alchemiser"
    assert metrics[name] == (1.0, dimensions)
    assert dimensions == {"service": "alchemiser", "stage": "dev"}


def notify_event(blocked_reason: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO_ROOT / "events" / "notify.json").read_text())
    event["plan"]["blocked_reason"] = blocked_reason
    return event


@pytest.mark.parametrize(
    ("blocked_reason", "expected"),
    [
        ("kill switch is on (maintenance, by ops)", 1.0),
        ("broker positions disagree with the books: SPY: broker 10, books 0", 1.0),
        ("", 0.0),
    ],
)
def test_notify_publishes_whether_the_run_was_blocked_for_the_run_blocked_alarm(
    tmp_path: Path, published: Any, blocked_reason: str, expected: float
) -> None:
    # Given Notify's handler and a run that succeeded, blocked or not
    handler = load_handler("notify")
    deps = deps_for(tmp_path, trading_session(DAY).close)

    # When it reports the run
    with installed(deps):
        metrics = published(handler, notify_event(blocked_reason), "notify")

    # Then RunsBlocked is 1 exactly for a blocked run, on the metric the alarm watches
    properties = alarm("RunBlockedAlarm")
    namespace, name, dimensions = watched(properties, "dev")
    assert namespace == "Alchemiser"
    assert metrics[name] == (expected, dimensions)
    breaches = expected >= properties["Threshold"]
    assert breaches == bool(blocked_reason)
    assert metrics["RunsNotified"][0] == 1.0
