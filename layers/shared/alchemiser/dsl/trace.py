"""Decision traces: why a symphony holds what it holds on one date.

A trace follows the path that holds weight on the date: each ``if`` with both
sides' values and the branch taken, each ``filter`` with every candidate's score
and the ones kept, each inverse-volatility node with every child's volatility.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from alchemiser.dsl.ast import (
    Asset,
    Filter,
    Group,
    If,
    Node,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from alchemiser.dsl.program import tie_label, tie_order
from alchemiser.dsl.writer import format_condition, format_metric, format_number

if TYPE_CHECKING:
    from alchemiser.dsl.engine import AllocationHistory

TIE_RULE = "ties are broken alphabetically by ticker (or group name), then by position"


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def build_trace(result: AllocationHistory, row: int) -> dict[str, Any]:
    """Return the decision trace of one evaluated row as a JSON-ready tree."""
    program = result.program
    symphony = program.symphony
    records = result.records

    def holds(node: Node) -> bool:
        record = records.get(program.node_ops[id(node)])
        return True if record is None else record.holds.get(row, True)

    root: dict[str, Any] = {"node": "symphony", "name": symphony.name, "children": []}
    stack: list[tuple[Node, list[dict[str, Any]]]] = [(symphony.root, root["children"])]
    while stack:
        node, siblings = stack.pop()
        entry: dict[str, Any] = {"node": _KIND[type(node)], "at": symphony.where(node.offset)}
        active: list[Node] = []
        match node:
            case Asset(ticker=ticker):
                entry["ticker"] = ticker
            case Group(name=name, children=children):
                entry["name"] = name
                active = [c for c in children if holds(c)]
            case WeightEqual(children=children):
                active = [c for c in children if holds(c)]
            case WeightSpecified(weights=weights, children=children):
                entry["weights"] = [format_number(w) for w in weights]
                active = [c for c in children if holds(c)]
            case If(condition=condition, then=then, otherwise=otherwise):
                record = records[program.node_ops[id(node)]]
                taken = record.result[row]
                entry.update(
                    condition=format_condition(condition),
                    lhs=_number(record.lhs[row]),
                    rhs=_number(record.rhs[row]),
                    result=taken,
                    branch="then" if taken else "else",
                )
                active = [c for c in (then if taken else otherwise) if holds(c)]
            case Filter(metric=metric, top=top, count=count, candidates=candidates):
                record = records[program.node_ops[id(node)]]
                order = tie_order(candidates)  # the op scores candidates in this order
                scores = dict(zip(order, record.scores[row], strict=True))
                kept = dict(zip(order, record.kept[row], strict=True))
                entry.update(
                    metric=format_metric(metric),
                    select=f"{'top' if top else 'bottom'} {count}",
                    candidates=[
                        {
                            "label": tie_label(c) or f"#{i + 1}",
                            "score": _number(scores[i]),
                            "kept": kept[i],
                        }
                        for i, c in enumerate(candidates)
                    ],
                    tie_break=TIE_RULE,
                )
                active = [c for i, c in enumerate(candidates) if kept[i]]
            case WeightInverseVolatility(window=window, children=children):
                record = records[program.node_ops[id(node)]]
                entry.update(
                    window=window,
                    candidates=[
                        {"label": tie_label(c) or f"#{i + 1}", "volatility": _number(v), "kept": k}
                        for i, (c, v, k) in enumerate(
                            zip(children, record.scores[row], record.kept[row], strict=True)
                        )
                    ],
                )
                active = [c for i, c in enumerate(children) if record.kept[row][i]]
        siblings.append(entry)
        if active:
            entry["children"] = []
            stack.extend((child, entry["children"]) for child in reversed(active))
    root["weights"] = result.weights_at(row)
    root["as_of"] = str(result.dates[row])
    return root


_KIND: dict[type, str] = {
    Asset: "asset",
    Group: "group",
    WeightEqual: "weight-equal",
    WeightSpecified: "weight-specified",
    WeightInverseVolatility: "weight-inverse-volatility",
    If: "if",
    Filter: "filter",
}


def render_trace(trace: dict[str, Any]) -> str:
    """Render a trace as indented text, one decision per line."""
    lines = [f"{trace['name']} on {trace['as_of']}"]
    stack: list[tuple[dict[str, Any], int]] = [(c, 1) for c in reversed(trace.get("children", []))]
    while stack:
        entry, depth = stack.pop()
        pad = "  " * depth
        kind = entry["node"]
        at = f"   [{entry['at']}]" if entry.get("at") else ""
        if kind == "asset":
            lines.append(f"{pad}asset {entry['ticker']}")
        elif kind == "if":
            lines.append(
                f"{pad}if {entry['condition']}: {entry['lhs']} vs {entry['rhs']} -> "
                f"{str(entry['result']).lower()}, take {entry['branch']}{at}"
            )
        elif kind == "filter":
            picks = ", ".join(
                f"{c['label']}={c['score']}{' KEPT' if c['kept'] else ''}"
                for c in entry["candidates"]
            )
            lines.append(f"{pad}filter {entry['metric']} select-{entry['select']}: {picks}{at}")
        elif kind == "weight-inverse-volatility":
            vols = ", ".join(f"{c['label']} sigma={c['volatility']}" for c in entry["candidates"])
            lines.append(f"{pad}weight-inverse-volatility {entry['window']}: {vols}{at}")
        elif kind == "group":
            lines.append(f"{pad}group {entry['name']!r}")
        else:
            lines.append(f"{pad}{kind}")
        stack.extend((c, depth + 1) for c in reversed(entry.get("children", [])))
    weights = ", ".join(f"{t} {w:.2%}" for t, w in sorted(trace["weights"].items()))
    lines.append(f"=> {weights or 'nothing held (cash)'}")
    return "\n".join(lines)
