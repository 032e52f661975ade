"""Payoff-first sizing of a new hedge, clipped by every cap, with each clip explained.

1. **Target**: pay ``protect.payoff`` x NAV at the policy's move, scaled by the IV
   regime, no more than the books would lose there (``equity delta x |move|``: a book
   that gains in a fall needs no protection), less what the hedges already held pay.
2. **Contracts** = ceil(target / what one contract pays at the move). What it pays is
   the structure's Black-Scholes value with the underlying moved by ``move`` today, at
   each leg's own implied vol (sticky strike); the intrinsic value is its floor.
3. **Caps**, each with the worst price execution may pay (``Structure.max_price``:
   the far side, or mid + ``max_slippage`` when that is lower): premium month to date
   and over the last 12 months, premium of one position (``max_position_nav``), the
   hedge book's cash (``cash``: what its funding gave it, never another book's), open
   hedges (``max_open_hedges``) and the account's delta (the hedge's delta may offset,
   never exceed, the delta left after the options already held: no overshoot short).

Whole contracts only; every cap that binds is reported as a ``Clip`` with its numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from alchemiser.broker.options_models import CONTRACT_MULTIPLIER, OptionRight
from alchemiser.hedge.chain import ChainOption, Pick
from alchemiser.hedge.policy import Budget, HedgeLimits, Protect
from alchemiser.hedge.pricing import black_scholes, intrinsic, years_between
from alchemiser.money import CENT, to_decimal

_SIZE = Decimal(CONTRACT_MULTIPLIER)


@dataclass(frozen=True)
class StructureLeg:
    """One leg of a hedge as quoted now (prices per share; ratio +1 bought, -1 sold)."""

    symbol: str
    right: OptionRight
    strike: Decimal
    expiry: date
    ratio: int
    bid: Decimal
    ask: Decimal
    delta: float
    implied_vol: float

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True)
class Structure:
    """A hedge's legs; per-share figures are for one unit (one contract of each leg)."""

    underlying: str
    legs: tuple[StructureLeg, ...]

    @property
    def net_mid(self) -> Decimal:
        return sum((leg.ratio * leg.mid for leg in self.legs), Decimal(0))

    @property
    def net_far(self) -> Decimal:
        """Return the worst net price of buying the unit (asks paid, bids received)."""
        return sum(
            (leg.ratio * (leg.ask if leg.ratio > 0 else leg.bid) for leg in self.legs), Decimal(0)
        )

    @property
    def delta(self) -> float:
        return sum(leg.ratio * leg.delta for leg in self.legs)

    def max_price(self, max_slippage: Decimal) -> Decimal:
        """Return the most execution may pay per share: min(far side, mid x (1 + slippage))."""
        capped = self.net_mid * (1 + max_slippage)
        return min(self.net_far, capped).quantize(CENT, rounding=ROUND_CEILING)

    def value_at(self, spot: float, today: date) -> float:
        """Return the unit's Black-Scholes value per share at ``spot`` (legs' own IVs)."""
        total = 0.0
        for leg in self.legs:
            years = years_between((leg.expiry - today).days)
            value = black_scholes(leg.right.value, spot, float(leg.strike), years, leg.implied_vol)
            total += leg.ratio * value.price
        return total

    def intrinsic_at(self, spot: float) -> float:
        return sum(
            leg.ratio * intrinsic(leg.right.value, spot, float(leg.strike)) for leg in self.legs
        )


def _leg(option: ChainOption, ratio: int) -> StructureLeg:
    snapshot = option.snapshot
    if snapshot is None or snapshot.greeks is None or snapshot.implied_vol is None:
        raise ValueError(f"{option.symbol} has no quote with IV and greeks: it cannot be sized")
    contract = option.contract
    return StructureLeg(
        symbol=contract.symbol, right=contract.right, strike=contract.strike,
        expiry=contract.expiry, ratio=ratio, bid=snapshot.bid, ask=snapshot.ask,
        delta=snapshot.greeks.delta, implied_vol=snapshot.implied_vol,
    )  # fmt: skip


def structure_from_pick(pick: Pick, underlying: str) -> Structure:
    legs = [_leg(pick.long, 1)] + ([_leg(pick.short, -1)] if pick.short else [])
    return Structure(underlying, tuple(legs))


@dataclass(frozen=True)
class Clip:
    """A rule that lowered the hedge, with the numbers that made it bind."""

    rule: str
    before: int | Decimal
    after: int | Decimal
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass(frozen=True)
class SizingInputs:
    nav: Decimal
    equity_delta: Decimal  # the books' dollar delta to the underlying
    net_delta: Decimal  # the same with the options already held netted in
    spot: Decimal
    today: date
    held_payoff: Decimal  # what the hedges already held pay at the move (dollars)
    spent_month: Decimal
    spent_year: Decimal
    open_hedges: int
    payoff_scale: Decimal = Decimal(1)  # from the IV regime
    regime_note: str = ""
    cash: Decimal | None = None  # the hedge book's cash it may spend (None: not limited)


