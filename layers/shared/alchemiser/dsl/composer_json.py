"""Import a Composer (composer.trade) JSON export as a symphony tree.

Steps map one to one: ``root`` -> ``defsymphony`` (``rebalance`` -> :rebalance-frequency,
``rebalance-corridor-width`` -> :rebalance-threshold, ``asset-class`` or the exported
spelling ``asset_class`` -> :asset-class); ``wt-cash-equal`` -> ``weight-equal``;
``wt-cash-specified`` -> ``weight-specified`` (child weight ``{num, den}`` -> num/den);
``wt-inverse-vol`` (``window-days``) -> ``weight-inverse-volatility``; ``group``;
``if``/``if-child`` -> ``if``; ``filter`` (``sort-by-fn``, ``select-fn``, ``select-n``);
``asset``. Decisions where the format leaves room:

- A ``weight`` on a child of anything but ``wt-cash-specified`` is ignored: Composer keeps
  the weight a block had under a specified parent, and equal weighting does not read it
  (the real kmlm_switcher export has ``{"num": "0", "den": 100}`` on an ``if`` under
  ``wt-cash-equal``; the hand-written .clj of that family has no weight there).
- An ``if`` with several condition children is an else-if chain (first condition that
  holds wins, the else child - at most one, last - otherwise), nested as
  ``(if c1 [b1] [(if c2 [b2] [else])])``; with no else child the last else is empty.
- Comparators ``gt gte lt lte eq`` -> ``> >= < <= =`` (the real export uses gt and lt;
  the others are those of Composer's published schema).
- The right side is a number when ``rhs-fixed-value?`` is true (a stale ``rhs-fn`` is
  ignored), an indicator of ticker ``rhs-val`` when false; when the flag is absent (as in
  the real export) a numeric ``rhs-val`` is a number, anything else a ticker.
- Windows come from ``<side>-window-days`` or ``<side>-fn-params: {"window": N}``, as
  numbers or numeric strings; ``current-price`` takes none (a stale one is ignored).
- A corridor is accepted only with ``rebalance: none``, as in Composer; ``empty`` (cash)
  has no symphony form and is an error.

Every problem is collected with its JSON path (``$.children[0]['lhs-fn']``) and raised,
in document order, as one ComposerImportError.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

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
from alchemiser.market.symbols import canonical_or_none

FUNCTIONS: Final[Mapping[str, str]] = {
    "current-price": "current-price",
    "moving-average-price": "moving-average-price",
    "exponential-moving-average-price": "exponential-moving-average-price",
    "relative-strength-index": "rsi",
    "cumulative-return": "cumulative-return",
    "moving-average-return": "moving-average-return",
    "standard-deviation-return": "stdev-return",
    "standard-deviation-price": "stdev-price",
    "max-drawdown": "max-drawdown",
}
"""Composer function names -> DSL indicator names."""

COMPARATORS: Final[Mapping[str, Comparator]] = {
    "gt": Comparator.GT,
    "gte": Comparator.GE,
    "lt": Comparator.LT,
    "lte": Comparator.LE,
    "eq": Comparator.EQ,
}
SELECTIONS: Final[Mapping[str, bool]] = {"top": True, "bottom": False}
FREQUENCIES: Final[Mapping[str, RebalanceFrequency]] = {f.value: f for f in RebalanceFrequency}


@dataclass(frozen=True)
class ImportProblem:
    """One problem in a Composer export, at a JSON path such as ``$.children[0]``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ComposerImportError(ValueError):
    """A Composer export that cannot be imported; carries every problem found."""

    def __init__(self, source_name: str, problems: list[ImportProblem]) -> None:
        if not problems:
            raise ValueError("ComposerImportError needs at least one problem")
        self.source_name = source_name
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source_name}: {p}" for p in problems))


@dataclass
class _Item:
    """One JSON object of the export, with its place in the tree."""

    data: Mapping[str, Any] | None  # None: not an object (already reported)
    path: str
    order: int
    parent_step: str | None
    children: list[int] = field(default_factory=list)
    children_ok: bool = True  # False: 'children' was not a list (already reported)

    @property
    def step(self) -> object:
        return None if self.data is None else self.data.get("step")


