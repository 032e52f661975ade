"""Evaluate a compiled symphony for every date of the data at once.

Each operation yields an :class:`Alloc`: the weights it holds on every row (date),
over the few tickers it can reach, and the first row on which it is valid.

Timing: the weights of row d use closes up to and including d (no look-ahead);
they are traded at d's close and earn from d+1 on.

Group scoring is exact: a sub-tree scored by a filter (or weighted by inverse
volatility) is scored on its own simulated daily return stream,
``r(d) = sum_s w(d-1, s) * r_s(d) / sum_s w(d-1, s)``, over the full window,
compounded into a price-like series that starts at 1.0 on the sub-tree's first
valid row. A sub-tree holding nothing on d-1 earns 0 on d (cash).

Validity (warm-up): an asset is valid from its first close; an indicator from the
row where its full window exists; every other operation from the latest start of
everything it uses (both branches of an ``if``, every filter candidate and score).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from alchemiser.dsl.ast import Comparator, IndicatorCall
from alchemiser.dsl.indicators import compute
from alchemiser.dsl.program import Op, OpKind, Program
from alchemiser.market.history import PriceHistory

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
Progress = Callable[[int, int], None]

_HOLD_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class Alloc:
    """Weights of one operation: ``weights[t, i]`` of ticker column ``cols[i]`` on row t.

    ``holds`` marks rows holding anything (None: every row). Rows before ``start``
    are not meaningful.
    """

    cols: IntArray
    weights: FloatArray
    start: int
    holds: BoolArray | None
    start_reason: str


@dataclass(frozen=True, slots=True)
class Series:
    """An indicator or score series with the first row on which it is valid."""

    values: FloatArray
    start: int
    reason: str


@dataclass
class OpRecord:
    """What an operation decided on the traced rows (row -> values)."""

    lhs: dict[int, float] = field(default_factory=dict)
    rhs: dict[int, float] = field(default_factory=dict)
    result: dict[int, bool] = field(default_factory=dict)
    scores: dict[int, list[float]] = field(default_factory=dict)
    kept: dict[int, list[bool]] = field(default_factory=dict)
    holds: dict[int, bool] = field(default_factory=dict)
    start: int = 0


def _first_valid(values: FloatArray) -> int:
    valid = ~np.isnan(values)
    return int(valid.argmax()) if valid.any() else len(values)


class Evaluator:
    """Evaluate one program against one price history (all dates at once)."""

    def __init__(self, program: Program, history: PriceHistory) -> None:
        history.require(program.tickers, program.spellings)
        self.program = program
        self.history = history
        self.rows = len(history.dates)
        self.col = history.ticker_index
        closes = history.closes
        returns = np.full_like(closes, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            returns[1:] = closes[1:] / closes[:-1] - 1.0
        self.returns: FloatArray = returns
        self.first_close = history.first_valid
        self._indicators: dict[tuple[str, str, int | None], Series] = {}
        self._streams: dict[int, FloatArray] = {}
        self._ones: FloatArray = np.ones((self.rows, 1))
        self._ones.setflags(write=False)
        self.records: dict[int, OpRecord] = {}
        self.trace_rows: tuple[int, ...] = ()

    # -- indicators ---------------------------------------------------------------

    def indicator(self, name: str, ticker: str, window: int | None) -> Series:
        key = (name, ticker, window)
        found = self._indicators.get(key)
        if found is None:
            values = compute(name, self.history.closes[:, self.col[ticker]], window)
            label = f'({name} "{ticker}"' + (f" {{:window {window}}})" if window else ")")
            start = _first_valid(values)
            found = Series(values, start, f"{label} first has a full window on {self._day(start)}")
            self._indicators[key] = found
        return found

    def _day(self, row: int) -> str:
        return str(self.history.dates[row]) if row < self.rows else "no day in the data"

    def _operand(self, side: IndicatorCall | float) -> Series:
        if isinstance(side, IndicatorCall):
            return self.indicator(side.indicator, side.ticker, side.window)
        return Series(np.full(self.rows, float(side)), 0, "")

    # -- streams ------------------------------------------------------------------

    def stream_prices(self, op_id: int, alloc: Alloc) -> FloatArray:
        """Return the sub-tree's compounded return stream (1.0 on its first valid row)."""
        found = self._streams.get(op_id)
        if found is not None:
            return found
        prices = np.full(self.rows, np.nan)
        start = alloc.start
        if start < self.rows:
            held = alloc.weights[start:-1]
            moves = self.returns[start + 1 :, alloc.cols]
            total = held.sum(axis=1)
            gross = np.einsum("ij,ij->i", held, np.nan_to_num(moves, nan=0.0))
            with np.errstate(divide="ignore", invalid="ignore"):
                daily = np.where(total > _HOLD_EPSILON, gross / total, 0.0)
            prices[start] = 1.0
            prices[start + 1 :] = np.cumprod(1.0 + daily)
        self._streams[op_id] = prices
        return prices

    def score(
        self, op_id: int, alloc: Alloc, ticker: str | None, name: str, window: int | None
    ) -> Series:
        if ticker is not None:
            return self.indicator(name, ticker, window)
        values = compute(name, self.stream_prices(op_id, alloc), window)
        start = _first_valid(values)
        return Series(
            values,
            start,
            f"the score ({name} {{:window {window}}}) of a sub-tree first has a full window on {self._day(start)}",
        )

    # -- combining ----------------------------------------------------------------

    def _combine(
        self, parts: list[tuple[Alloc, FloatArray | float]]
    ) -> tuple[IntArray, FloatArray]:
        if len(parts) == 1:
            alloc, factor = parts[0]
            scale = factor if isinstance(factor, float) else factor[:, None]
            return alloc.cols, alloc.weights * scale
        cols = np.unique(np.concatenate([a.cols for a, _ in parts]))
        out = np.zeros((self.rows, len(cols)))
        for alloc, factor in parts:
            idx = np.searchsorted(cols, alloc.cols)
            if len(idx) == 1:  # the common case (an asset): a plain column update
                out[:, idx[0]] += alloc.weights[:, 0] * factor
            else:
                out[:, idx] += alloc.weights * (
                    factor if isinstance(factor, float) else factor[:, None]
                )
        return cols, out

    @staticmethod
    def _latest(*items: tuple[int, str]) -> tuple[int, str]:
        return max(items, key=lambda item: item[0])

    def _holds(self, alloc: Alloc) -> BoolArray:
        if alloc.holds is None:
            return np.ones(self.rows, dtype=bool)
        return alloc.holds

    # -- operations ---------------------------------------------------------------

    def _asset(self, op: Op) -> Alloc:
        assert op.ticker is not None
        col = self.col[op.ticker]
        start = self.first_close[op.ticker]
        reason = f'"{op.ticker}" has its first close on {self._day(start)}'
        return Alloc(np.array([col], dtype=np.intp), self._ones, start, None, reason)

    def _empty(self) -> Alloc:
        return Alloc(
            np.zeros(0, dtype=np.intp),
            np.zeros((self.rows, 0)),
            0,
            np.zeros(self.rows, dtype=bool),
            "",
        )

    def _equal(self, children: list[Alloc]) -> Alloc:
        start, reason = self._latest(*((c.start, c.start_reason) for c in children))
        if all(c.holds is None for c in children):
            cols, weights = self._combine([(c, 1.0 / len(children)) for c in children])
            return Alloc(cols, weights, start, None, reason)
        count = np.zeros(self.rows)
        for child in children:
            count += self._holds(child)
        with np.errstate(divide="ignore"):
            share = np.where(count > 0, 1.0 / count, 0.0)
        cols, weights = self._combine([(c, share) for c in children])
        return Alloc(cols, weights, start, count > 0, reason)

    def _specified(self, op: Op, children: list[Alloc]) -> Alloc:
        start, reason = self._latest(*((c.start, c.start_reason) for c in children))
        total = float(sum(op.weights))
        if all(c.holds is None for c in children) or total == 0.0:
            cols, weights = self._combine(
                [(c, w) for c, w in zip(children, op.weights, strict=True)]
            )
            holds = None if total > 0 else np.zeros(self.rows, dtype=bool)
            return Alloc(cols, weights, start, holds, reason)
        # A child holding nothing is dropped; the others share its weight pro rata.
        holding = np.zeros(self.rows)
        for child, w in zip(children, op.weights, strict=True):
            holding += w * self._holds(child)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(holding > 0, total / holding, 0.0)
        cols, weights = self._combine(
            [(c, w * scale) for c, w in zip(children, op.weights, strict=True)]
        )
        return Alloc(cols, weights, start, holding > 0, reason)

    def _if(self, op: Op, then: Alloc, otherwise: Alloc) -> Alloc:
        condition = op.condition
        assert condition is not None
        lhs = self._operand(condition.lhs)
        rhs = self._operand(condition.rhs)
        with np.errstate(invalid="ignore"):
            chosen = _COMPARE[condition.comparator](lhs.values, rhs.values)
        start, reason = self._latest(
            (lhs.start, lhs.reason),
            (rhs.start, rhs.reason),
            (then.start, then.start_reason),
            (otherwise.start, otherwise.start_reason),
        )
        cols, weights = self._combine(
            [(then, chosen.astype(np.float64)), (otherwise, (~chosen).astype(np.float64))]
        )
        holds: BoolArray | None = None
        if then.holds is not None or otherwise.holds is not None:
            holds = np.where(chosen, self._holds(then), self._holds(otherwise))
        if self.trace_rows:
            record = self.records.setdefault(op.id, OpRecord(start=start))
            for row in self.trace_rows:
                record.lhs[row] = float(lhs.values[row])
                record.rhs[row] = float(rhs.values[row])
                record.result[row] = bool(chosen[row])
        return Alloc(cols, weights, start, holds, reason)

    def _filter(self, op: Op, children: list[Alloc]) -> Alloc:
        metric = op.metric
        assert metric is not None
        scores = [
            self.score(child_id, child, ticker, metric.indicator, metric.window)
            for child_id, child, ticker in zip(
                op.children, children, op.candidate_tickers, strict=True
            )
        ]
        start, reason = self._latest(
            *((c.start, c.start_reason) for c in children), *((s.start, s.reason) for s in scores)
        )
        matrix = np.column_stack([s.values for s in scores])
        usable = ~np.isnan(matrix)
        for j, child in enumerate(children):
            if child.holds is not None:
                usable[:, j] &= child.holds
        key = -matrix if op.top else matrix.copy()
        key[~usable] = np.inf
        order = np.argsort(key, axis=1, kind="stable")  # ties keep the alphabetical order
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(len(children))[None, :], axis=1)
        chosen_count = np.minimum(usable.sum(axis=1), op.count)
        kept = rank < chosen_count[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(chosen_count > 0, 1.0 / chosen_count, 0.0)
        cols, weights = self._combine(
            [(child, kept[:, j] * share) for j, child in enumerate(children)]
        )
        holds = None if op.count >= 1 and usable.all() else chosen_count > 0
        if self.trace_rows:
            record = self.records.setdefault(op.id, OpRecord(start=start))
            for row in self.trace_rows:
                record.scores[row] = [float(v) for v in matrix[row]]
                record.kept[row] = [bool(v) for v in kept[row]]
        return Alloc(cols, weights, start, holds, reason)

    def _inverse_volatility(self, op: Op, children: list[Alloc]) -> Alloc:
        vols = [
            self.score(child_id, child, self._bare_ticker(child_id), "stdev-return", op.window)
            for child_id, child in zip(op.children, children, strict=True)
        ]
        start, reason = self._latest(
            *((c.start, c.start_reason) for c in children), *((v.start, v.reason) for v in vols)
        )
        sigma = np.column_stack([v.values for v in vols])
        usable = ~np.isnan(sigma)
        for j, child in enumerate(children):
            if child.holds is not None:
                usable[:, j] &= child.holds
        zero = usable & (sigma == 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = np.where(usable & ~zero, 1.0 / sigma, 0.0)
        # A riskless child (sigma = 0) is the limit of 1/sigma -> infinity: it takes everything.
        any_zero = zero.any(axis=1)
        inverse[any_zero] = zero[any_zero].astype(np.float64)
        total = inverse.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total[:, None] > 0, inverse / total[:, None], 0.0)
        if self.trace_rows:
            record = self.records.setdefault(op.id, OpRecord(start=start))
            for row in self.trace_rows:
                record.scores[row] = [float(v) for v in sigma[row]]
                record.kept[row] = [bool(v) for v in share[row] > 0]
        cols, weights = self._combine([(child, share[:, j]) for j, child in enumerate(children)])
        return Alloc(cols, weights, start, total > 0, reason)

    def _bare_ticker(self, op_id: int) -> str | None:
        op = self.program.ops[op_id]
        return op.ticker if op.kind is OpKind.ASSET else None

    # -- driver -------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> Alloc:
        """Evaluate every operation children-first and return the root's weights."""
        program = self.program
        remaining = program.parents_count()
        results: dict[int, Alloc] = {}
        total = len(program.ops)
        for op in program.ops:
            children = [results[c] for c in op.children]
            results[op.id] = self._evaluate(op, children)
            if op.id in self.records or self.trace_rows:
                self.records.setdefault(op.id, OpRecord())
                record = self.records[op.id]
                record.start = results[op.id].start
                for row in self.trace_rows:
                    record.holds[row] = bool(self._holds(results[op.id])[row])
            for child in op.children:
                remaining[child] -= 1
                if remaining[child] == 0:
                    del results[child]
                    self._streams.pop(child, None)
            if progress is not None:
                progress(op.id + 1, total)
        return results[program.root]

    def _evaluate(self, op: Op, children: list[Alloc]) -> Alloc:
        match op.kind:
            case OpKind.ASSET:
                return self._asset(op)
            case OpKind.EMPTY:
                return self._empty()
            case OpKind.EQUAL:
                return self._equal(children)
            case OpKind.SPECIFIED:
                return self._specified(op, children)
            case OpKind.IF:
                return self._if(op, children[0], children[1])
            case OpKind.FILTER:
                return self._filter(op, children)
            case OpKind.INVERSE_VOLATILITY:
                return self._inverse_volatility(op, children)
        raise AssertionError(op.kind)  # pragma: no cover


_COMPARE: dict[Comparator, Callable[[FloatArray, FloatArray], BoolArray]] = {
    Comparator.GT: np.greater,
    Comparator.LT: np.less,
    Comparator.GE: np.greater_equal,
    Comparator.LE: np.less_equal,
    Comparator.EQ: np.equal,
}
