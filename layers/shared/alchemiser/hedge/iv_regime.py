"""The implied-volatility regime: today's ATM IV against the stored daily history.

Rule (``HedgeLimits``): the percentile of today's 30-day ATM IV is the share of the
last ``iv_lookback_days`` stored days whose IV was lower. At or above
``iv_high_percentile`` the regime is **high** and the payoff target is scaled by
``iv_high_payoff_scale`` (protection is dearest exactly then; the budget still caps
what is spent). At or below 0.20 it is **low**, otherwise **normal**; neither scales.

While fewer than ``iv_min_days`` days are stored (a new account, a new underlying), the
percentile means little: the regime is **normal** (no scaling) and the reading says
how many days are stored, so the run reports why the rule was not applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from alchemiser.hedge.policy import HedgeLimits

LOW_PERCENTILE = 0.20


class IvRegime(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True)
class RegimeReading:
    regime: IvRegime
    atm_iv: float
    percentile: float | None  # None while too few days are stored
    days_stored: int
    payoff_scale: Decimal
    note: str


def iv_regime(stored: Sequence[float], atm_iv: float, limits: HedgeLimits) -> RegimeReading:
    """Classify ``atm_iv`` against ``stored`` (earlier days' ATM IVs, oldest first)."""
    window = list(stored)[-limits.iv_lookback_days :]
    if len(window) < limits.iv_min_days:
        return RegimeReading(
            IvRegime.NORMAL,
            atm_iv,
            None,
            len(window),
            Decimal(1),
            f"ATM IV {atm_iv:.1%}; {len(window)} of {limits.iv_min_days} days stored, so the "
            "percentile rule is not applied yet (regime normal, no scaling)",
        )
    percentile = sum(1 for v in window if v < atm_iv) / len(window)
    where = f"ATM IV {atm_iv:.1%} is at the {percentile:.0%} percentile of {len(window)} days"
    if percentile >= limits.iv_high_percentile:
        scale = limits.iv_high_payoff_scale
        return RegimeReading(
            IvRegime.HIGH, atm_iv, percentile, len(window), scale,
            f"{where}: regime high, payoff target scaled by {scale}",
        )  # fmt: skip
    regime = IvRegime.LOW if percentile <= LOW_PERCENTILE else IvRegime.NORMAL
    return RegimeReading(
        regime, atm_iv, percentile, len(window), Decimal(1), f"{where}: regime {regime.value}"
    )


class IvStore(Protocol):
    """Where the daily ATM IV readings live (``IvHistory`` in memory; the hedge store)."""

    def record(self, underlying: str, day: date, atm_iv: float) -> None: ...

    def before(self, underlying: str, day: date) -> list[float]: ...


class IvHistory:
    """Daily ATM IV per underlying, kept in memory (the hedge store keeps it for live runs)."""

    def __init__(self, days: dict[str, dict[date, float]] | None = None) -> None:
        self._days: dict[str, dict[date, float]] = days if days is not None else {}

    def days(self) -> dict[str, dict[date, float]]:
        """Return every stored reading by underlying and day (the store saves this)."""
        return self._days

    def record(self, underlying: str, day: date, atm_iv: float) -> None:
        """Store the day's reading (a re-run of the same day replaces it)."""
        self._days.setdefault(underlying, {})[day] = atm_iv

    def before(self, underlying: str, day: date) -> list[float]:
        """Return the stored readings of days before ``day``, oldest first."""
        days = self._days.get(underlying, {})
        return [days[d] for d in sorted(days) if d < day]
