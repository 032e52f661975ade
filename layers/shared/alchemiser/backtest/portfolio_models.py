"""What the portfolio backtest takes and gives: books, settings, the simulated path.

See :mod:`alchemiser.backtest.portfolio` for the day-by-day rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from alchemiser.backtest.portfolio_rules import BoolArray, CostModel, FloatArray, Slots
from alchemiser.backtest.rebalance import RebalanceFrequency
from alchemiser.books.capital_policy import DEFAULT_CAPITAL_POLICY, CapitalDecision, CapitalPolicy
from alchemiser.books.planning import PlanningSettings
from alchemiser.settings import Settings

DateArray = npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class BookSchedule:
    """One book as the simulation sees it: its targets on every row of the calendar."""

    book_id: str
    share: Decimal
    tickers: tuple[str, ...]  # the tickers its symphony can hold (columns of ``weights``)
    weights: FloatArray  # days x tickers; rows before ``start`` are zero
    start: int  # first valid row (its warm-up done)
    frequency: RebalanceFrequency
    threshold: float | None
    reason: str = ""  # why the symphony becomes valid on ``start`` (the engine's words)


@dataclass(frozen=True)
class PortfolioSettings:
    """The account's starting cash, capital policy, costs and planning limits."""

    capital: Decimal = Decimal("100000")
    policy: CapitalPolicy = DEFAULT_CAPITAL_POLICY
    costs: CostModel = field(default_factory=CostModel)
    planning: PlanningSettings = field(default_factory=PlanningSettings)

    def __post_init__(self) -> None:
        if not self.capital > 0:
            raise ValueError(f"the starting capital must be > 0, was {self.capital}")

    @classmethod
    def from_settings(
        cls, settings: Settings, policy: CapitalPolicy, *, slippage_bps: float | None = None
    ) -> PortfolioSettings:
        """Return a local run's account: its starting cash, its broker's costs, its limits.

        ``slippage_bps``, when given, replaces the broker's spread and slippage by that
        cost per traded notional (as in a symphony backtest).
        """
        costs = CostModel(float(settings.sim_spread_bps), float(settings.sim_slippage_bps))
        if slippage_bps is not None:
            costs = CostModel(0.0, slippage_bps)
        return cls(
            capital=settings.sim_initial_cash,
            policy=policy,
            costs=costs,
            planning=PlanningSettings.from_settings(settings),
        )


@dataclass(frozen=True)
class DayInspection:
    """Every book's state before trading on one day, and the trades it made (for tests)."""

    day: date
    values: FloatArray  # per slot, at the close, after the day's return
    cash: FloatArray  # per book, after the day's transfers
    nav: FloatArray  # per book, after the day's transfers
    weights: FloatArray  # per slot: the targets
    closes: FloatArray  # per symbol
    trading: BoolArray  # per book: it planned a rebalance
    forced: BoolArray  # per book: first day or capital changed
    scheduled: BoolArray  # per book: a candidate day of its symphony
    trades: FloatArray  # per slot, dollars at the close


@dataclass(frozen=True)
class PortfolioPath:
    """The simulated account on rows ``first..`` of the calendar (one row per day)."""

    first: int
    dates: DateArray
    value: FloatArray  # the account (NAVs + pool) after each close
    pool: FloatArray
    nav: FloatArray  # days x books, after each close (0 before a book joins)
    transfers: FloatArray  # days x books, received from the pool that day
    book_returns: FloatArray  # days x books (0 before a book joins)
    joined: tuple[int | None, ...]  # row (into ``dates``) each book joined, None: never
    book_traded: FloatArray  # days x books: two-sided traded fraction of the book's NAV
    book_costs: FloatArray  # days x books: costs paid, dollars (negative: crossed at a gain)
    account_traded: FloatArray  # per day: net orders' notional / account value
    values: FloatArray  # days x slots: position values after each close
    slots: Slots
    decisions: tuple[CapitalDecision, ...]  # the days with a transfer or a rebalance
    inspections: dict[date, DayInspection]

    def account_returns(self, capital: float) -> FloatArray:
        """Return the account's daily returns; the first day's is against the starting cash."""
        previous = np.concatenate(([capital], self.value[:-1]))
        returns: FloatArray = self.value / previous - 1.0
        return returns
