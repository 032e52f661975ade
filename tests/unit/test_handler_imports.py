"""What each handler imports on a cold start, held to the layers template.yaml gives it.

PlanOrders, ExecuteOrder, CheckSells, HedgeExecute, Notify and NotifyFailure are deployed
without the parquet layer, the last two without the pandas layer too. Each handler is imported in a
fresh interpreter, as Lambda does, then its AWS adapters are built the way its first
invocation builds them (the ones ``Metadata: AlchemiserNeeds`` lists included; nothing
connects): the handler alone loads neither numpy, pandas nor the symphony engine; with its
adapters, a function without the pandas layer still loads none of them (nor alpaca-py,
which imports pandas), one without the parquet layer no awswrangler, and none of them the
engine. This runs in the development environment, where pandas also picks up pyarrow when
it can; ``layers/package_check.py`` repeats the import with only the built layers.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alchemiser.local.template import load_template
from tests.conftest import REPO_ROOT

PANDAS_LAYER = {"numpy", "pandas", "alpaca", "exchange_calendars", "pyarrow", "awswrangler"}
ENGINE = "alchemiser.dsl"
LIGHT = {
    "PlanOrdersFunction",
    "ExecuteOrderFunction",
    "CheckSellsFunction",
    "HedgeExecuteFunction",
    "NotifyFunction",
    "NotifyFailureFunction",
}
PROBE = """
import json, sys
needs = json.loads(sys.argv[1])
watched = ("numpy", "pandas", "pyarrow", "awswrangler", "exchange_calendars", "alpaca",
           "alchemiser.dsl")
def loaded():
    return sorted(m for m in watched if m in sys.modules)
import app
after_import = loaded()
from alchemiser.runtime import current
deps = current()
if "broker" in needs:
    deps.broker.account  # builds the Alpaca adapter (no request is sent)
    if deps.options is not None:
        deps.options.option_positions  # and the options one
if "market" in needs:
    deps.market.describe  # builds the S3 and Alpaca market data adapter
print(json.dumps({"import": after_import, "adapters": loaded()}))
"""
AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "ALCHEMISER_RUNTIME": "aws",
    "ALCHEMISER_LEDGER_TABLE": "alchemiser-dev-ledger",
    "ALCHEMISER_DATA_BUCKET": "alchemiser-dev-data",
    "ALCHEMISER_REPORTS_BUCKET": "alchemiser-dev-reports",
    "ALCHEMISER_NOTIFY_FROM": "alchemiser@example.com",
    "ALCHEMISER_NOTIFY_TO": "trader@example.com",
    "ALCHEMISER_ALPACA_KEY_ID": "testing",
    "ALCHEMISER_ALPACA_SECRET_KEY": "testing",
}


@functools.cache
def functions() -> dict[str, dict[str, Any]]:
    resources = load_template(REPO_ROOT / "template.yaml")["Resources"]
    return {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def layer_refs(function: dict[str, Any]) -> set[str]:
    return {layer["Ref"] for layer in function["Properties"]["Layers"] if "Ref" in layer}


@pytest.fixture(scope="module")
def cold_starts() -> dict[str, dict[str, list[str]]]:
    """Start every handler at once, each in its own interpreter; return what each loaded."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ALCHEMISER_")}
    environment |= AWS_ENVIRONMENT
    started = {}
    for logical_id in sorted(LIGHT):
        function = functions()[logical_id]
        needs = function.get("Metadata", {}).get("AlchemiserNeeds", [])
        code = REPO_ROOT / function["Properties"]["CodeUri"]
        started[logical_id] = subprocess.Popen(
            [sys.executable, "-c", PROBE, json.dumps(needs)],
            cwd=code,
            env=environment | {"PYTHONPATH": str(Path(code))},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    loaded = {}
    for logical_id, process in started.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"{logical_id} failed to start:\n{err}"
        loaded[logical_id] = json.loads(out.splitlines()[-1])
    return loaded


def test_the_light_functions_are_deployed_without_the_pandas_and_parquet_layers() -> None:
    # Given the functions that only net, execute, gate or report
    for logical_id in LIGHT:
        layers = layer_refs(functions()[logical_id])
        # Then none of them carries the parquet layer, and only the broker's users and the
        # dashboard's builder (numpy, imported when Notify runs) the pandas layer
        assert "ParquetLayer" not in layers, logical_id
        needs = set(functions()[logical_id]["Metadata"]["AlchemiserNeeds"])
        assert ("PandasLayer" in layers) == bool(needs & {"broker", "dashboard"}), logical_id


def test_no_light_handler_imports_numpy_pandas_or_the_engine(
    cold_starts: dict[str, dict[str, list[str]]],
) -> None:
    # Given each light handler, imported alone in a fresh interpreter
    for logical_id in LIGHT:
        # Then neither numpy, pandas, pyarrow nor the symphony engine came with it
        assert cold_starts[logical_id]["import"] == [], logical_id


@pytest.mark.parametrize("logical_id", sorted(LIGHT))
def test_a_light_cold_start_loads_only_what_the_functions_layers_provide(
    cold_starts: dict[str, dict[str, list[str]]], logical_id: str
) -> None:
    # Given a light function's layers and what its cold start loaded, adapters built
    layers = layer_refs(functions()[logical_id])
    loaded = set(cold_starts[logical_id]["adapters"])

    # Then nothing of the pandas layer without it, no awswrangler, never the engine
    if "PandasLayer" not in layers:
        assert not loaded & PANDAS_LAYER, loaded
    assert "awswrangler" not in loaded
    assert ENGINE not in loaded
