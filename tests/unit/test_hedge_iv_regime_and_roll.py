"""The IV regime rule (with its short-history rule) and the roll rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from alchemiser.broker.options_models import Greeks, OptionSnapshot
from alchemiser.hedge.book import HedgeLeg, HedgeRecord
from alchemiser.hedge.iv_regime import IvHistory, IvRegime, iv_regime
from alchemiser.hedge.policy import TEMPLATES, HedgeLimits, HedgeTemplate
from alchemiser.hedge.roll import MarkFailure, mark_hedge, next_roll, roll_reasons

LIMITS = HedgeLimits()
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 20, 45, tzinfo=UTC)


def test_with_few_days_stored_the_regime_is_normal_and_says_why() -> None:
    reading = iv_regime([0.2] * 12, 0.9, LIMITS)
    assert reading.regime is IvRegime.NORMAL and reading.payoff_scale == 1
    assert reading.percentile is None
    assert "12 of 60 days stored" in reading.note


def test_a_high_percentile_halves_the_payoff_target_and_a_low_one_does_not() -> None:
    stored = [0.10 + i / 1000 for i in range(300)]  # 0.100 .. 0.399, oldest first
    high = iv_regime(stored, 0.39, LIMITS)
    assert high.regime is IvRegime.HIGH and high.payoff_scale == Decimal("0.5")
    assert high.days_stored == 252  # the lookback
    low = iv_regime(stored, 0.15, LIMITS)
    assert low.regime is IvRegime.LOW and low.payoff_scale == 1
    assert iv_regime(stored, 0.30, LIMITS).regime is IvRegime.NORMAL


def test_the_history_keeps_one_reading_a_day_and_returns_earlier_days_only() -> None:
    history = IvHistory()
    history.record("QQQ", date(2026, 3, 2), 0.2)
    history.record("QQQ", date(2026, 3, 2), 0.25)  # a re-run replaces the day
    history.record("QQQ", date(2026, 3, 3), 0.3)
    assert history.before("QQQ", date(2026, 3, 3)) == [0.25]
    assert history.before("SPY", date(2026, 3, 3)) == []


def record(legs: tuple[tuple[str, int], ...], opened: date = date(2026, 1, 2)) -> HedgeRecord:
    return HedgeRecord(
        hedge_id="h1", underlying="QQQ", template=HedgeTemplate.TAIL,
        legs=tuple(HedgeLeg(symbol=s, qty=q) for s, q in legs), opened_on=opened,
        premium=Decimal(1000), promised_payoff=Decimal(20_000), spot_at_open=Decimal(500),
    )  # fmt: skip


def snap(symbol: str, delta: float, mid: str = "4.00") -> OptionSnapshot:
    price = Decimal(mid)
    return OptionSnapshot(
        symbol=symbol, bid=price - Decimal("0.05"), ask=price + Decimal("0.05"), quote_time=NOW,
        implied_vol=0.22, greeks=Greeks(delta=delta, gamma=0.01, theta=-0.02, vega=0.4),
    )  # fmt: skip


def test_a_hedge_is_marked_with_value_delta_dte_and_payoff_at_each_move() -> None:
    put = "QQQ260515P00440000"  # 74 days
    marked = mark_hedge(
        record(((put, 3),)), {put: snap(put, -0.15)}, Decimal(500), TODAY, (Decimal("-0.2"),)
    )
    assert not isinstance(marked, MarkFailure)
    assert (marked.dte, marked.value) == (74, Decimal("1200.00"))
    assert marked.delta == Decimal("-22500.00")  # 3 x 100 x -0.15 x 500
    assert marked.payoff_at(Decimal("-0.2")) > Decimal(3 * 100 * 40)  # at least intrinsic at 400
    assert next_roll(marked, TEMPLATES[HedgeTemplate.TAIL], TODAY) == date(2026, 4, 15)
    missing = mark_hedge(record(((put, 3),)), {}, Decimal(500), TODAY, (Decimal("-0.2"),))
    assert isinstance(missing, MarkFailure) and "no quote with IV and greeks" in missing.reason


def reasons(
    legs: tuple[tuple[str, int], ...],
    deltas: dict[str, float],
    template: HedgeTemplate,
    spot: int = 500,
    opened: date = date(2026, 2, 20),
) -> list[str]:
    snaps = {s: snap(s, deltas[s]) for s, _ in legs}
    marked = mark_hedge(record(legs, opened), snaps, Decimal(spot), TODAY, (Decimal("-0.2"),))
    assert not isinstance(marked, MarkFailure)
    return roll_reasons(marked, TEMPLATES[template], LIMITS, Decimal(spot), TODAY)


def test_the_roll_rules_each_say_why() -> None:
    near = "QQQ260327P00440000"  # 25 days
    far = "QQQ260619P00440000"  # 109 days
    assert reasons(((far, 2),), {far: -0.15}, HedgeTemplate.TAIL) == []
    assert reasons(((near, 2),), {near: -0.15}, HedgeTemplate.TAIL) == [
        "25 days to expiry, rolled at 30 or fewer"
    ]
    assert reasons(((far, 2),), {far: -0.01}, HedgeTemplate.TAIL) == [
        "long put delta 0.01 left the band [0.03, 0.60]"
    ]
    assert reasons(((far, 2),), {far: -0.7}, HedgeTemplate.TAIL) == [
        "long put delta 0.70 left the band [0.03, 0.60]"
    ]


def test_spreads_roll_on_cadence_and_close_a_short_leg_near_assignment() -> None:
    long, short = "QQQ260619P00460000", "QQQ260619P00420000"
    deltas = {long: -0.3, short: -0.1}
    assert reasons(((long, 2), (short, -2)), deltas, HedgeTemplate.SPREAD) == []
    old = reasons(((long, 2), (short, -2)), deltas, HedgeTemplate.SPREAD, opened=date(2026, 1, 2))
    assert old == ["held 59 days, re-struck every 45"]
    fallen = reasons(((long, 2), (short, -2)), deltas, HedgeTemplate.SPREAD, spot=410)
    assert fallen == [
        "short QQQ260619P00420000 is in the money (strike 420 > spot 410): closed before assignment"
    ]