@dataclass(frozen=True)
class SizingDecision:
    contracts: int
    target_payoff: Decimal  # dollars wanted at the move after every payoff rule
    unit_payoff: Decimal  # dollars one unit pays at the move
    unit_cost: Decimal  # dollars one unit may cost at most
    max_price: Decimal  # per share: execution never pays more
    clips: tuple[Clip, ...]

    @property
    def premium_cap(self) -> Decimal:
        return self.contracts * self.unit_cost

    @property
    def promised_payoff(self) -> Decimal:
        return self.contracts * self.unit_payoff


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def payoff_target(inputs: SizingInputs, protect: Protect, clips: list[Clip]) -> Decimal:
    """Return the dollars a new hedge should pay at the move; append the payoff clips."""
    wanted = (protect.payoff * inputs.nav).quantize(CENT)
    scaled = (wanted * inputs.payoff_scale).quantize(CENT)
    if scaled < wanted:
        clips.append(
            Clip(
                "iv regime",
                wanted,
                scaled,
                f"{inputs.regime_note}: target {_money(wanted)} -> {_money(scaled)}",
            )
        )
    loss = (max(inputs.equity_delta, Decimal(0)) * -protect.move).quantize(CENT)
    target = scaled
    if loss < target:
        clips.append(Clip(
            "exposure", target, loss,
            f"the books lose {_money(loss)} at a {protect.move:.0%} move "
            f"({_money(inputs.equity_delta)} of delta), less than the {_money(target)} target",
        ))  # fmt: skip
        target = loss
    if inputs.held_payoff > 0:
        left = max(target - inputs.held_payoff, Decimal(0))
        clips.append(Clip(
            "held hedges", target, left,
            f"hedges held already pay {_money(inputs.held_payoff)} at {protect.move:.0%}",
        ))  # fmt: skip
        target = left
    return target


def _cap(
    clips: list[Clip], rule: str, wanted: int, money_left: Decimal, unit: Decimal, what: str
) -> int:
    allowed = (
        max(int((money_left / unit).to_integral_value(ROUND_FLOOR)), 0) if unit > 0 else wanted
    )
    if allowed >= wanted:
        return wanted
    clips.append(Clip(
        rule, wanted, allowed,
        f"{wanted} x up to {_money(unit)} = {_money(wanted * unit)} but {_money(max(money_left, Decimal(0)))} "
        f"left {what}: {allowed} contract(s)",
    ))  # fmt: skip
    return allowed


def size_hedge(
    inputs: SizingInputs,
    structure: Structure,
    protect: Protect,
    budget: Budget,
    limits: HedgeLimits,
) -> SizingDecision:
    """Return how many units of ``structure`` to buy now, and every clip that applied."""
    clips: list[Clip] = []
    moved = float(inputs.spot) * (1 + float(protect.move))
    unit_payoff = to_decimal(
        round(structure.value_at(moved, inputs.today) * CONTRACT_MULTIPLIER, 2)
    )
    max_price = structure.max_price(limits.max_slippage)
    unit_cost = max_price * _SIZE
    target = payoff_target(inputs, protect, clips)
    if unit_payoff <= 0 or max_price <= 0:
        clips.append(
            Clip(
                "structure",
                0,
                0,
                f"one unit pays {_money(unit_payoff)} at the move and costs {_money(unit_cost)}",
            )
        )
        return SizingDecision(0, target, unit_payoff, unit_cost, max_price, tuple(clips))
    wanted = math.ceil(target / unit_payoff) if target > 0 else 0
    nav = inputs.nav
    n = wanted
    n = _cap(clips, "monthly budget", n, budget.monthly * nav - inputs.spent_month, unit_cost,
             f"of {_money(budget.monthly * nav)} ({budget.monthly:.2%} of NAV) this month")  # fmt: skip
    n = _cap(clips, "yearly budget", n, budget.yearly * nav - inputs.spent_year, unit_cost,
             f"of {_money(budget.yearly * nav)} ({budget.yearly:.2%} of NAV) over 12 months")  # fmt: skip
    n = _cap(clips, "position size", n, limits.max_position_nav * nav, unit_cost,
             f"for one position ({limits.max_position_nav:.2%} of NAV)")  # fmt: skip
    if inputs.cash is not None:
        n = _cap(clips, "hedge cash", n, inputs.cash, unit_cost,
                 "in the hedge book's cash (its funding, alchemiser.cycle.hedge_funding)")  # fmt: skip
    if n > 0 and inputs.open_hedges >= limits.max_open_hedges:
        clips.append(
            Clip(
                "open hedges",
                n,
                0,
                f"{inputs.open_hedges} hedges open, the most allowed is {limits.max_open_hedges}",
            )
        )
        n = 0
    unit_delta = to_decimal(abs(structure.delta)) * _SIZE * inputs.spot
    n = _cap(clips, "account delta", n, inputs.net_delta, unit_delta,
             "of the account's delta to offset (a hedge never flips it short)")  # fmt: skip
    return SizingDecision(n, target, unit_payoff, unit_cost, max_price, tuple(clips))
