"""Prepare an ASL definition for a local run: substitutions and the Lambda functions it calls."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_LAMBDA_INVOKE_PREFIX = "arn:aws:states:::lambda:invoke"


class DefinitionError(ValueError):
    """The definition cannot run: a placeholder without a value, invalid ASL, no handler."""


def substitute_definition(
    definition: str | Mapping[str, Any], substitutions: Mapping[str, str]
) -> dict[str, Any]:
    """Replace every ``${Key}`` in the definition's strings, as DefinitionSubstitutions do.

    Raise `DefinitionError` naming every placeholder that has no value.
    """
    try:
        parsed = json.loads(definition) if isinstance(definition, str) else definition
    except json.JSONDecodeError as error:
        raise DefinitionError(f"the definition is not valid JSON: {error}") from error
    missing: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        key = match[1]
        if key not in substitutions:
            missing.add(key)
            return match[0]
        return substitutions[key]

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _PLACEHOLDER.sub(replace, node)
        if isinstance(node, Mapping):
            return {walk(key): walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    result = walk(parsed)
    if missing:
        raise DefinitionError(
            f"no substitution given for placeholder(s) {', '.join(sorted(missing))}; "
            f"substitutions provided: {', '.join(sorted(substitutions)) or 'none'}"
        )
    if not isinstance(result, dict):
        raise DefinitionError(f"a definition is a JSON object, was {type(result).__name__}")
    return result


def lambda_functions_in(definition: Mapping[str, Any]) -> set[str]:
    """Return the Lambda functions named statically by the definition's Task states."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if node.get("Type") == "Task":
                resource = str(node.get("Resource", ""))
                arguments = node.get("Parameters") or node.get("Arguments") or {}
                if resource.startswith("arn:aws:lambda:"):
                    found.add(resource)
                elif resource.startswith(_LAMBDA_INVOKE_PREFIX) and "FunctionName" in arguments:
                    found.add(str(arguments["FunctionName"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(definition)
    return found
