"""The data-quality part of ``eval``, ``backtest`` and ``validate --data``.

Each command runs the check the daily cycle applies (``alchemiser.backtest.data_check``)
on the closes the symphony reads and prints what it found, with the allocations that
depended on a flagged close. With ``--strict`` a command refuses to go on instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date

from alchemiser.backtest.data_check import DataCheck, check_symphony_data, with_holdings
from alchemiser.backtest.symphony import SymphonyBacktest, backtest_symphony
from alchemiser.cli.output import fail, percent
from alchemiser.dsl.engine import Allocation, evaluate_on
from alchemiser.dsl.program import Program
from alchemiser.market.history import PriceHistory
from alchemiser.market.quality import neutralised


def refuse(check: DataCheck, what: str) -> int:
    """Print the findings and the refusal of a ``--strict`` command; return its exit code."""
    for line in check.lines():
        print(line, file=sys.stderr)
    return fail(
        f"--strict: not {what}: the data-quality check flagged {len(check.report.issues)} "
        "issue(s) in the closes this symphony reads"
    )


@dataclass(frozen=True)
class EvalCheck:
    """The check of one day's allocation, and that allocation without the flagged closes."""

    check: DataCheck
    day: date
    without: Allocation | None  # set when the day's allocation depends on a flagged close

    def to_json_dict(self) -> dict[str, object]:
        out = {"issues": self.check.to_json_dict()["issues"], "depends": self.without is not None}
        if self.without is not None:
            out["weights_without_flagged"] = self.without.weights
        return out

    def lines(self) -> list[str]:
        if self.check.ok:
            return self.check.lines()
        lines = self.check.lines(decided=False)
        if self.without is None:
            lines.append(f"  the allocation of {self.day} does not depend on them")
        else:
            weights = ", ".join(
                f"{t} {w:.2%}" for t, w in sorted(self.without.weights.items(), key=lambda i: -i[1])
            )
            lines.append(
                f"  the allocation of {self.day} depends on them: without them it would be "
                f"{weights or 'nothing (cash)'}"
            )
        return lines


def check_eval(program: Program, history: PriceHistory, day: date) -> EvalCheck:
    """Check the closes the allocation of ``day`` reads, and what it would be without them."""
    check = check_symphony_data(program, history, day, first_day=day)
    if day not in check.decided:
        return EvalCheck(check, day, None)
    clean = neutralised(history.truncate(day), check.flagged_moves)
    return EvalCheck(check, day, evaluate_on(program, clean, day))


@dataclass(frozen=True)
class BacktestCheck:
    """The check of a backtest's closes, and the backtest again without the flagged ones."""

    check: DataCheck
    without: SymphonyBacktest | None

    def to_json_dict(self) -> dict[str, object]:
        out = self.check.to_json_dict()
        if self.without is not None:
            metrics = self.without.result.metrics
            out["without_flagged"] = {
                "total_return": metrics.total_return,
                "max_drawdown": metrics.max_drawdown,
            }
        return out

    def lines(self) -> list[str]:
        lines = self.check.lines()
        if self.without is not None:
            metrics = self.without.result.metrics
            lines.append(
                f"  without the flagged closes: total return {percent(metrics.total_return)}, "
                f"max drawdown {percent(metrics.max_drawdown)}"
            )
        return lines


def check_backtest(
    program: Program,
    history: PriceHistory,
    backtest: SymphonyBacktest,
    *,
    slippage_bps: float,
) -> BacktestCheck:
    """Check the closes a backtest read; backtest again on them made ordinary if need be."""
    result = backtest.result
    metrics = result.metrics
    check = check_symphony_data(
        program, history, metrics.end, first_day=metrics.start, allocations=backtest.allocations
    )
    check = with_holdings(check, result)
    if not (check.decided or check.held):
        return BacktestCheck(check, None)
    clean = neutralised(history.truncate(metrics.end), check.flagged_moves)
    without = backtest_symphony(
        program, clean, start=metrics.start, end=metrics.end, slippage_bps=slippage_bps
    )
    return BacktestCheck(check, without)