@dataclass(frozen=True)
class _Branch:
    """An if-child: its condition (None for the else child) and its branch nodes."""

    condition: Condition | None
    nodes: tuple[Node, ...]
    path: str


_Built = Node | _Branch
_Child = tuple[_Item, _Built | None]  # None: the child already reported its problem


_Found = list[tuple[int, ImportProblem]]  # (document order, problem)


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _as_number(value: object) -> float | None:
    """Return a finite number from a JSON number or numeric string, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _as_whole(value: object) -> int | None:
    number = _as_number(value)
    return int(number) if number is not None and number.is_integer() else None


class _Fields:
    """Read one object's fields, recording each problem under its JSON path."""

    def __init__(self, item: _Item, problems: _Found) -> None:
        self.item = item
        self.data: Mapping[str, Any] = item.data or {}
        self.path = item.path
        self._order = item.order
        self._problems = problems
        self.failures = 0

    @property
    def ok(self) -> bool:
        return self.failures == 0

    def fail(self, message: str, *keys: str) -> None:
        where = self.path + "".join(f"['{k}']" for k in keys)
        self._problems.append((self._order, ImportProblem(where, message)))
        self.failures += 1

    def of(self, item: _Item) -> _Fields:
        """Return a reader of another object that reports to the same collector."""
        return _Fields(item, self._problems)

    def required(self, key: str, what: str) -> object:
        value = self.data.get(key)
        if value is None:
            self.fail(f"missing field '{key}' ({what})")
        return value

    def text(self, key: str, what: str) -> str | None:
        value = self.required(key, what)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(f"expected a non-empty string for {what}, found {_describe(value)}", key)
            return None
        return value

    def choice[T](self, key: str, options: Mapping[str, T], what: str) -> T | None:
        value = self.required(key, what)
        if value is None:
            return None
        if not isinstance(value, str) or value not in options:
            self.fail(
                f"unknown {what} {_describe(value)}; expected one of {', '.join(options)}", key
            )
            return None
        return options[value]

    def whole(self, value: object, what: str, *keys: str) -> int | None:
        number = _as_whole(value)
        if number is None or number < 1:
            self.fail(f"expected a whole number >= 1 for {what}, found {_describe(value)}", *keys)
            return None
        return number

    def positive_int(self, key: str, what: str) -> int | None:
        value = self.required(key, what)
        return None if value is None else self.whole(value, what, key)

    def number(self, key: str, what: str) -> float | None:
        value = self.required(key, what)
        if value is None:
            return None
        number = _as_number(value)
        if number is None:
            self.fail(f"expected a number for {what}, found {_describe(value)}", key)
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(f"expected true or false, found {_describe(value)}", key)
            return default
        return value

    def ticker(self, key: str, what: str) -> str | None:
        value = self.text(key, what)
        if value is None:
            return None
        ticker = canonical_or_none(value)
        if ticker is None:
            self.fail(
                f"expected a ticker symbol such as 'SPY' or 'BRK/B' for {what}, "
                f"found {_describe(value)}",
                key,
            )
            return None
        return ticker

    def window(self, prefix: str, indicator: str) -> int | None:
        """Return the window from ``<prefix>-window-days`` or ``<prefix>-fn-params``."""
        if not INDICATORS[indicator].needs_window:
            return None
        days_key, params_key = f"{prefix}-window-days", f"{prefix}-fn-params"
        what = f"the window of {self.data.get(f'{prefix}-fn')}"
        params = self.data.get(params_key)
        failures = self.failures
        windows: list[int] = []
        if self.data.get(days_key) is not None:
            found = self.whole(self.data[days_key], what, days_key)
            windows += [] if found is None else [found]
        if isinstance(params, Mapping) and params.get("window") is not None:
            found = self.whole(params["window"], what, params_key, "window")
            windows += [] if found is None else [found]
        elif params is not None and not isinstance(params, Mapping):
            self.fail(
                f'expected an object such as {{"window": 10}}, found {_describe(params)}',
                params_key,
            )
        if not windows:
            if self.failures == failures:
                self.fail(f"missing field '{days_key}' ({what})")
            return None
        if len(set(windows)) > 1:
            self.fail(
                f"'{days_key}' and '{params_key}' disagree on the window: {windows[0]} vs {windows[1]}"
            )
            return None
        minimum = INDICATORS[indicator].min_window
        if windows[0] < minimum:
            self.fail(f"expected a window >= {minimum} for {what}, found {windows[0]}")
            return None
        return windows[0]


