"""Turn forms into a typed symphony tree, checking every form on the way.

Forms are built bottom-up in the reader's closing order (children before parents),
so arbitrarily deep files need no recursion. All problems are collected and raised
together as one SymphonyError, each with file:line:column and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from alchemiser.dsl.ast import (
    Asset,
    Comparator,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Metric,
    Node,
    Operand,
    RebalanceFrequency,
    Symphony,
    SymphonyMeta,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from alchemiser.dsl.indicators import INDICATORS, STDEV_MIN_WINDOW
from alchemiser.dsl.reader import Atom, Form, Keyword, Symbol, read_forms
from alchemiser.dsl.source import Diagnostic, SourceFile, SymphonyError
from alchemiser.market.symbols import canonical_or_none

NODE_TYPES: Final = (
    Asset,
    WeightEqual,
    WeightSpecified,
    WeightInverseVolatility,
    Group,
    If,
    Filter,
)


class _Invalid:
    """Marks a form that already produced a diagnostic (parents stay quiet about it)."""


INVALID: Final = _Invalid()


class _FormError(Exception):
    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class _Selector:
    __slots__ = ("count", "top")

    def __init__(self, top: bool, count: int) -> None:
        self.top = top
        self.count = count


Built = object  # what a form turns into: a Node, Operand piece, list, dict, ...


def _describe(value: Built) -> str:
    if isinstance(value, Form):
        return {"list": "a (...) form", "vector": "a [...] vector", "map": "a {...} map"}[
            value.kind
        ]
    if isinstance(value, NODE_TYPES):
        return f"({_NODE_NAMES[type(value)]} ...)"
    if isinstance(value, Keyword):
        return f":{value}"
    if isinstance(value, Symbol):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "a [...] vector"
    if isinstance(value, dict):
        return "a {...} map"
    if isinstance(value, IndicatorCall | Metric):
        return f"({value.indicator} ...)"
    if isinstance(value, Condition):
        return f"({value.comparator} ...)"
    if isinstance(value, _Selector):
        return "(select-top/bottom ...)"
    return repr(value)


_NODE_NAMES: Final[dict[type, str]] = {
    Asset: "asset",
    WeightEqual: "weight-equal",
    WeightSpecified: "weight-specified",
    WeightInverseVolatility: "weight-inverse-volatility",
    Group: "group",
    If: "if",
    Filter: "filter",
}


def _value(item: Form | Atom) -> Built:
    return item.built if isinstance(item, Form) else item


def _nodes(args: Sequence[Built], what: str) -> tuple[Node, ...]:
    """Flatten vectors of nodes (vectors inside vectors flatten) into a tuple of nodes."""
    out: list[Node] = []
    pending = list(reversed(args))
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, NODE_TYPES):
            out.append(item)
        elif item is INVALID:
            raise _AlreadyReportedError
        else:
            raise _FormError(
                f"expected a node or a vector of nodes {what}, found {_describe(item)}"
            )
    return tuple(out)


class _AlreadyReportedError(Exception):
    """A child already reported its error: mark this form invalid without a new message."""


def _string(value: Built, what: str) -> str:
    if isinstance(value, str) and not isinstance(value, Symbol | Keyword):
        return value
    raise _FormError(f"expected a string for {what}, found {_describe(value)}")


def _ticker(value: Built) -> tuple[str, str]:
    """Return the canonical symbol (``BRK.B``) and the spelling as written (``BRK/B``)."""
    written = _string(value, "the ticker").strip()
    ticker = canonical_or_none(written)
    if ticker is None:
        raise _FormError(
            f'expected a ticker symbol such as "SPY" or "BRK/B", found "{written.upper()}"'
        )
    return ticker, written


def _number(value: Built, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _FormError(f"expected a number for {what}, found {_describe(value)}")
    return float(value)


def _positive_int(value: Built, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _FormError(f"expected an integer >= 1 for {what}, found {_describe(value)}")
    return value


def _options(value: Built, indicator: str) -> int | None:
    if not isinstance(value, dict):
        raise _FormError(
            f"expected {{:window N}} after ({indicator} ...), found {_describe(value)}"
        )
    unknown = sorted(set(value) - {"window"})
    if unknown:
        raise _FormError(
            f"unknown option(s) {', '.join(':' + k for k in unknown)} for ({indicator} ...); expected :window"
        )
    window = value.get("window")
    return None if window is None else _positive_int(window, f"the :window of ({indicator} ...)")


def _indicator(name: str, args: list[Built], offset: int) -> IndicatorCall | Metric:
    spec = INDICATORS[name]
    ticker: tuple[str, str] | None = None
    window: int | None = None
    rest = list(args)
    if rest and isinstance(rest[0], str) and not isinstance(rest[0], Symbol | Keyword):
        ticker = _ticker(rest.pop(0))
    if rest:
        window = _options(rest.pop(0), name)
    if rest:
        raise _FormError(
            f"({name} ...) takes a ticker and {{:window N}}; found {len(args)} arguments"
        )
    if spec.needs_window and window is None:
        raise _FormError(f"({name} ...) needs {{:window N}}")
    if window is not None and window < spec.min_window:
        raise _FormError(
            f"({name} ...) needs {{:window N}} with N >= {spec.min_window} (a sample standard "
            f"deviation needs two values), found {window}"
        )
    if ticker is None:
        return Metric(name, window, offset)
    return IndicatorCall(name, ticker[0], window, offset, written=ticker[1])


def _operand(value: Built, side: str) -> Operand:
    if isinstance(value, IndicatorCall):
        return value
    if isinstance(value, Metric):
        raise _FormError(
            f'the {side} side of a comparison needs a ticker: ({value.indicator} "TICKER" ...)'
        )
    return _number(value, f"the {side} side of a comparison")


def _build_asset(args: list[Built], offset: int) -> Asset:
    if not 1 <= len(args) <= 2:
        raise _FormError(f'expected (asset "TICKER" "name"), found {len(args)} arguments')
    name = args[1] if len(args) == 2 else None
    if isinstance(name, Symbol) and name == "nil":
        name = None
    if name is not None:
        name = _string(name, "the asset name")
    ticker, written = _ticker(args[0])
    return Asset(ticker, name, offset, written=written)


def _build_weight_specified(args: list[Built], offset: int) -> WeightSpecified:
    if not args or len(args) % 2:
        raise _FormError(
            "expected (weight-specified w1 node1 w2 node2 ...): pairs of a weight and a node"
        )
    weights: list[float] = []
    children: list[Node] = []
    for i in range(0, len(args), 2):
        weight = _number(args[i], f"weight #{i // 2 + 1}")
        if weight < 0:
            raise _FormError(f"weights must be >= 0, weight #{i // 2 + 1} was {weight:g}")
        nodes = _nodes([args[i + 1]], f"after weight #{i // 2 + 1}")
        weights.append(weight)
        children.append(nodes[0] if len(nodes) == 1 else WeightEqual(nodes, offset))
    return WeightSpecified(tuple(weights), tuple(children), offset)


def _build_if(args: list[Built], offset: int) -> If:
    if len(args) not in (2, 3):
        raise _FormError(
            f"expected (if CONDITION [then ...] [else ...]), found {len(args)} arguments"
        )
    condition = args[0]
    if condition is INVALID:
        raise _AlreadyReportedError
    if not isinstance(condition, Condition):
        raise _FormError(
            f"expected a comparison such as (> a b) after (if ..., found {_describe(condition)}"
        )
    then = _nodes([args[1]], "for the then-branch of (if ...)")
    otherwise = _nodes([args[2]], "for the else-branch of (if ...)") if len(args) == 3 else ()
    return If(condition, then, otherwise, offset)


def _build_filter(args: list[Built], offset: int) -> Filter:
    if len(args) != 3:
        raise _FormError(
            f"expected (filter METRIC (select-top N) [candidates]), found {len(args)} arguments"
        )
    metric, selector, candidates = args
    if INVALID in (metric, selector):
        raise _AlreadyReportedError
    if isinstance(metric, IndicatorCall):
        raise _FormError(
            f"the metric of a filter takes no ticker: ({metric.indicator} {{:window N}})"
        )
    if not isinstance(metric, Metric):
        raise _FormError(
            f"expected a metric such as (rsi {{:window 10}}) after (filter, found {_describe(metric)}"
        )
    if not isinstance(selector, _Selector):
        raise _FormError(
            f"expected (select-top N) or (select-bottom N), found {_describe(selector)}"
        )
    nodes = _nodes([candidates], "as filter candidates")
    return Filter(metric, selector.top, selector.count, nodes, offset)


def _build_comparison(op: str, args: list[Built], offset: int) -> Condition:
    if len(args) != 2:
        raise _FormError(f"expected ({op} a b) with two sides, found {len(args)} arguments")
    if INVALID in args:
        raise _AlreadyReportedError
    return Condition(Comparator(op), _operand(args[0], "left"), _operand(args[1], "right"), offset)


def _build_list(form: Form) -> Built:
    head = form.head
    if head is None:
        first = _value(form.items[0]) if form.items else None
        raise _FormError(
            f"expected an operator at the start of (...), found {_describe(first) if form.items else 'nothing'}"
        )
    args = [_value(i) for i in form.items[1:]]
    offset = form.offset
    builder = _BUILDERS.get(head)
    if builder is not None:
        return builder(args, offset)
    if head in INDICATORS:
        if INVALID in args:
            raise _AlreadyReportedError
        return _indicator(head, args, offset)
    if head in {c.value for c in Comparator}:
        return _build_comparison(head, args, offset)
    if head in ("select-top", "select-bottom"):
        if len(args) != 1:
            raise _FormError(f"expected ({head} N)")
        return _Selector(head == "select-top", _positive_int(args[0], f"N of ({head} N)"))
    if head == "defsymphony":
        return form  # handled by parse_symphony at the top level
    known = ", ".join(sorted([*_BUILDERS, *INDICATORS]))
    raise _FormError(f"unknown operator '{head}'; expected one of: {known}", form.offset + 1)


def _build_weight_equal(args: list[Built], offset: int) -> WeightEqual:
    return WeightEqual(_nodes(args, "in (weight-equal ...)"), offset)


def _build_group(args: list[Built], offset: int) -> Group:
    if not args:
        raise _FormError('expected (group "name" [nodes ...])')
    return Group(_string(args[0], "the group name"), _nodes(args[1:], "in (group ...)"), offset)


def _build_inverse_volatility(args: list[Built], offset: int) -> WeightInverseVolatility:
    if not args:
        raise _FormError("expected (weight-inverse-volatility WINDOW [nodes ...])")
    window = _positive_int(args[0], "the window of (weight-inverse-volatility ...)")
    if window < STDEV_MIN_WINDOW:
        raise _FormError(
            f"expected a window >= {STDEV_MIN_WINDOW} for (weight-inverse-volatility ...): it "
            f"weights by the sample standard deviation of returns, found {window}"
        )
    return WeightInverseVolatility(
        window, _nodes(args[1:], "in (weight-inverse-volatility ...)"), offset
    )


_BUILDERS: Final[dict[str, Callable[[list[Built], int], Built]]] = {
    "asset": _build_asset,
    "weight-equal": _build_weight_equal,
    "weight-specified": _build_weight_specified,
    "weight-inverse-volatility": _build_inverse_volatility,
    "group": _build_group,
    "if": _build_if,
    "filter": _build_filter,
}


def _build_meta(value: Built) -> SymphonyMeta:
    if not isinstance(value, dict):
        raise _FormError(
            f"expected a {{...}} map of settings after the symphony name, found {_describe(value)}"
        )
    frequency: RebalanceFrequency | None = None
    threshold: float | None = None
    asset_class: str | None = None
    for key, item in value.items():
        if key == "rebalance-frequency":
            options = ", ".join(":" + f.value for f in RebalanceFrequency)
            if not isinstance(item, Keyword) or item not in {f.value for f in RebalanceFrequency}:
                raise _FormError(
                    f"expected one of {options} for :rebalance-frequency, found {_describe(item)}"
                )
            frequency = RebalanceFrequency(item)
        elif key == "rebalance-threshold":
            threshold = _number(item, ":rebalance-threshold")
            if not 0 < threshold < 1:
                raise _FormError(f":rebalance-threshold must be in (0, 1), was {threshold:g}")
        elif key == "asset-class":
            asset_class = str(item)
        else:
            raise _FormError(
                f"unknown setting :{key}; expected :rebalance-frequency, :rebalance-threshold or :asset-class"
            )
    return SymphonyMeta(frequency, threshold, asset_class)


def _build_form(form: Form) -> Built:
    if form.kind == "vector":
        return [_value(i) for i in form.items]
    if form.kind == "map":
        out: dict[str, Built] = {}
        for key, item in zip(form.items[::2], form.items[1::2], strict=True):
            if not isinstance(key, Keyword):
                raise _FormError(f"expected a :keyword as map key, found {_describe(_value(key))}")
            out[str(key)] = _value(item)
        return out
    return _build_list(form)


def parse_symphony(source: SourceFile) -> Symphony:
    """Parse ``(defsymphony NAME {META} BODY)`` from source text; raise SymphonyError."""
    result = read_forms(source)
    diagnostics: list[Diagnostic] = []

    def report(offset: int, message: str) -> None:
        line, col = source.position(offset)
        diagnostics.append(Diagnostic(source.name, line, col, message))

    for form in result.closing_order:
        try:
            form.built = _build_form(form)
        except _AlreadyReportedError:
            form.built = INVALID
        except _FormError as exc:
            form.built = INVALID
            report(form.offset if exc.offset is None else exc.offset, str(exc))
    symphony = None
    top = list(result.forms)
    if len(top) != 1 or not isinstance(top[0], Form) or top[0].head != "defsymphony":
        report(
            top[1].offset if len(top) > 1 and isinstance(top[1], Form) else 0,
            "expected exactly one (defsymphony NAME {SETTINGS} BODY) form in the file",
        )
    else:
        form = top[0]
        args = [_value(i) for i in form.items[1:]]
        try:
            if len(args) != 3:
                raise _FormError(
                    f"expected (defsymphony NAME {{SETTINGS}} BODY), found {len(args)} arguments"
                )
            name = _string(args[0], "the symphony name")
            meta = _build_meta(args[1])
            body = _nodes([args[2]], "as the symphony body")
            root = body[0] if len(body) == 1 else WeightEqual(body, form.offset)
            symphony = Symphony(name, meta, root, source)
        except _AlreadyReportedError:
            pass
        except _FormError as exc:
            report(form.offset, str(exc))
    if diagnostics or symphony is None:
        if not diagnostics:
            report(0, "the symphony could not be read")
        raise SymphonyError(diagnostics)
    return symphony


def load_symphony(path: str | Path) -> Symphony:
    """Read and parse a ``.clj`` symphony file."""
    return parse_symphony(SourceFile.read(path))


def parse_text(text: str, name: str = "<text>") -> Symphony:
    """Parse symphony text (for tests and imports)."""
    return parse_symphony(SourceFile(name, text))
