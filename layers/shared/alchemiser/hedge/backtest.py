"""Backtest a stage's hedge policy over history: protected vs unprotected equity.

The account (``backtest_account``) starts with $100,000 in its books. Every day, at
the close, as the live hedge book would: the account's beta to QQQ and SPY is fitted
on the last 126 days of its target-allocation stream (``underlying: auto`` picks the
better R^2), held hedges are marked with the simulated options market
(``SimulatedOptionsMarket``: the same chains, IVs and spreads as the local broker),
expired ones settle at intrinsic value, hedges due by the roll rules are sold, and a
new hedge is selected, sized (``sizing.size_hedge``: the same caps and clips) and
bought. Fills are where the live walk fills against the simulated broker: at the
first step marketable there, ``mid + fill_threshold x (far - mid)`` rounded to the
cent (never above the sizing's cap). Premium comes out of the books' capital and
sale proceeds go back in; NAV marks the options at mid.

Differences from live, stated: the IV history is the model's own ATM vol for every
past day, so the percentile rule applies from the first day; one decision a day at
the close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

import numpy as np

from alchemiser.analytics.metrics import Metrics, compute_metrics
from alchemiser.analytics.returns import FloatArray
from alchemiser.broker.alpaca_mapping import NEW_YORK
from alchemiser.broker.options_models import CONTRACT_MULTIPLIER, OptionRight, parse_occ
from alchemiser.broker.simulated_options_market import OptionsMarketConfig, SimulatedOptionsMarket
from alchemiser.dsl.evaluator import Progress
from alchemiser.hedge.backtest_account import CombinedAccount, Drawdown, worst_drawdowns
from alchemiser.hedge.book import EventKind, HedgeBookState, HedgeLeg, HedgeRecord
from alchemiser.hedge.chain import Refusal, join_chain, select_structure
from alchemiser.hedge.exposure import (
    BETA_WINDOW,
    MIN_FIT_DAYS,
    Fit,
    choose_underlying,
    daily_returns,
    rolling_fits,
)
from alchemiser.hedge.iv_regime import iv_regime
from alchemiser.hedge.policy import CANDIDATE_UNDERLYINGS, TEMPLATES, HedgeLimits, HedgePolicy
from alchemiser.hedge.roll import (
    MarkedHedge,
    MarkFailure,
    mark_hedge,
    roll_reasons,
    settlement_value,
)
from alchemiser.hedge.sizing import SizingInputs, Structure, size_hedge, structure_from_pick
from alchemiser.market.history import PriceHistory
from alchemiser.money import CENT, to_decimal

START_NAV = Decimal(100_000)
FILL_FRACTION = Decimal("0.5")  # the simulated broker's default fill_threshold
_SIZE = Decimal(CONTRACT_MULTIPLIER)
_QUOTE_TIME = time(15, 45)


@dataclass(frozen=True)
class HedgeBacktest:
    account: CombinedAccount
    unhedged_equity: FloatArray
    hedged_equity: FloatArray
    unhedged: Metrics
    hedged: Metrics
    premium_per_year: dict[str, float]  # premium paid / average hedged NAV, per calendar year
    drawdowns: dict[str, list[Drawdown]]
    counts: dict[str, int]  # opens, closes, expiries, days hedged per underlying

    def to_json_dict(self) -> dict[str, object]:
        return {
            "unhedged": self.unhedged.to_json_dict(),
            "hedged": self.hedged.to_json_dict(),
            "premium_per_year": self.premium_per_year,
        }


@dataclass
class _Day:
    """The simulation's view of one trading day."""

    row: int
    day: date
    now: datetime
    fits: dict[str, Fit] = field(default_factory=dict)


def backtest_hedge(
    account: CombinedAccount,
    policy: HedgePolicy,
    history: PriceHistory,
    *,
    limits: HedgeLimits | None = None,
    market: OptionsMarketConfig | None = None,
    progress: Progress | None = None,
) -> HedgeBacktest:
    """Simulate the policy's hedges on ``account``; ``history`` must hold QQQ and SPY."""
    history.require(CANDIDATE_UNDERLYINGS)
    simulation = _Simulation(account, policy, history, limits or HedgeLimits(), market)
    nav, premiums = simulation.run(progress)
    hedged_returns = np.empty(len(nav))
    hedged_returns[0] = 0.0
    hedged_returns[1:] = nav[1:] / nav[:-1] - 1.0
    unhedged_equity = np.cumprod(1.0 + account.returns)
    hedged_equity = nav / nav[0]
    dates = account.dates[1:]
    return HedgeBacktest(
        account=account,
        unhedged_equity=unhedged_equity,
        hedged_equity=hedged_equity,
        unhedged=compute_metrics(dates, account.returns[1:], account.turnover[1:]),
        hedged=compute_metrics(dates, hedged_returns[1:], account.turnover[1:]),
        premium_per_year=_per_year(account, premiums, nav),
        drawdowns={
            "unhedged": worst_drawdowns(account.dates, unhedged_equity),
            "hedged": worst_drawdowns(account.dates, hedged_equity),
        },
        counts=simulation.counts,
    )


