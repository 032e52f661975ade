"""Mark held hedges to market and decide which to roll.

A hedge is marked from fresh snapshots of its legs: its value (mid, dollars), its
dollar delta, its days to expiry and what it would pay at the policy's move (the
same Black-Scholes repricing as the sizing). A leg without a usable quote, IV or
greeks cannot be marked: the run fails closed.

A hedge is rolled (closed, then replaced by a fresh one in the same run) when:

* **DTE**: its nearest expiry is ``roll_dte`` days away or less (so nothing is held
  into expiry day);
* **delta drift**: the long put's |delta| left the template's band (too far out of the
  money to protect, or so deep in it that it is better monetised and re-struck);
* **cadence** (spreads): it has been held ``cadence_days`` or more, so the capped
  spread is re-centred on today's spot;
* **assignment risk** (spreads): the short put is in the money, or within
  ``short_assignment_dte`` days of expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from alchemiser.broker.options_models import CONTRACT_MULTIPLIER, OptionSnapshot, parse_occ
from alchemiser.hedge.book import HedgeRecord
from alchemiser.hedge.policy import HedgeLimits, TemplateSpec
from alchemiser.hedge.pricing import black_scholes, intrinsic, years_between
from alchemiser.money import to_decimal


@dataclass(frozen=True)
class MarkedHedge:
    record: HedgeRecord
    dte: int
    value: Decimal  # dollars at mid
    delta: Decimal  # dollars of underlying
    long_delta: float  # |delta| of the bought leg(s), per share
    payoffs: Mapping[Decimal, Decimal]  # dollars at each shocked move (-0.2 -> ...)
    greeks: Mapping[str, tuple[float, float, float]]  # symbol -> (delta, gamma, vega) per share

    def payoff_at(self, move: Decimal) -> Decimal:
        return self.payoffs[move]


@dataclass(frozen=True)
class MarkFailure:
    hedge_id: str
    reason: str


def _leg_value(symbol: str, spot: float, snapshot: OptionSnapshot, today: date) -> float:
    occ = parse_occ(symbol)
    years = years_between((occ.expiry - today).days)
    vol = snapshot.implied_vol or 0.0
    return black_scholes(occ.right.value, spot, float(occ.strike), years, vol).price


def mark_hedge(
    record: HedgeRecord,
    snapshots: Mapping[str, OptionSnapshot],
    spot: Decimal,
    today: date,
    moves: tuple[Decimal, ...],
) -> MarkedHedge | MarkFailure:
    """Mark one hedge (value, delta, DTE, payoff at each of ``moves``) from its legs' snapshots."""
    value = delta = Decimal(0)
    long_delta = 0.0
    payoffs = dict.fromkeys(moves, 0.0)
    greeks: dict[str, tuple[float, float, float]] = {}
    for leg in record.legs:
        snap = snapshots.get(leg.symbol)
        if snap is None or snap.greeks is None or snap.implied_vol is None:
            return MarkFailure(
                record.hedge_id,
                f"{leg.symbol} has no quote with IV and greeks: "
                f"cannot mark hedge {record.hedge_id}",
            )
        size = leg.qty * CONTRACT_MULTIPLIER
        value += size * snap.mid
        delta += to_decimal(size * snap.greeks.delta) * spot
        if leg.qty > 0:
            long_delta = max(long_delta, abs(snap.greeks.delta))
        greeks[leg.symbol] = (snap.greeks.delta, snap.greeks.gamma, snap.greeks.vega)
        for move in moves:
            moved = float(spot) * (1 + float(move))
            payoffs[move] += size * _leg_value(leg.symbol, moved, snap, today)
    dte = min((parse_occ(leg.symbol).expiry - today).days for leg in record.legs)
    return MarkedHedge(
        record, dte, value.quantize(Decimal("0.01")), delta.quantize(Decimal("0.01")), long_delta,
        {k: to_decimal(round(v, 2)) for k, v in payoffs.items()}, greeks,
    )  # fmt: skip


def roll_reasons(
    marked: MarkedHedge, spec: TemplateSpec, limits: HedgeLimits, spot: Decimal, today: date
) -> list[str]:
    """Return why ``marked`` must be rolled today ([] to keep it)."""
    reasons = []
    if marked.dte <= spec.roll_dte:
        reasons.append(f"{marked.dte} days to expiry, rolled at {spec.roll_dte} or fewer")
    low, high = spec.delta_band
    if not low <= marked.long_delta <= high:
        reasons.append(
            f"long put delta {marked.long_delta:.2f} left the band [{low:.2f}, {high:.2f}]"
        )
    held = (today - marked.record.opened_on).days
    if spec.cadence_days is not None and held >= spec.cadence_days:
        reasons.append(f"held {held} days, re-struck every {spec.cadence_days}")
    for leg in marked.record.legs:
        if leg.qty >= 0:
            continue
        occ = parse_occ(leg.symbol)
        if occ.strike > spot * (1 - limits.short_assignment_itm):
            reasons.append(
                f"short {leg.symbol} is in the money (strike {occ.strike} > spot {spot}): "
                "closed before assignment"
            )
        elif (occ.expiry - today).days <= limits.short_assignment_dte:
            reasons.append(
                f"short {leg.symbol} is {(occ.expiry - today).days} days from expiry: "
                "closed before assignment"
            )
    return reasons


def settlement_value(record: HedgeRecord, close: Decimal) -> Decimal:
    """Return what ``record``'s legs are worth at expiry with the underlying at ``close``."""
    value = Decimal(0)
    for leg in record.legs:
        occ = parse_occ(leg.symbol)
        worth = intrinsic(occ.right.value, float(close), float(occ.strike))
        value += leg.qty * CONTRACT_MULTIPLIER * to_decimal(round(worth, 4))
    return value.quantize(Decimal("0.01"))


def next_roll(marked: MarkedHedge, spec: TemplateSpec, today: date) -> date:
    """Return the day the DTE rule will roll ``marked`` (today when it is due)."""
    return max(today, today + timedelta(days=marked.dte - spec.roll_dte))
