"""The hedge policy of a stage (``hedge:`` in books.yaml) and the rules behind it.

``books.yaml``, per stage (no ``hedge:`` key: hedging is off)::

    hedge:
      underlying: auto          # or QQQ / SPY
      template: tail            # or spread
      protect: {move: -0.20, payoff: 0.08}    # pay 8 % of NAV if the underlying falls 20 %
      budget: {monthly: 0.005, yearly: 0.04}  # premium caps, fractions of NAV

Templates (``TEMPLATES``): ``tail`` buys puts near 15 delta with 60-120 days to expiry;
``spread`` buys a put near 30 delta and sells one near 10 delta of the same expiry, as
one multi-leg order. Both roll at 30 days to expiry. The rest of the rules are
``HedgeLimits`` (defaults below); they are the library's, not the YAML's, so that the
file keeps the shape users and checks rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HedgeUnderlying(StrEnum):
    AUTO = "auto"
    QQQ = "QQQ"
    SPY = "SPY"


CANDIDATE_UNDERLYINGS: tuple[str, ...] = ("QQQ", "SPY")


class HedgeTemplate(StrEnum):
    TAIL = "tail"
    SPREAD = "spread"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Protect(_Frozen):
    """Pay ``payoff`` x NAV if the underlying moves by ``move`` (a fall: negative)."""

    move: Decimal = Field(ge=Decimal("-0.9"), le=Decimal("-0.01"))
    payoff: Decimal = Field(gt=0, le=Decimal("0.5"))


class Budget(_Frozen):
    """Premium caps as fractions of NAV: month to date and over the last 12 months."""

    monthly: Decimal = Field(gt=0, le=Decimal("0.05"))
    yearly: Decimal = Field(gt=0, le=Decimal("0.5"))

    @model_validator(mode="after")
    def _month_within_year(self) -> Budget:
        if self.monthly > self.yearly:
            raise ValueError(
                f"the monthly budget ({self.monthly}) cannot exceed the yearly one ({self.yearly})"
            )
        return self


class HedgePolicy(_Frozen):
    underlying: HedgeUnderlying
    template: HedgeTemplate
    protect: Protect
    budget: Budget

    def describe(self) -> str:
        """Return one line a user can read back (used by validate and the reports)."""
        return (
            f"{self.template.value} on {self.underlying.value}: pay "
            f"{self.protect.payoff:.1%} of NAV at a {self.protect.move:.0%} move; premium at "
            f"most {self.budget.monthly:.2%} a month, {self.budget.yearly:.2%} a year"
        )


@dataclass(frozen=True)
class TemplateSpec:
    """Which puts a template buys (and sells) and when it rolls them."""

    long_delta: float  # |delta| targeted for the bought put
    short_delta: float | None  # |delta| of the sold put (spreads), None for a single put
    min_dte: int
    max_dte: int
    roll_dte: int  # roll once days to expiry fall to this
    delta_band: tuple[float, float]  # roll when the long put's |delta| leaves this band
    cadence_days: int | None  # spreads: re-strike after this many days held


TEMPLATES: dict[HedgeTemplate, TemplateSpec] = {
    HedgeTemplate.TAIL: TemplateSpec(0.15, None, 60, 120, 30, (0.03, 0.60), None),
    HedgeTemplate.SPREAD: TemplateSpec(0.30, 0.10, 60, 120, 30, (0.08, 0.75), 45),
}


class HedgeLimits(_Frozen):
    """Limits that apply to every policy (the library's defaults)."""

    max_position_nav: Decimal = Field(Decimal("0.02"), gt=0, le=1)  # premium of one hedge
    max_open_hedges: int = Field(3, ge=1)
    max_slippage: Decimal = Field(Decimal("0.10"), ge=0, le=1)  # of the mid, per order
    max_spread_pct: Decimal = Field(Decimal("0.15"), gt=0)  # bid/ask spread over mid
    min_open_interest: int = Field(100, ge=0)
    min_mid: Decimal = Field(Decimal("0.10"), ge=0)  # per share
    max_quote_age_s: float = Field(120.0, gt=0)
    short_assignment_dte: int = Field(5, ge=0)  # close a short leg this near expiry...
    short_assignment_itm: Decimal = Field(Decimal("0.0"), ge=0)  # ...or this far in the money
    iv_min_days: int = Field(60, ge=1)  # stored ATM IV days before the percentile is used
    iv_lookback_days: int = Field(252, ge=20)
    iv_high_percentile: float = Field(0.80, gt=0, le=1)
    iv_high_payoff_scale: Decimal = Field(Decimal("0.5"), ge=0, le=1)
