"""Write a symphony tree back to the ``.clj`` text form (iteratively, any depth)."""

from __future__ import annotations

from alchemiser.dsl.ast import (
    Asset,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Metric,
    Node,
    Symphony,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)


def format_number(value: float) -> str:
    """Write a number the shortest way that reads back to the same value."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _string(text: str) -> str:
    """Quote text with exactly the escapes the reader understands (others stay literal)."""
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def format_operand(side: IndicatorCall | float) -> str:
    """Write one side of a comparison: a number or an indicator call."""
    if isinstance(side, IndicatorCall):
        window = "" if side.window is None else f" {{:window {side.window}}}"
        return f"({side.indicator} {_string(side.ticker)}{window})"
    return format_number(side)


def format_metric(metric: Metric) -> str:
    window = "" if metric.window is None else f" {{:window {metric.window}}}"
    return f"({metric.indicator}{window})"


def format_condition(condition: Condition) -> str:
    """Write a comparison on one line, e.g. ``(> (rsi "SPY" {:window 10}) 70)``."""
    lhs, rhs = format_operand(condition.lhs), format_operand(condition.rhs)
    return f"({condition.comparator.value} {lhs} {rhs})"


# Stack items: ("node", node, indent, prefix) | ("text", text, indent, prefix) | ("close", text)
_Item = tuple[str, object, int, str] | tuple[str, str]


def _vector(children: tuple[Node, ...], indent: int, closing: str) -> list[_Item]:
    """Return stack items (in emission order) writing ``[children...]`` then ``closing``."""
    if not children:
        return [("text", "[]", indent, ""), ("close", closing)]
    items: list[_Item] = []
    for i, child in enumerate(children):
        items.append(("node", child, indent, "[" if i == 0 else " "))
    items.append(("close", "]" + closing))
    return items


def _expand(node: Node, indent: int) -> tuple[str, list[_Item]]:
    inner = indent + 1
    match node:
        case Asset(ticker=ticker, name=name):
            label = "nil" if name is None else _string(name)
            return f"(asset {_string(ticker)} {label})", []
        case WeightEqual(children=children):
            return "(weight-equal", _vector(children, inner, ")")
        case Group(name=name, children=children):
            return "(group", [("text", _string(name), inner, ""), *_vector(children, inner, ")")]
        case WeightInverseVolatility(window=window, children=children):
            return "(weight-inverse-volatility", [
                ("text", str(window), inner, ""),
                *_vector(children, inner, ")"),
            ]
        case WeightSpecified(weights=weights, children=children):
            items: list[_Item] = []
            for weight, child in zip(weights, children, strict=True):
                items.append(("text", format_number(weight), inner, ""))
                items.append(("node", child, inner, ""))
            items.append(("close", ")"))
            return "(weight-specified", items
        case If(condition=condition, then=then, otherwise=otherwise):
            return "(if", [
                ("text", format_condition(condition), inner, ""),
                *_vector(then, inner, ""),
                *_vector(otherwise, inner, ")"),
            ]
        case Filter(metric=metric, top=top, count=count, candidates=candidates):
            select = "select-top" if top else "select-bottom"
            return "(filter", [
                ("text", format_metric(metric), inner, ""),
                ("text", f"({select} {count})", inner, ""),
                *_vector(candidates, inner, ")"),
            ]
    raise TypeError(f"cannot write {type(node).__name__}")  # pragma: no cover


def write_symphony(symphony: Symphony) -> str:
    """Return the ``.clj`` text of a symphony; reading it back gives an equal tree."""
    meta = symphony.meta
    settings: list[str] = []
    if meta.asset_class is not None:
        settings.append(f":asset-class {_string(meta.asset_class)}")
    if meta.rebalance_frequency is not None:
        settings.append(f":rebalance-frequency :{meta.rebalance_frequency.value}")
    if meta.rebalance_threshold is not None:
        settings.append(f":rebalance-threshold {format_number(meta.rebalance_threshold)}")
    lines = ["(defsymphony", f" {_string(symphony.name)}", " {" + ", ".join(settings) + "}"]
    stack: list[_Item] = [("close", ")"), ("node", symphony.root, 1, "")]
    while stack:
        item = stack.pop()
        if item[0] == "close":
            lines[-1] += str(item[1])
            continue
        kind, payload, indent, prefix = item  # type: ignore[misc]
        pad = " " * indent + prefix
        if kind == "text":
            lines.append(pad + str(payload))
            continue
        header, children = _expand(payload, indent + len(prefix))  # type: ignore[arg-type]
        lines.append(pad + header)
        stack.extend(reversed(children))
    return "\n".join(lines) + "\n"
