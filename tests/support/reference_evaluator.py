"""A slow, obviously-correct evaluator used to check the fast engine.

It evaluates the *tree* (not the interned program) one date at a time, straight
from the definitions in the spec, with plain Python loops and lists. Nothing here
shares code with the engine: indicators are re-derived from their formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from alchemiser.dsl.ast import (
    Asset,
    Comparator,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Node,
    Symphony,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from alchemiser.market.history import PriceHistory

Weights = dict[str, float]
Prices = list[float | None]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _sample_stdev(xs: list[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def indicator_at(name: str, prices: Prices, window: int | None, d: int) -> float | None:
    """Return the indicator on day d from the closes, or None without a full window."""
    first = next((i for i, p in enumerate(prices) if p is not None), None)
    if first is None or d < first:
        return None
    closes: list[float] = [p for p in prices[first : d + 1] if p is not None]
    n = len(closes)
    w = window or 1
    if name == "current-price":
        return closes[-1]
    if name == "moving-average-price":
        return _mean(closes[-w:]) if n >= w else None
    if name == "stdev-price":
        return _sample_stdev(closes[-w:]) if n >= w else None
    if name == "max-drawdown":
        if n < w:
            return None
        worst, peak = 0.0, closes[-w]
        for p in closes[-w:]:
            peak = max(peak, p)
            worst = max(worst, (peak - p) / peak)
        return worst * 100
    if name == "exponential-moving-average-price":
        if n < w:
            return None
        alpha, ema = 2 / (w + 1), closes[0]
        for p in closes[1:]:
            ema = alpha * p + (1 - alpha) * ema
        return ema
    returns = [closes[i] / closes[i - 1] - 1 for i in range(1, n)]
    if name == "cumulative-return":
        return (closes[-1] / closes[-1 - w] - 1) * 100 if n > w else None
    if name == "moving-average-return":
        return _mean(returns[-w:]) * 100 if len(returns) >= w else None
    if name == "stdev-return":
        return _sample_stdev(returns[-w:]) * 100 if len(returns) >= w else None
    if name == "rsi":
        if len(returns) < w:
            return None
        changes = [closes[i] - closes[i - 1] for i in range(1, n)]
        gain = _mean([max(c, 0.0) for c in changes[:w]])
        loss = _mean([max(-c, 0.0) for c in changes[:w]])
        for c in changes[w:]:
            gain = (gain * (w - 1) + max(c, 0.0)) / w
            loss = (loss * (w - 1) + max(-c, 0.0)) / w
        if loss == 0:
            return 100.0 if gain > 0 else 50.0
        return 100 - 100 / (1 + gain / loss)
    raise ValueError(name)


_COMPARE: dict[Comparator, Callable[[float, float], bool]] = {
    Comparator.GT: lambda a, b: a > b,
    Comparator.LT: lambda a, b: a < b,
    Comparator.GE: lambda a, b: a >= b,
    Comparator.LE: lambda a, b: a <= b,
    Comparator.EQ: lambda a, b: a == b,
}


class ReferenceEvaluator:
    """Evaluate a symphony tree day by day; None means 'not valid yet' (warm-up)."""

    def __init__(self, symphony: Symphony, history: PriceHistory) -> None:
        self.symphony = symphony
        self.days = len(history.dates)
        self.prices: dict[str, Prices] = {
            t: [None if math.isnan(v) else float(v) for v in history.column(t)]
            for t in history.tickers
        }
        self._memo: dict[tuple[int, int], Weights | None] = {}
        self._streams: dict[int, Prices] = {}

    def allocation(self, d: int) -> Weights | None:
        """Return the root's weights on day d, normalised to sum to 1."""
        weights = self.weights(self.symphony.root, d)
        if weights is None:
            return None
        total = sum(weights.values())
        return {t: w / total for t, w in weights.items() if w > 0} if total > 0 else {}

    def weights(self, node: Node, d: int) -> Weights | None:
        key = (id(node), d)
        if key not in self._memo:
            self._memo[key] = self._weights(node, d)
        return self._memo[key]

    def _branch(self, nodes: tuple[Node, ...], d: int) -> Weights | None:
        return self._equal(list(nodes), d)

    def _equal(self, nodes: list[Node], d: int) -> Weights | None:
        parts = [self.weights(n, d) for n in nodes]
        if any(p is None for p in parts):
            return None
        holding = [p for p in parts if p and sum(p.values()) > 0]
        return self._mix([(p, 1 / len(holding)) for p in holding if p is not None])

    @staticmethod
    def _mix(parts: list[tuple[Weights, float]]) -> Weights:
        out: Weights = {}
        for part, share in parts:
            for ticker, w in part.items():
                out[ticker] = out.get(ticker, 0.0) + w * share
        return out

    def _value(self, side: IndicatorCall | float, d: int) -> float | None:
        if isinstance(side, IndicatorCall):
            return indicator_at(side.indicator, self.prices[side.ticker], side.window, d)
        return float(side)

    def _condition(self, condition: Condition, d: int) -> bool | None:
        lhs, rhs = self._value(condition.lhs, d), self._value(condition.rhs, d)
        if lhs is None or rhs is None:
            return None
        return _COMPARE[condition.comparator](lhs, rhs)

    def stream(self, node: Node) -> Prices:
        """Return the node's compounded daily return stream, 1.0 on its first valid day."""
        if id(node) in self._streams:
            return self._streams[id(node)]
        out: Prices = [None] * self.days
        previous: Weights | None = None
        level = 1.0
        for d in range(self.days):
            today = self.weights(node, d)
            if previous is not None:
                total = sum(previous.values())
                if total > 0:
                    daily = sum(
                        w * (self.prices[t][d] / self.prices[t][d - 1] - 1)
                        for t, w in previous.items()
                    )  # type: ignore[operator]
                    level *= 1 + daily / total
                out[d] = level
            elif today is not None:
                out[d] = level  # first valid day
            if today is not None:
                previous = today
        self._streams[id(node)] = out
        return out

    def _score(self, node: Node, name: str, window: int | None, d: int) -> float | None:
        if isinstance(node, Asset):
            return indicator_at(name, self.prices[node.ticker], window, d)
        return indicator_at(name, self.stream(node), window, d)

    def _weights(self, node: Node, d: int) -> Weights | None:
        match node:
            case Asset(ticker=ticker):
                return {ticker: 1.0} if self.prices[ticker][d] is not None else None
            case WeightEqual(children=children) | Group(children=children):
                return self._equal(list(children), d)
            case WeightSpecified(weights=shares, children=children):
                parts = [self.weights(c, d) for c in children]
                if any(p is None for p in parts):
                    return None
                holding = [
                    (p, s) for p, s in zip(parts, shares, strict=True) if p and sum(p.values()) > 0
                ]
                used = sum(s for _, s in holding)
                return (
                    self._mix([(p, s * sum(shares) / used) for p, s in holding if p is not None])
                    if used
                    else {}
                )
            case If(condition=condition, then=then, otherwise=otherwise):
                chosen = self._condition(condition, d)
                then_w, else_w = self._branch(then, d), self._branch(otherwise, d)
                if chosen is None or then_w is None or else_w is None:
                    return None
                return then_w if chosen else else_w
            case Filter(metric=metric, top=top, count=count, candidates=candidates):
                parts = [self.weights(c, d) for c in candidates]
                scores = [self._score(c, metric.indicator, metric.window, d) for c in candidates]
                if any(p is None for p in parts) or any(s is None for s in scores):
                    return None
                labels = [
                    c.ticker if isinstance(c, Asset) else c.name if isinstance(c, Group) else ""
                    for c in candidates
                ]
                # A candidate holding nothing cannot be picked.
                usable = [i for i in range(len(candidates)) if sum(parts[i].values()) > 0]  # type: ignore[union-attr]
                ranked = sorted(
                    usable,
                    key=lambda i: (-scores[i] if top else scores[i], labels[i], i),  # type: ignore[operator]
                )
                kept = ranked[:count]
                if not kept:
                    return {}
                return self._mix([(parts[i], 1 / len(kept)) for i in kept])  # type: ignore[misc]
            case WeightInverseVolatility(window=window, children=children):
                parts = [self.weights(c, d) for c in children]
                vols = [self._score(c, "stdev-return", window, d) for c in children]
                if any(p is None for p in parts) or any(v is None for v in vols):
                    return None
                inverse = [1 / v for v in vols]  # type: ignore[operator]
                return self._mix(
                    [(p, x / sum(inverse)) for p, x in zip(parts, inverse, strict=True)]
                )  # type: ignore[misc]
        raise TypeError(node)
