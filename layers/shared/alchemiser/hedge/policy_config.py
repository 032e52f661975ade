"""Read a stage's ``hedge:`` block of books.yaml into a ``HedgePolicy``, locating every problem.

The books file is walked node by node (see ``alchemiser.books.config``); this module
reads the one node under ``hedge`` and reports each problem through ``report(node,
message)`` so that it lands on its own line of the file, with every other problem of
the file, in one ConfigurationError.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Final

import yaml
from pydantic import ValidationError

from alchemiser.hedge.policy import Budget, HedgePolicy, HedgeTemplate, HedgeUnderlying, Protect

Report = Callable[[yaml.Node, str], None]
HEDGE_KEYS: Final = ("underlying", "template", "protect", "budget")
_NUMBER_TAGS: Final = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
# (key, low, high, how the range reads) of each number, inclusive bounds unless noted.
_PROTECT: Final = (
    ("move", Decimal("-0.9"), Decimal("-0.01"), "a fall in [-0.90, -0.01]"),
    ("payoff", Decimal(0), Decimal("0.5"), "a fraction of NAV in (0, 0.5]"),
)
_BUDGET: Final = (
    ("monthly", Decimal(0), Decimal("0.05"), "a fraction of NAV in (0, 0.05]"),
    ("yearly", Decimal(0), Decimal("0.5"), "a fraction of NAV in (0, 0.5]"),
)


def _mapping(
    node: yaml.Node,
    what: str,
    keys: tuple[str, ...],
    report: Report,
    optional: tuple[str, ...] = (),
) -> dict[str, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        report(node, f"{what} must be a mapping with keys {', '.join(keys)}")
        return None
    found: dict[str, yaml.Node] = {}
    for key_node, value in node.value:
        key = str(key_node.value)
        if key in found:
            report(key_node, f"duplicate key '{key}' in {what}")
        elif key not in keys:
            report(key_node, f"unknown key '{key}' in {what}; expected {', '.join(keys)}")
        else:
            found[key] = value
    for key in keys:
        if key not in found and key not in optional:
            report(node, f"{what} is missing '{key}'")
    return found


def _choice[E: (HedgeUnderlying, HedgeTemplate)](
    node: yaml.Node | None, kind: type[E], what: str, report: Report
) -> E | None:
    if node is None:
        return None
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else "a collection"
    allowed = [member.value for member in kind]
    if text not in allowed:
        report(node, f"{what} must be one of {', '.join(allowed)}, was '{text}'")
        return None
    return kind(text)


def _number(
    node: yaml.Node, spec: tuple[str, Decimal, Decimal, str], what: str, report: Report
) -> Decimal | None:
    key, low, high, reads = spec
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else "a collection"
    value: Decimal | None = None
    if isinstance(node, yaml.ScalarNode) and node.tag in _NUMBER_TAGS:
        try:
            value = Decimal(text.replace("_", ""))
        except InvalidOperation:
            value = None
    exclusive_low = low == 0
    if value is None or not value.is_finite():
        report(node, f"{what} {key} must be {reads}, was '{text}'")
        return None
    if value > high or value < low or (exclusive_low and value == low):
        report(node, f"{what} {key} must be {reads}, was {text}")
        return None
    return value


def _numbers(
    node: yaml.Node | None,
    specs: tuple[tuple[str, Decimal, Decimal, str], ...],
    what: str,
    report: Report,
) -> dict[str, Decimal] | None:
    if node is None:
        return None
    fields = _mapping(node, what, tuple(spec[0] for spec in specs), report)
    if fields is None:
        return None
    values = {
        spec[0]: _number(fields[spec[0]], spec, what, report) for spec in specs if spec[0] in fields
    }
    if len(values) != len(specs) or any(v is None for v in values.values()):
        return None
    return {key: value for key, value in values.items() if value is not None}


def read_hedge_policy(node: yaml.Node, stage: str, report: Report) -> HedgePolicy | None:
    """Return the stage's policy, or None after reporting every problem found."""
    what = f"hedge of stage {stage}"
    fields = _mapping(node, what, HEDGE_KEYS, report, optional=("underlying",))
    if fields is None:
        return None
    underlying: HedgeUnderlying | None = HedgeUnderlying.AUTO
    if "underlying" in fields:
        underlying = _choice(fields["underlying"], HedgeUnderlying, f"{what} underlying", report)
    template = _choice(fields.get("template"), HedgeTemplate, f"{what} template", report)
    protect = _numbers(fields.get("protect"), _PROTECT, f"{what} protect", report)
    numbers = _numbers(fields.get("budget"), _BUDGET, f"{what} budget", report)
    budget = None
    if numbers is not None:
        try:
            budget = Budget(**numbers)
        except ValidationError as error:
            for problem in error.errors():
                report(fields["budget"], f"{what}: {problem['msg'].removeprefix('Value error, ')}")
    if underlying is None or template is None or protect is None or budget is None:
        return None
    return HedgePolicy(
        underlying=underlying, template=template, protect=Protect(**protect), budget=budget
    )
