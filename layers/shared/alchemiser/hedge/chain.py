"""Option chain screening and contract selection for a hedge template.

A contract is usable only with a fresh, two-sided, uncrossed quote whose spread is at
most ``max_spread_pct`` of its mid, a mid of at least ``min_mid``, an implied vol and
greeks, and at least ``min_open_interest`` open interest. Anything else fails closed:
the selection returns a ``Refusal`` that counts why each candidate was rejected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from alchemiser.broker.options_models import OptionContract, OptionRight, OptionSnapshot
from alchemiser.hedge.policy import HedgeLimits, TemplateSpec

DELTA_TOLERANCE = 0.5  # a pick's |delta| must be within this fraction of the target


@dataclass(frozen=True)
class ChainOption:
    """A listed contract with its latest snapshot (None when the data has none)."""

    contract: OptionContract
    snapshot: OptionSnapshot | None

    @property
    def symbol(self) -> str:
        return self.contract.symbol

    @property
    def abs_delta(self) -> float:
        greeks = self.snapshot.greeks if self.snapshot else None
        return abs(greeks.delta) if greeks else float("nan")

    def dte(self, today: date) -> int:
        return (self.contract.expiry - today).days


@dataclass(frozen=True)
class Pick:
    """The contracts a template buys (``long``) and sells (``short``, spreads only)."""

    long: ChainOption
    short: ChainOption | None


@dataclass(frozen=True)
class Refusal:
    """Why no contract could be selected (the run reports it; no order goes out)."""

    reason: str


def join_chain(
    contracts: Iterable[OptionContract], snapshots: Mapping[str, OptionSnapshot]
) -> list[ChainOption]:
    """Pair each contract with its snapshot (contracts decide what is listed)."""
    return [ChainOption(c, snapshots.get(c.symbol)) for c in contracts]


@dataclass(frozen=True)
class Problem:
    """Why a contract is not usable: a short ``kind`` (for counting) and the full text."""

    kind: str
    text: str


def quote_problem(
    snapshot: OptionSnapshot | None, now: datetime, limits: HedgeLimits, *, liquidity: bool = True
) -> Problem | None:
    """Return why a quote must not be traded on at ``now`` (None when it is usable).

    Without ``liquidity`` only the quote's own soundness is checked (fresh, two-sided,
    uncrossed): closing a hedge must not be blocked by a wide spread or a small mid.
    """
    if snapshot is None:
        return Problem("no quote", "no quote")
    age = (now - snapshot.quote_time).total_seconds()
    if age > limits.max_quote_age_s:
        return Problem(
            "stale quote", f"stale quote ({age:.0f}s old, at most {limits.max_quote_age_s:.0f}s)"
        )
    if age < -5:
        return Problem("quote from the future", f"quote stamped {-age:.0f}s in the future")
    if snapshot.bid <= 0 or snapshot.ask <= 0:
        return Problem(
            "one-sided quote", f"one-sided quote (bid {snapshot.bid}, ask {snapshot.ask})"
        )
    if snapshot.ask < snapshot.bid:
        return Problem("crossed quote", f"crossed quote (bid {snapshot.bid} > ask {snapshot.ask})")
    if not liquidity:
        return None
    mid = snapshot.mid
    if mid < limits.min_mid:
        return Problem("mid too small", f"mid {mid} under {limits.min_mid}")
    spread = (snapshot.ask - snapshot.bid) / mid
    if spread > limits.max_spread_pct:
        return Problem(
            "spread too wide", f"spread {spread:.1%} of mid over {limits.max_spread_pct:.0%}"
        )
    return None


def option_problem(option: ChainOption, now: datetime, limits: HedgeLimits) -> Problem | None:
    """Return why a contract is not usable for a hedge (None when it is)."""
    if not option.contract.tradable:
        return Problem("not tradable", "not tradable")
    problem = quote_problem(option.snapshot, now, limits)
    if problem is not None:
        return problem
    snapshot = option.snapshot
    if snapshot is None or snapshot.implied_vol is None or snapshot.greeks is None:
        return Problem("no IV or greeks", "no implied vol or greeks")
    interest = option.contract.open_interest
    if interest is None or interest < limits.min_open_interest:
        shown = interest if interest is not None else "unknown"
        return Problem(
            "low open interest", f"open interest {shown} under {limits.min_open_interest}"
        )
    return None


def _closest(options: Iterable[ChainOption], target: float) -> ChainOption | None:
    ranked = sorted(options, key=lambda o: (abs(o.abs_delta - target), o.contract.strike))
    if not ranked or abs(ranked[0].abs_delta - target) > DELTA_TOLERANCE * target:
        return None
    return ranked[0]


def select_structure(
    chain: Iterable[ChainOption],
    spec: TemplateSpec,
    today: date,
    now: datetime,
    limits: HedgeLimits,
) -> Pick | Refusal:
    """Pick the template's puts: the expiry nearest mid-window with a long near its delta."""
    puts = [o for o in chain if o.contract.right is OptionRight.PUT]
    window = [o for o in puts if spec.min_dte <= o.dte(today) <= spec.max_dte]
    if not window:
        listed = sorted({o.dte(today) for o in puts})
        return Refusal(
            f"no put expires in {spec.min_dte}-{spec.max_dte} days (listed: "
            f"{', '.join(str(d) for d in listed[:12]) or 'none'} days)"
        )
    problems = {o.symbol: option_problem(o, now, limits) for o in window}
    usable = [o for o in window if problems[o.symbol] is None]
    middle = (spec.min_dte + spec.max_dte) / 2
    for expiry in sorted(
        {o.contract.expiry for o in usable}, key=lambda e: abs((e - today).days - middle)
    ):
        same = [o for o in usable if o.contract.expiry == expiry]
        long = _closest(same, spec.long_delta)
        if long is None:
            continue
        if spec.short_delta is None:
            return Pick(long, None)
        below = [o for o in same if o.contract.strike < long.contract.strike]
        short = _closest(below, spec.short_delta)
        if short is not None:
            return Pick(long, short)
    counts = Counter(p.kind for p in problems.values() if p is not None)
    failed = "; ".join(f"{n} {kind}" for kind, n in counts.most_common())
    wanted = f"{spec.long_delta:.2f}" + (f"/{spec.short_delta:.2f}" if spec.short_delta else "")
    return Refusal(
        f"no usable put near {wanted} delta expiring in {spec.min_dte}-{spec.max_dte} days: "
        f"{len(usable)} of {len(window)} contracts usable"
        + (f"; rejected: {failed}" if failed else "")
    )


def atm_implied_vol(
    chain: Iterable[ChainOption], spot: Decimal, today: date, target_dte: int = 30
) -> float | None:
    """Return the IV of the quoted put nearest the money at the expiry nearest ``target_dte``."""
    quoted = [o for o in chain if o.snapshot is not None and o.snapshot.implied_vol is not None]
    if not quoted:
        return None
    expiry = min(
        {o.contract.expiry for o in quoted}, key=lambda e: abs((e - today).days - target_dte)
    )
    nearest = min(
        (o for o in quoted if o.contract.expiry == expiry),
        key=lambda o: abs(o.contract.strike - spot),
    )
    return nearest.snapshot.implied_vol if nearest.snapshot else None