# --- conditions ----------------------------------------------------------------------


def _indicator_call(f: _Fields, side: str) -> IndicatorCall | None:
    indicator = f.choice(f"{side}-fn", FUNCTIONS, "function")
    ticker = f.ticker(f"{side}-val", f"the ticker of the {side} side")
    window = None if indicator is None else f.window(side, indicator)
    if indicator is None or ticker is None or not f.ok:
        return None
    return IndicatorCall(indicator, ticker, window)


def _right_side(f: _Fields) -> Operand | None:
    fixed = f.data.get("rhs-fixed-value?")
    if fixed is None:  # absent: a number if rhs-val reads as one, else a ticker
        fixed = _as_number(f.data.get("rhs-val")) is not None
    elif not isinstance(fixed, bool):
        f.fail(f"expected true or false, found {_describe(fixed)}", "rhs-fixed-value?")
        return None
    if fixed:
        return f.number("rhs-val", "the fixed right side")
    return _indicator_call(f, "rhs")


def _condition(f: _Fields) -> Condition | None:
    comparator = f.choice("comparator", COMPARATORS, "comparator")
    lhs = _indicator_call(f, "lhs")
    rhs = _right_side(f)
    if comparator is None or lhs is None or rhs is None or not f.ok:
        return None
    return Condition(comparator, lhs, rhs)


# --- steps -------------------------------------------------------------------------


def _child_nodes(
    f: _Fields, children: list[_Child], what: str, *, allow_empty: bool = False
) -> tuple[Node, ...] | None:
    """Return the children as nodes, or None when one is invalid or there are none."""
    if not f.item.children_ok:
        return None
    if not children and not allow_empty:
        f.fail(f"expected at least one child block in {what}")
        return None
    nodes = [built for _, built in children if not isinstance(built, _Branch)]
    if len(nodes) != len(children) or None in nodes:
        return None  # an invalid child has reported itself; an if-child out of place too
    return tuple(node for node in nodes if node is not None)


def _build_asset(f: _Fields, _children: list[_Child]) -> Node | None:
    ticker = f.ticker("ticker", "the asset's ticker")
    name = f.data.get("name")
    return None if ticker is None else Asset(ticker, name if isinstance(name, str) else None)


def _build_equal(f: _Fields, children: list[_Child]) -> Node | None:
    nodes = _child_nodes(f, children, "'wt-cash-equal'")
    return None if nodes is None else WeightEqual(nodes)


def _build_specified(f: _Fields, children: list[_Child]) -> Node | None:
    weights: list[float] = []
    for item, _ in children:
        if item.data is not None:
            weights.append(_child_weight(f.of(item)))
    nodes = _child_nodes(f, children, "'wt-cash-specified'")
    if nodes is None or any(math.isnan(w) for w in weights):
        return None
    return WeightSpecified(tuple(weights), nodes)


def _child_weight(child: _Fields) -> float:
    """Return num/den of a wt-cash-specified child's ``weight`` (NaN when invalid)."""
    weight = child.required("weight", "the child's share of 'wt-cash-specified', {num, den}")
    if weight is None:
        return math.nan
    if not isinstance(weight, Mapping):
        child.fail(
            f'expected an object such as {{"num": 60, "den": 100}}, found {_describe(weight)}',
            "weight",
        )
        return math.nan
    num, den = _as_number(weight.get("num")), _as_number(weight.get("den"))
    if num is None or num < 0:
        child.fail(f"expected a number >= 0, found {_describe(weight.get('num'))}", "weight", "num")
    if den is None or den <= 0:
        child.fail(f"expected a number > 0, found {_describe(weight.get('den'))}", "weight", "den")
    if num is None or den is None or num < 0 or den <= 0:
        return math.nan
    # Divide the decimals as written: 33.3/100 is 0.333, not 0.33299999999999996.
    return float(Fraction(repr(num)) / Fraction(repr(den)))


