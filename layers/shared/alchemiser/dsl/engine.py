"""The engine's public entry points: evaluate a symphony over history or on one date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from alchemiser.dsl.ast import Symphony
from alchemiser.dsl.evaluator import Evaluator, FloatArray, OpRecord, Progress
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.dsl.trace import build_trace
from alchemiser.market.history import PriceHistory

_NOISE = 1e-12


class WarmupError(ValueError):
    """The date asked for lies before the symphony's first valid day."""


@dataclass(frozen=True)
class Allocation:
    """Target weights of a symphony on one date (fractions summing to 1)."""

    symphony: str
    as_of: date
    weights: dict[str, float]
    trace: dict[str, object] | None = None

    def to_json_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"as_of": self.as_of.isoformat(), "weights": self.weights}
        if self.trace is not None:
            out["trace"] = self.trace
        return out


@dataclass(frozen=True)
class AllocationHistory:
    """The allocation of one symphony on every date of the data.

    ``weights[t, j]`` is the target fraction of ``tickers[j]`` decided with the closes
    of ``dates[t]`` (traded at that close). Rows before ``start`` are zero (warm-up);
    a row after it that sums to 0 means the symphony held nothing (cash) that day.
    """

    program: Program
    dates: np.ndarray
    tickers: tuple[str, ...]
    weights: FloatArray
    start: int
    start_reason: str
    records: dict[int, OpRecord] = field(default_factory=dict, repr=False)

    @property
    def symphony(self) -> Symphony:
        return self.program.symphony

    @property
    def first_valid_day(self) -> date | None:
        return (
            date.fromisoformat(str(self.dates[self.start]))
            if self.start < len(self.dates)
            else None
        )

    def row_of(self, day: date) -> int:
        """Return the row of ``day`` exactly; raise if it is not a trading day of the data."""
        row = int(np.searchsorted(self.dates, np.datetime64(day, "D")))
        if row >= len(self.dates) or self.dates[row] != np.datetime64(day, "D"):
            last = str(self.dates[-1]) if len(self.dates) else "none"
            raise ValueError(f"{day} is not a trading day in the data (last day: {last})")
        return row

    def weights_at(self, row: int) -> dict[str, float]:
        """Return the non-zero target weights of one row, by ticker."""
        if row < self.start:
            first = self.first_valid_day
            raise WarmupError(
                f"{self.symphony.name!r} has no allocation on {self.dates[row]}: its first valid day is "
                f"{first or 'never (not enough data)'} because {self.start_reason}"
            )
        values = self.weights[row]
        return {t: float(values[j]) for j, t in enumerate(self.tickers) if values[j] > 0}


def evaluate_history(
    symphony: Symphony | Program,
    history: PriceHistory,
    *,
    progress: Progress | None = None,
    trace_days: Iterable[date] = (),
) -> AllocationHistory:
    """Evaluate the symphony on every date of ``history`` at once."""
    program = symphony if isinstance(symphony, Program) else compile_symphony(symphony)
    evaluator = Evaluator(program, history)
    evaluator.trace_rows = tuple(history.index_on_or_before(d) for d in trace_days)
    root = evaluator.run(progress)
    total = root.weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where(total[:, None] > _NOISE, root.weights / total[:, None], 0.0)
    weights[weights < _NOISE] = 0.0
    start = min(root.start, len(history.dates))
    weights[:start] = 0.0
    held = tuple(history.tickers[c] for c in root.cols)
    order = np.argsort(held)
    return AllocationHistory(
        program=program,
        dates=history.dates,
        tickers=tuple(held[i] for i in order),
        weights=np.ascontiguousarray(weights[:, order]),
        start=start,
        start_reason=root.start_reason,
        records=evaluator.records,
    )


def evaluate_on(
    symphony: Symphony | Program, history: PriceHistory, day: date, *, trace: bool = False
) -> Allocation:
    """Return the allocation decided with the closes of ``day`` (data after it is ignored)."""
    program = symphony if isinstance(symphony, Program) else compile_symphony(symphony)
    upto = history.truncate(day)
    if len(upto.dates) == 0 or upto.dates[-1] != np.datetime64(day, "D"):
        last = str(upto.dates[-1]) if len(upto.dates) else "none"
        raise ValueError(
            f"{day} is not a trading day in the data (last trading day on or before it: {last})"
        )
    result = evaluate_history(program, upto, trace_days=[day] if trace else [])
    row = len(upto.dates) - 1
    if row < result.start:
        # The allocation never looks past ``day``; only this message looks at the full
        # data, to tell the user when the symphony does become valid.
        whole = (
            evaluate_history(program, history) if len(history.dates) > len(upto.dates) else result
        )
        first = whole.first_valid_day
        raise WarmupError(
            f"{program.symphony.name!r} has no allocation on {day}: its first valid day "
            f"{'in this data is ' + str(first) if first else 'never comes in this data'} "
            f"because {whole.start_reason}"
        )
    weights = result.weights_at(row)
    return Allocation(
        symphony=program.symphony.name,
        as_of=day,
        weights=weights,
        trace=build_trace(result, row) if trace else None,
    )
