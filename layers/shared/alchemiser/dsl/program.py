"""Compile a symphony tree into a program of unique computations.

Identical sub-trees are computed once: every node is interned by its *structure*
(kind, parameters and the identities of its children), never by a group's name,
because real files repeat names with different bodies and bodies under different
names. The program lists operations children-first, so evaluation needs no
recursion however deep the file nests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

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
    walk,
)


class OpKind(StrEnum):
    ASSET = "asset"
    EMPTY = "empty"
    EQUAL = "equal"
    SPECIFIED = "specified"
    INVERSE_VOLATILITY = "inverse-volatility"
    IF = "if"
    FILTER = "filter"


@dataclass(frozen=True, slots=True)
class Op:
    """One unique computation; ``children`` are ids of earlier ops.

    For a filter, ``children`` are the candidates in tie-break order (alphabetical
    by ticker or group name, then by position) and ``candidate_tickers[i]`` is the
    ticker when candidate i is a bare asset (scored on its own prices) or None
    when it is a sub-tree (scored on its simulated return stream).
    """

    id: int
    kind: OpKind
    children: tuple[int, ...] = ()
    ticker: str | None = None
    weights: tuple[float, ...] = ()
    window: int | None = None
    condition: Condition | None = None
    metric: Metric | None = None
    top: bool = True
    count: int = 0
    candidate_tickers: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Program:
    symphony: Symphony
    ops: tuple[Op, ...]  # children before parents; ops[i].id == i
    root: int
    node_ops: dict[int, int]  # id(ast node) -> op id
    tickers: tuple[str, ...]  # every ticker held or read, sorted (canonical: ``BRK.B``)
    # How the file spells a ticker where that differs from the canonical symbol
    # (``BRK.B`` -> ``BRK/B``), so messages show what the user wrote.
    spellings: dict[str, str] = field(default_factory=dict)

    def as_written(self, tickers: Iterable[str]) -> list[str]:
        """Return ``tickers`` spelled as the symphony file writes them."""
        return [self.spellings.get(t, t) for t in tickers]

    def parents_count(self) -> list[int]:
        """Return how many times each op is used as a child (for freeing results early)."""
        counts = [0] * len(self.ops)
        for op in self.ops:
            for child in op.children:
                counts[child] += 1
        return counts


def _operand_key(side: IndicatorCall | float) -> tuple[object, ...]:
    if isinstance(side, IndicatorCall):
        return ("ind", side.indicator, side.ticker, side.window)
    return ("num", float(side))


def tie_label(node: Node) -> str:
    """Return the label ties are broken by: the ticker of an asset, the name of a group."""
    if isinstance(node, Asset):
        return node.ticker
    if isinstance(node, Group):
        return node.name
    return ""


def tie_order(candidates: tuple[Node, ...]) -> list[int]:
    """Return candidate positions in tie-break order: alphabetical by label, then position."""
    return sorted(range(len(candidates)), key=lambda i: (tie_label(candidates[i]), i))


class _Interner:
    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.keys: dict[tuple[object, ...], int] = {}

    def intern(self, key: tuple[object, ...], make: dict[str, object]) -> int:
        found = self.keys.get(key)
        if found is not None:
            return found
        op = Op(id=len(self.ops), **make)  # type: ignore[arg-type]
        self.ops.append(op)
        self.keys[key] = op.id
        return op.id

    def equal(self, children: tuple[int, ...]) -> int:
        if not children:
            return self.intern((OpKind.EMPTY,), {"kind": OpKind.EMPTY})
        if len(children) == 1:
            return children[0]
        return self.intern((OpKind.EQUAL, children), {"kind": OpKind.EQUAL, "children": children})


def compile_symphony(symphony: Symphony) -> Program:
    """Intern the tree into a children-first program of unique operations."""
    interner = _Interner()
    node_ops: dict[int, int] = {}
    tickers: set[str] = set()
    spellings: dict[str, str] = {}

    def note(reference: Asset | IndicatorCall) -> None:
        tickers.add(reference.ticker)
        if reference.written is not None and reference.written != reference.ticker:
            spellings.setdefault(reference.ticker, reference.written)

    def ids(nodes: tuple[Node, ...]) -> tuple[int, ...]:
        return tuple(node_ops[id(n)] for n in nodes)

    for node in reversed(walk(symphony.root)):  # reversed pre-order: children first
        match node:
            case Asset(ticker=ticker):
                note(node)
                op_id = interner.intern(
                    (OpKind.ASSET, ticker), {"kind": OpKind.ASSET, "ticker": ticker}
                )
            case WeightEqual(children=children) | Group(children=children):
                op_id = interner.equal(ids(children))
            case WeightSpecified(weights=weights, children=children):
                key: tuple[object, ...] = (OpKind.SPECIFIED, weights, ids(children))
                op_id = interner.intern(
                    key, {"kind": OpKind.SPECIFIED, "weights": weights, "children": ids(children)}
                )
            case WeightInverseVolatility(window=window, children=children):
                key = (OpKind.INVERSE_VOLATILITY, window, ids(children))
                op_id = interner.intern(
                    key,
                    {
                        "kind": OpKind.INVERSE_VOLATILITY,
                        "window": window,
                        "children": ids(children),
                    },
                )
            case If(condition=condition, then=then, otherwise=otherwise):
                for side in (condition.lhs, condition.rhs):
                    if isinstance(side, IndicatorCall):
                        note(side)
                then_id = interner.equal(ids(then))
                else_id = interner.equal(ids(otherwise))
                key = (
                    OpKind.IF,
                    condition.comparator,
                    _operand_key(condition.lhs),
                    _operand_key(condition.rhs),
                    then_id,
                    else_id,
                )
                op_id = interner.intern(
                    key, {"kind": OpKind.IF, "children": (then_id, else_id), "condition": condition}
                )
            case Filter(metric=metric, top=top, count=count, candidates=candidates):
                ordered = tuple(candidates[i] for i in tie_order(candidates))
                child_ids = ids(ordered)
                cand_tickers = tuple(c.ticker if isinstance(c, Asset) else None for c in ordered)
                key = (
                    OpKind.FILTER,
                    metric.indicator,
                    metric.window,
                    top,
                    count,
                    child_ids,
                    cand_tickers,
                )
                op_id = interner.intern(
                    key,
                    {
                        "kind": OpKind.FILTER,
                        "children": child_ids,
                        "metric": metric,
                        "top": top,
                        "count": count,
                        "candidate_tickers": cand_tickers,
                    },
                )
            case _:  # pragma: no cover - the parser only produces the node types above
                raise TypeError(f"unknown node {type(node).__name__}")
        node_ops[id(node)] = op_id
    return Program(
        symphony=symphony,
        ops=tuple(interner.ops),
        root=node_ops[id(symphony.root)],
        node_ops=node_ops,
        tickers=tuple(sorted(tickers)),
        spellings=spellings,
    )
