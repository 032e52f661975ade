"""The symphony tree: immutable nodes produced by the parser.

Every node keeps the character ``offset`` of the form it came from, so errors and
decision traces can point back to ``file:line:column``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from alchemiser.dsl.source import SourceFile


class RebalanceFrequency(StrEnum):
    """How often a symphony trades back to its targets (wire values as in the DSL)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    NONE = "none"

    @classmethod
    def parse(cls, text: str) -> RebalanceFrequency:
        """Return the frequency named by ``text`` (``"weekly"`` or the keyword ``":weekly"``)."""
        key = text.strip().removeprefix(":").lower()
        try:
            return cls(key)
        except ValueError:
            expected = ", ".join(f.value for f in cls)
            raise ValueError(
                f"rebalance frequency must be one of {expected}, was {text!r}"
            ) from None


class Comparator(StrEnum):
    GT = ">"
    LT = "<"
    GE = ">="
    LE = "<="
    EQ = "="


@dataclass(frozen=True, slots=True)
class IndicatorCall:
    """An indicator applied to one ticker, e.g. ``(rsi "SPY" {:window 10})``."""

    indicator: str
    ticker: str  # canonical (``BRK.B``); ``written`` is the spelling in the file (``BRK/B``)
    window: int | None
    offset: int = field(default=-1, compare=False)
    written: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Metric:
    """An indicator without a ticker, as used by ``filter``: ``(rsi {:window 10})``."""

    indicator: str
    window: int | None
    offset: int = field(default=-1, compare=False)


Operand = IndicatorCall | float


@dataclass(frozen=True, slots=True)
class Condition:
    """A comparison ``(> lhs rhs)`` whose sides are numbers or indicator calls."""

    comparator: Comparator
    lhs: Operand
    rhs: Operand
    offset: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class Asset:
    ticker: str  # canonical (``BRK.B``); ``written`` is the spelling in the file (``BRK/B``)
    name: str | None = field(default=None, compare=False)
    offset: int = field(default=-1, compare=False)
    written: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class WeightEqual:
    children: tuple[Node, ...]
    offset: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class WeightSpecified:
    weights: tuple[float, ...]
    children: tuple[Node, ...]
    offset: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class WeightInverseVolatility:
    window: int
    children: tuple[Node, ...]
    offset: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class Group:
    """A named sub-portfolio; its children are weighted equally."""

    name: str
    children: tuple[Node, ...]
    offset: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class If:
    """Only the chosen branch holds weight; each branch's nodes are weighted equally."""

    condition: Condition
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...]
    offset: int = field(default=-1, compare=False)


@dataclass(frozen=True, slots=True)
class Filter:
    """Score every candidate by ``metric`` and keep the ``count`` best."""

    metric: Metric
    top: bool
    count: int
    candidates: tuple[Node, ...]
    offset: int = field(default=-1, compare=False)


Node = Asset | WeightEqual | WeightSpecified | WeightInverseVolatility | Group | If | Filter


@dataclass(frozen=True)
class SymphonyMeta:
    rebalance_frequency: RebalanceFrequency | None = None
    rebalance_threshold: float | None = None
    asset_class: str | None = None


@dataclass(frozen=True)
class Symphony:
    """A parsed ``(defsymphony NAME {META} BODY)``."""

    name: str
    meta: SymphonyMeta
    root: Node
    source: SourceFile | None = field(default=None, compare=False, repr=False)

    @property
    def source_name(self) -> str:
        return self.source.name if self.source is not None else ""

    def where(self, offset: int) -> str:
        """Return ``file:line:column`` of a node offset (or '' when unknown)."""
        if self.source is None or offset < 0:
            return ""
        return self.source.where(offset)

    @property
    def frequency(self) -> RebalanceFrequency:
        """Return the effective rebalance frequency (daily unless set)."""
        if self.meta.rebalance_frequency is not None:
            return self.meta.rebalance_frequency
        return (
            RebalanceFrequency.NONE if self.meta.rebalance_threshold else RebalanceFrequency.DAILY
        )


def children_of(node: Node) -> tuple[Node, ...]:
    """Return the child nodes of a node (both branches of an ``if``)."""
    match node:
        case Asset():
            return ()
        case If(then=then, otherwise=otherwise):
            return then + otherwise
        case Filter(candidates=candidates):
            return candidates
        case _:
            return node.children


def walk(root: Node) -> list[Node]:
    """Return every node of the tree in pre-order, without recursion."""
    out: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children_of(node)))
    return out


def tickers_of(root: Node) -> list[str]:
    """Return every ticker the tree holds or reads, sorted."""
    found: set[str] = set()
    for node in walk(root):
        if isinstance(node, Asset):
            found.add(node.ticker)
        elif isinstance(node, If):
            for side in (node.condition.lhs, node.condition.rhs):
                if isinstance(side, IndicatorCall):
                    found.add(side.ticker)
    return sorted(found)
