"""Payoff-first sizing: the target, every cap's clip with its numbers, and properties."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.broker.options_models import OptionRight
from alchemiser.hedge.policy import Budget, HedgeLimits, Protect
from alchemiser.hedge.pricing import black_scholes
from alchemiser.hedge.sizing import SizingInputs, Structure, StructureLeg, size_hedge

TODAY = date(2026, 3, 2)
EXPIRY = date(2026, 6, 1)  # 91 days
PROTECT = Protect(move=Decimal("-0.20"), payoff=Decimal("0.08"))
BUDGET = Budget(monthly=Decimal("0.005"), yearly=Decimal("0.04"))
LIMITS = HedgeLimits()


def put(strike: int, ratio: int = 1, spot: float = 500.0, vol: float = 0.22) -> StructureLeg:
    value = black_scholes("put", spot, strike, 91 / 365, vol)
    mid = Decimal(repr(round(value.price, 2)))
    return StructureLeg(
        symbol=f"QQQ260601P00{strike}000", right=OptionRight.PUT, strike=Decimal(strike),
        expiry=EXPIRY, ratio=ratio, bid=mid - Decimal("0.05"), ask=mid + Decimal("0.05"),
        delta=value.delta, implied_vol=vol,
    )  # fmt: skip


def inputs(**changes: object) -> SizingInputs:
    base = SizingInputs(
        nav=Decimal(1_000_000), equity_delta=Decimal(1_500_000), net_delta=Decimal(1_500_000),
        spot=Decimal(500), today=TODAY, held_payoff=Decimal(0), spent_month=Decimal(0),
        spent_year=Decimal(0), open_hedges=0,
    )  # fmt: skip
    return base.__class__(**{**base.__dict__, **changes})


def test_the_target_is_payoff_times_nav_and_the_count_covers_it() -> None:
    tail = Structure("QQQ", (put(440),))
    # A wide budget, so only the payoff rule decides
    wide = Budget(monthly=Decimal("0.05"), yearly=Decimal("0.5"))
    decision = size_hedge(inputs(), tail, PROTECT, wide, LIMITS)
    # One put pays its Black-Scholes value at 400 (same expiry, same vol) per share x 100
    unit = Decimal(repr(round(black_scholes("put", 400.0, 440.0, 91 / 365, 0.22).price * 100, 2)))
    assert decision.unit_payoff == unit
    assert decision.target_payoff == Decimal(80_000)
    assert decision.contracts == math.ceil(Decimal(80_000) / unit) == 18
    assert decision.clips == ()
    assert decision.promised_payoff >= Decimal(80_000)


def test_the_monthly_budget_clips_with_its_numbers() -> None:
    tail = Structure("QQQ", (put(440),))
    decision = size_hedge(inputs(spent_month=Decimal(3_000)), tail, PROTECT, BUDGET, LIMITS)
    clip = decision.clips[0]
    assert clip.rule == "monthly budget"
    assert "$2,000.00 left of $5,000.00 (0.50% of NAV) this month" in clip.detail
    assert decision.premium_cap <= Decimal(2_000)
    assert decision.contracts == int(Decimal(2_000) // decision.unit_cost)


def test_a_book_that_gains_in_a_fall_needs_no_hedge() -> None:
    decision = size_hedge(
        inputs(equity_delta=Decimal(-300_000), net_delta=Decimal(-300_000)),
        Structure("QQQ", (put(440),)), PROTECT, BUDGET, LIMITS,
    )  # fmt: skip
    assert decision.contracts == 0
    assert decision.clips[0].rule == "exposure"
    assert "the books lose $0.00 at a -20% move" in decision.clips[0].detail


def test_held_hedges_open_count_and_iv_regime_each_clip_and_say_so() -> None:
    tail = Structure("QQQ", (put(440),))
    held = size_hedge(inputs(held_payoff=Decimal(90_000)), tail, PROTECT, BUDGET, LIMITS)
    assert (held.contracts, held.clips[0].rule) == (0, "held hedges")
    full = size_hedge(inputs(open_hedges=3), tail, PROTECT, BUDGET, LIMITS)
    assert full.contracts == 0
    assert "3 hedges open, the most allowed is 3" in str(full.clips[-1])
    high = size_hedge(
        inputs(payoff_scale=Decimal("0.5"), regime_note="ATM IV at the 95% percentile"),
        tail, PROTECT, Budget(monthly=Decimal("0.05"), yearly=Decimal("0.5")), LIMITS,
    )  # fmt: skip
    assert high.clips[0].rule == "iv regime"
    assert high.target_payoff == Decimal(40_000)


def test_a_spread_pays_the_difference_of_its_legs_and_costs_its_net_debit() -> None:
    spread = Structure("QQQ", (put(470), put(420, ratio=-1)))
    assert spread.net_mid == spread.legs[0].mid - spread.legs[1].mid
    assert spread.net_far == spread.legs[0].ask - spread.legs[1].bid
    decision = size_hedge(inputs(), spread, PROTECT, BUDGET, LIMITS)
    assert decision.unit_payoff < Decimal(50 * 100)  # capped by the 50-point width
    assert decision.max_price <= spread.net_far


@settings(max_examples=150, deadline=None)
@given(
    nav=st.decimals(10_000, 5_000_000, places=2),
    beta=st.decimals(-2, 4, places=2),
    spot=st.integers(50, 900),
    moneyness=st.floats(0.6, 1.0),
    vol=st.floats(0.08, 0.9),
    spread=st.booleans(),
    monthly=st.decimals("0.0005", "0.05", places=4),
    yearly_extra=st.decimals(0, "0.2", places=3),
    spent=st.floats(0, 1.2),
    held=st.decimals(0, 200_000, places=2),
    options_delta=st.decimals(-1, 0, places=2),
    cash=st.none() | st.decimals(-1_000, 100_000, places=2),
)
def test_spend_never_exceeds_a_cap_and_the_hedge_never_overshoots_the_delta(
    nav: Decimal, beta: Decimal, spot: int, moneyness: float, vol: float, spread: bool,
    monthly: Decimal, yearly_extra: Decimal, spent: float, held: Decimal, options_delta: Decimal,
    cash: Decimal | None,
) -> None:  # fmt: skip
    budget = Budget(monthly=monthly, yearly=monthly + yearly_extra)
    strike = max(int(spot * moneyness), 1)
    legs = (put(strike, spot=spot, vol=vol),)
    if spread and strike > 2:
        legs += (put(max(int(strike * 0.9), 1), ratio=-1, spot=spot, vol=vol),)
    structure = Structure("QQQ", legs)
    equity = beta * nav
    net = equity + options_delta * max(equity, Decimal(0))
    spent_month = (budget.monthly * nav * Decimal(repr(spent))).quantize(Decimal("0.01"))
    spent_year = spent_month + (yearly_extra * nav * Decimal(repr(spent)) / 2).quantize(
        Decimal("0.01")
    )
    facts = inputs(
        nav=nav, equity_delta=equity, net_delta=net, spot=Decimal(spot), held_payoff=held,
        spent_month=spent_month, spent_year=spent_year, cash=cash,
    )  # fmt: skip
    decision = size_hedge(facts, structure, PROTECT, budget, LIMITS)
    n = decision.contracts
    assert n >= 0
    if n == 0:
        return
    worst = n * decision.unit_cost  # the most execution may pay for n units
    assert spent_month + worst <= budget.monthly * nav
    assert spent_year + worst <= budget.yearly * nav
    assert worst <= LIMITS.max_position_nav * nav
    assert cash is None or worst <= cash  # the hedge book never spends more than its cash
    hedge_delta = Decimal(repr(structure.delta)) * 100 * n * Decimal(spot)
    assert hedge_delta < 0  # puts: the account's delta goes down...
    assert net + hedge_delta >= 0  # ...and never past zero into a short