def _per_year(account: CombinedAccount, premiums: FloatArray, nav: FloatArray) -> dict[str, float]:
    """Return each calendar year's premium over its average NAV (days after the start)."""
    years = account.dates[1:].astype("datetime64[Y]").astype(int) + 1970
    paid, navs = premiums[1:], nav[1:]
    return {
        str(year): float(paid[years == year].sum() / navs[years == year].mean())
        for year in sorted(set(years.tolist()))
    }


def _walk_price(legs: list[tuple[int, Decimal, Decimal]]) -> Decimal:
    """Return the signed net price the walk fills at: (signed ratio, bid, ask) per leg."""
    mid = sum((s * (b + a) / 2 for s, b, a in legs), Decimal(0))
    far = sum((s * (a if s > 0 else b) for s, b, a in legs), Decimal(0))
    return (mid + FILL_FRACTION * (far - mid)).quantize(CENT, rounding=ROUND_CEILING)


class _Simulation:
    def __init__(
        self,
        account: CombinedAccount,
        policy: HedgePolicy,
        history: PriceHistory,
        limits: HedgeLimits,
        market: OptionsMarketConfig | None,
    ) -> None:
        self.account, self.policy, self.history, self.limits = account, policy, history, limits
        self.spec = TEMPLATES[policy.template]
        self.market = SimulatedOptionsMarket(history, market)
        self.fits = {
            u: rolling_fits(account.target_stream, daily_returns(history.column(u)), BETA_WINDOW)
            for u in CANDIDATE_UNDERLYINGS
        }
        self.state = HedgeBookState()
        self.risky = START_NAV
        self.expiring: set[str] = set()
        self.counts: dict[str, int] = {"opens": 0, "closes": 0, "expiries": 0}

    def run(self, progress: Progress | None) -> tuple[FloatArray, FloatArray]:
        size = len(self.account.dates)
        nav, premiums = np.zeros(size), np.zeros(size)
        nav[0] = float(START_NAV)
        for i in range(1, size):
            if progress is not None and i % 50 == 0:
                progress(i, size - 1)
            self.risky *= 1 + to_decimal(float(self.account.returns[i]))
            day = self._day(self.account.first + i)
            spent = self.state.premium_spent(day.day, day.day)
            self._settle(day)
            self._trade(day)
            premiums[i] = float(self.state.premium_spent(day.day, day.day) - spent)
            marks = self._marks(day, self._underlying_of_book() or "QQQ")
            nav[i] = float(self.risky + sum((m.value for m in marks), Decimal(0)))
        return nav, premiums

    def _day(self, row: int) -> _Day:
        day = self.history.day(row)
        now = datetime.combine(day, _QUOTE_TIME, NEW_YORK).astimezone(UTC)
        fits = {
            u: Fit(float(b[row]), float(r[row]), int(n[row])) for u, (b, r, n) in self.fits.items()
        }
        return _Day(row, day, now, fits)

    def _underlying_of_book(self) -> str | None:
        return self.state.hedges[0].underlying if self.state.hedges else None

    def _spot(self, underlying: str, day: date) -> Decimal:
        spot = self.market.spot(underlying, day)
        if spot is None:
            raise ValueError(
                f"no {underlying} close on {day}: the hedge backtest needs one every day"
            )
        return to_decimal(round(spot, 4))

    def _settle(self, day: _Day) -> None:
        for record in self.state.hedges:
            expiry = min(parse_occ(leg.symbol).expiry for leg in record.legs)
            if expiry >= day.day:
                continue
            close = self._spot(
                record.underlying, self.history.day(self.history.index_on_or_before(expiry))
            )
            value = settlement_value(record, close)
            self.risky += value
            self.state = self.state.closed(
                record.hedge_id, day.day, value, EventKind.EXPIRY, "expired"
            )
            self.expiring.discard(record.hedge_id)
            self.counts["expiries"] += 1

    def _marks(self, day: _Day, underlying: str) -> list[MarkedHedge]:
        marks = []
        spot = self._spot(underlying, day.day)
        for record in self.state.hedges:
            snapshots = {
                leg.symbol: self.market.snapshot(leg.symbol, day.day, day.now)
                for leg in record.legs
            }
            held_spot = (
                spot if record.underlying == underlying else self._spot(record.underlying, day.day)
            )
            marked = mark_hedge(
                record,
                {s: q for s, q in snapshots.items() if q},
                held_spot,
                day.day,
                (self.policy.protect.move,),
            )
            if isinstance(marked, MarkFailure):
                raise ValueError(f"{day.day}: {marked.reason}")
            marks.append(marked)
        return marks

    def _trade(self, day: _Day) -> None:
        fit_days = min(fit.days for fit in day.fits.values())
        if fit_days < MIN_FIT_DAYS:
            return
        underlying = choose_underlying(self.policy.underlying, day.fits, self._underlying_of_book())
        spot = self._spot(underlying, day.day)
        for marked in self._marks(day, underlying):
            reasons = roll_reasons(marked, self.spec, self.limits, spot, day.day)
            if reasons or marked.record.underlying != underlying:
                self._close(marked.record, day)
        self.counts[f"days on {underlying}"] = self.counts.get(f"days on {underlying}", 0) + 1
        self._buy(day, underlying, spot)

    def _close(self, record: HedgeRecord, day: _Day) -> None:
        legs = []
        for leg in record.legs:
            quote = self.market.quote(leg.symbol, day.day)
            if quote is None or (leg.qty > 0 and quote.bid == 0):
                self.expiring.add(record.hedge_id)  # worthless: left to expire
                return
            legs.append((-1 if leg.qty > 0 else 1, quote.bid, quote.ask, abs(leg.qty)))
        units = min(n for *_, n in legs)
        price = _walk_price([(s * (n // units), b, a) for s, b, a, n in legs])
        proceeds = -price * units * _SIZE
        self.risky += proceeds
        self.state = self.state.closed(
            record.hedge_id, day.day, proceeds, EventKind.CLOSE, "rolled"
        )
        self.counts["closes"] += 1

    def _buy(self, day: _Day, underlying: str, spot: Decimal) -> None:
        marks = self._marks(day, underlying)
        nav = self.risky + sum((m.value for m in marks), Decimal(0))
        fit = day.fits[underlying]
        equity_delta = to_decimal(round(fit.beta * float(self.risky), 2))
        held = sum((m.payoff_at(self.policy.protect.move) for m in marks), Decimal(0))
        if not self._worth_a_chain(nav, equity_delta, held, day, marks):
            return
        structure = self._structure(day, underlying, spot)
        if structure is None:
            return
        atm = self.market.atm_vol(underlying, day.day) or 0.0
        regime = iv_regime(self._iv_history(underlying, day.row), atm, self.limits)
        inputs = SizingInputs(
            nav=nav, equity_delta=equity_delta,
            net_delta=equity_delta + sum((m.delta for m in marks), Decimal(0)), spot=spot,
            today=day.day, held_payoff=held, spent_month=self.state.month_to_date(day.day),
            spent_year=self.state.last_twelve_months(day.day),
            open_hedges=sum(1 for m in marks if m.record.hedge_id not in self.expiring),
            payoff_scale=regime.payoff_scale, regime_note=regime.note,
        )  # fmt: skip
        sizing = size_hedge(inputs, structure, self.policy.protect, self.policy.budget, self.limits)
        price = _walk_price([(leg.ratio, leg.bid, leg.ask) for leg in structure.legs])
        if sizing.contracts == 0 or price > sizing.max_price:
            return
        self._open(day, structure, sizing.contracts, price, sizing.unit_payoff, spot)

    def _worth_a_chain(
        self, nav: Decimal, delta: Decimal, held: Decimal, day: _Day, marks: list[MarkedHedge]
    ) -> bool:
        """Return False when no chain could change anything today (saves building it)."""
        budget, protect = self.policy.budget, self.policy.protect
        wanted = min(protect.payoff * nav, max(delta, Decimal(0)) * -protect.move)
        live = sum(1 for m in marks if m.record.hedge_id not in self.expiring)
        return (
            wanted > held
            and live < self.limits.max_open_hedges
            and self.state.month_to_date(day.day) < budget.monthly * nav
            and self.state.last_twelve_months(day.day) < budget.yearly * nav
        )

    def _structure(self, day: _Day, underlying: str, spot: Decimal) -> Structure | None:
        first = day.day + timedelta(days=self.spec.min_dte)
        last = day.day + timedelta(days=self.spec.max_dte)
        strikes = (spot * Decimal("0.5"), spot * Decimal("1.05"))
        contracts = self.market.contracts(
            underlying, day.day, first, last, OptionRight.PUT, strikes
        )
        snapshots = {c.symbol: self.market.snapshot(c.symbol, day.day, day.now) for c in contracts}
        chain = join_chain(contracts, {s: q for s, q in snapshots.items() if q})
        pick = select_structure(chain, self.spec, day.day, day.now, self.limits)
        return None if isinstance(pick, Refusal) else structure_from_pick(pick, underlying)

    def _iv_history(self, underlying: str, row: int) -> list[float]:
        start = max(0, row - self.limits.iv_lookback_days)
        vols = self.market.atm_vols(underlying)[start:row]
        return [float(v) for v in vols[np.isfinite(vols)]]

    def _open(
        self,
        day: _Day,
        structure: Structure,
        n: int,
        price: Decimal,
        unit_payoff: Decimal,
        spot: Decimal,
    ) -> None:
        premium = price * n * _SIZE
        self.risky -= premium
        record = HedgeRecord(
            hedge_id=f"{day.day:%Y%m%d}-{structure.legs[0].symbol}", underlying=structure.underlying,
            template=self.policy.template,
            legs=tuple(HedgeLeg(symbol=leg.symbol, qty=n * leg.ratio) for leg in structure.legs),
            opened_on=day.day, premium=premium, promised_payoff=unit_payoff * n, spot_at_open=spot,
        )  # fmt: skip
        self.state = self.state.opened(record, day.day, "backtest")
        self.counts["opens"] += 1