def _build_inverse_vol(f: _Fields, children: list[_Child]) -> Node | None:
    window = f.positive_int("window-days", "the volatility window in days")
    if window is not None and window < STDEV_MIN_WINDOW:
        f.fail(
            f"expected a volatility window >= {STDEV_MIN_WINDOW} (a sample standard deviation "
            f"needs two returns), found {window}",
            "window-days",
        )
        window = None
    nodes = _child_nodes(f, children, "'wt-inverse-vol'")
    return None if window is None or nodes is None else WeightInverseVolatility(window, nodes)


def _build_group(f: _Fields, children: list[_Child]) -> Node | None:
    name = f.text("name", "the group's name")
    nodes = _child_nodes(f, children, "'group'")
    return None if name is None or nodes is None else Group(name, nodes)


def _build_filter(f: _Fields, children: list[_Child]) -> Node | None:
    indicator = f.choice("sort-by-fn", FUNCTIONS, "function")
    window = None if indicator is None else f.window("sort-by", indicator)
    top = f.choice("select-fn", SELECTIONS, "selection")
    count = f.positive_int("select-n", "how many candidates to keep")
    for key in ("select?", "sort-by?"):
        if not f.flag(key, True):
            f.fail("a filter that does not sort and select is not supported", key)
    nodes = _child_nodes(f, children, "'filter'")
    if indicator is None or top is None or count is None or nodes is None or not f.ok:
        return None
    return Filter(Metric(indicator, window), top, count, nodes)


def _build_if_child(f: _Fields, children: list[_Child]) -> _Built | None:
    nodes = _child_nodes(f, children, "'if-child'", allow_empty=True)
    is_else = f.flag("is-else-condition?", False)
    condition = None if is_else else _condition(f)
    if nodes is None or not f.ok:
        return None
    return _Branch(condition, nodes, f.path)


def _build_if(f: _Fields, children: list[_Child]) -> Node | None:
    branches: list[_Branch] = []
    for item, built in children:
        if item.step != "if-child" and item.data is not None:
            f.fail(
                f"expected only 'if-child' blocks in 'if', found {_describe(item.step)} at {item.path}"
            )
        elif isinstance(built, _Branch):
            branches.append(built)
    elses = [b for b in branches if b.condition is None]
    if not children:
        f.fail("expected 'if-child' blocks: one or more conditions, then an optional else")
    elif len(elses) > 1:
        f.fail(f"expected at most one else if-child, found {len(elses)}")
    elif elses and branches[-1] is not elses[0]:
        f.fail(f"the else if-child must come last, found it at {elses[0].path}")
    if not f.ok or len(branches) != len(children):
        return None
    if len(elses) == len(branches):
        f.fail("expected an if-child with a condition ('is-else-condition?': false)")
        return None
    otherwise = elses[0].nodes if elses else ()
    chain = [(b.condition, b.nodes) for b in branches if b.condition is not None]
    node: If | None = None
    for condition, nodes in reversed(chain):
        node = If(condition, nodes, otherwise)
        otherwise = (node,)
    return node


_Builder = Callable[[_Fields, list[_Child]], _Built | None]
_BUILDERS: Final[Mapping[str, _Builder]] = {
    "asset": _build_asset,
    "wt-cash-equal": _build_equal,
    "wt-cash-specified": _build_specified,
    "wt-inverse-vol": _build_inverse_vol,
    "group": _build_group,
    "if": _build_if,
    "if-child": _build_if_child,
    "filter": _build_filter,
}


# --- the tree ------------------------------------------------------------------------


