"""Read the SAM template the way the local runner needs it.

The local run executes the very definition that is deployed, with the template's
own ``DefinitionSubstitutions``: function ARNs are made up in the local account
(``arn:aws:lambda:us-east-1:123456789012:function:<FunctionName>``) and each one is
answered by the ``lambda_handler`` in that function's ``CodeUri`` directory, with the
function's own ``Timeout`` (or the Globals one) in its Lambda context. A function with
an ``EventBridgeRule`` on the state machine's status changes is a `StatusChangeTarget`:
the runner invokes it the way that rule would.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from alchemiser.local.asl_runner import LOCAL_ACCOUNT_ID, LOCAL_REGION, LambdaHandler


class TemplateError(ValueError):
    """The template does not describe the state machine the way the runner expects."""


class _CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation short-form tags as {"Fn": value} mappings."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _tag)


def load_template(path: Path) -> dict[str, Any]:
    """Parse template.yaml, keeping intrinsic functions as data."""
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path}: expected a CloudFormation template with Resources")
    return document


STATUS_CHANGE = "Step Functions Execution Status Change"


@dataclass(frozen=True)
class StatusChangeTarget:
    """A function an EventBridge rule invokes when an execution reaches one of ``statuses``."""

    function_name: str
    handler: LambdaHandler
    statuses: frozenset[str]


@dataclass(frozen=True)
class LocalStateMachine:
    definition: str
    substitutions: dict[str, str]
    handlers: dict[str, LambdaHandler]
    timeouts: dict[str, float]  # function name -> its Lambda Timeout (seconds)
    status_targets: list[StatusChangeTarget]


def local_state_machine(root: Path, stage: str) -> LocalStateMachine:
    """Return the daily cycle's definition, substitutions and in-process handlers."""
    template = load_template(root / "template.yaml")
    resources: Mapping[str, Any] = template["Resources"]
    machine = next(
        (r for r in resources.values() if r.get("Type") == "AWS::Serverless::StateMachine"), None
    )
    if machine is None:
        raise TemplateError("template.yaml has no AWS::Serverless::StateMachine")
    props = machine["Properties"]
    definition = (root / props["DefinitionUri"]).read_text(encoding="utf-8")
    substitutions: dict[str, str] = {}
    handlers: dict[str, LambdaHandler] = {}
    default_timeout = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    functions = {
        key: r for key, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"
    }
    timeouts = {
        _resolve(f["Properties"].get("FunctionName", key), stage): float(
            f["Properties"].get("Timeout", default_timeout)
        )
        for key, f in functions.items()
    }
    for key, value in props.get("DefinitionSubstitutions", {}).items():
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute != "Arn":
                raise TemplateError(
                    f"substitution {key}: only !GetAtt <Function>.Arn is supported, got {attribute}"
                )
            function = resources.get(logical_id)
            if function is None or function.get("Type") != "AWS::Serverless::Function":
                raise TemplateError(
                    f"substitution {key}: {logical_id} is not a function in template.yaml"
                )
            name = _resolve(function["Properties"].get("FunctionName", logical_id), stage)
            arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{name}"
            substitutions[key] = arn
            handlers[arn] = _handler(
                root / function["Properties"]["CodeUri"], function["Properties"]["Handler"]
            )
        else:
            substitutions[key] = _resolve(value, stage)
    targets = [
        StatusChangeTarget(
            _resolve(f["Properties"].get("FunctionName", key), stage),
            _handler(root / f["Properties"]["CodeUri"], f["Properties"]["Handler"]),
            statuses,
        )
        for key, f in functions.items()
        if (statuses := _status_change_statuses(f))
    ]
    return LocalStateMachine(definition, substitutions, handlers, timeouts, targets)


def _status_change_statuses(function: Mapping[str, Any]) -> frozenset[str]:
    """Return the statuses of the function's EventBridge rule on execution status changes."""
    found: set[str] = set()
    for event in (function["Properties"].get("Events") or {}).values():
        pattern = event.get("Properties", {}).get("Pattern", {})
        if event.get("Type") == "EventBridgeRule" and STATUS_CHANGE in pattern.get(
            "detail-type", []
        ):
            found.update(pattern.get("detail", {}).get("status", []))
    return frozenset(found)


def _resolve(value: Any, stage: str) -> str:
    """Resolve the few intrinsics names use: !Ref Stage and !Sub with ${Stage}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("Ref") == "Stage":
        return stage
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        unknown = sorted(set(re.findall(r"\$\{([^}]+)\}", text)) - {"Stage"})
        if unknown:
            raise TemplateError(f"cannot resolve {', '.join(unknown)} in {text!r} locally")
        return text.replace("${Stage}", stage)
    raise TemplateError(f"cannot resolve {value!r} locally")


_MODULES: dict[Path, ModuleType] = {}


def _handler(code_dir: Path, handler: str) -> LambdaHandler:
    """Import ``module.function`` from a function directory (once per process)."""
    module_name, _, function_name = handler.rpartition(".")
    path = (code_dir / f"{module_name.replace('.', '/')}.py").resolve()
    module = _MODULES.get(path)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            f"alchemiser_functions.{code_dir.name}.{module_name}", path
        )
        if spec is None or spec.loader is None:
            raise TemplateError(f"cannot load handler {handler} from {code_dir}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[path] = module
    function: LambdaHandler = getattr(module, function_name)
    return function


def clear_handler_metrics() -> None:
    """Drop the metrics the handlers buffered (local runs do not publish them)."""
    for module in _MODULES.values():
        metrics = getattr(module, "metrics", None)
        if metrics is not None:
            metrics.clear_metrics()