def _collect(data: object, problems: _Found) -> list[_Item]:
    """List every object of the export in document order (pre-order), without recursion."""
    items: list[_Item] = []
    pending: list[tuple[object, str, str | None, int]] = [(data, "$", None, -1)]
    while pending:
        raw, path, parent_step, parent = pending.pop()
        item = _Item(raw if isinstance(raw, Mapping) else None, path, len(items), parent_step)
        items.append(item)
        if parent >= 0:
            items[parent].children.append(item.order)
        if item.data is None:
            message = f"expected a JSON object with a 'step', found {_describe(raw)}"
            problems.append((item.order, ImportProblem(path, message)))
            continue
        kids = item.data.get("children")
        if kids is None:
            continue
        if not isinstance(kids, list):
            item.children_ok = False
            message = f"expected a list of blocks, found {_describe(kids)}"
            problems.append((item.order, ImportProblem(f"{path}['children']", message)))
            continue
        step = item.step if isinstance(item.step, str) else None
        for i in reversed(range(len(kids))):
            pending.append((kids[i], f"{path}.children[{i}]", step, item.order))
    return items


def _build_node(item: _Item, children: list[_Child], problems: _Found) -> _Built | None:
    if item.data is None:
        return None  # not an object: reported while collecting
    f = _Fields(item, problems)
    step = item.step
    builder = _BUILDERS.get(step) if isinstance(step, str) else None
    if step == "if-child" and item.parent_step != "if":
        f.fail("an 'if-child' block belongs directly inside an 'if' block")
    elif step == "root":
        f.fail("step 'root' belongs only at the top of the export")
    elif step == "empty":
        f.fail(
            "step 'empty' (cash) has no form in the symphony language; hold a T-bill fund such as BIL"
        )
    elif builder is None:
        found = "missing field 'step'" if step is None else f"unknown step {_describe(step)}"
        f.fail(f"{found}; expected one of {', '.join(_BUILDERS)}")
    else:
        return builder(f, children)
    return None


def _build_meta(f: _Fields) -> SymphonyMeta | None:
    frequency = f.choice("rebalance", FREQUENCIES, "rebalance frequency")
    threshold: float | None = None
    if f.data.get("rebalance-corridor-width") is not None:
        threshold = f.number("rebalance-corridor-width", "the rebalance corridor")
        if threshold is not None and not 0 < threshold < 1:
            f.fail(
                f"expected a fraction in (0, 1), found {threshold:g}", "rebalance-corridor-width"
            )
        if frequency not in (None, RebalanceFrequency.NONE):
            f.fail(
                f"a corridor applies only with rebalance 'none', found '{frequency}'",
                "rebalance-corridor-width",
            )
    key = "asset-class" if "asset-class" in f.data else "asset_class"
    asset_class = f.text(key, "the asset class") if f.data.get(key) is not None else None
    if frequency is None or not f.ok:
        return None
    return SymphonyMeta(frequency, threshold, asset_class)


def symphony_from_composer(data: Mapping[str, Any], source_name: str = "<json>") -> Symphony:
    """Convert a parsed Composer JSON export to a symphony; raise ComposerImportError."""
    problems: _Found = []
    items = _collect(data, problems)
    built: list[_Built | None] = [None] * len(items)
    for item in reversed(items[1:]):
        children = [(items[c], built[c]) for c in item.children]
        built[item.order] = _build_node(item, children, problems)
    top = _Fields(items[0], problems)
    symphony: Symphony | None = None
    if items[0].data is not None:
        if items[0].step != "root":
            top.fail(
                f"expected step 'root' at the top of the export, found {_describe(items[0].step)}"
            )
        name = top.text("name", "the symphony's name")
        meta = _build_meta(top)
        children = [(items[c], built[c]) for c in items[0].children]
        nodes = _child_nodes(top, children, "'root'")
        if name is not None and meta is not None and nodes is not None and top.ok:
            root = nodes[0] if len(nodes) == 1 else WeightEqual(nodes)
            symphony = Symphony(name, meta, root)
    found = [problem for _, problem in sorted(problems, key=lambda p: p[0])]
    if found or symphony is None:
        raise ComposerImportError(
            source_name, found or [ImportProblem("$", "the export could not be read")]
        )
    return symphony


def load_composer_json(path: str | Path) -> Symphony:
    """Read a Composer JSON export file and convert it to a symphony."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise ComposerImportError(
            file.name, [ImportProblem(where, f"not valid JSON: {exc.msg}")]
        ) from exc
    return symphony_from_composer(data, file.name)
