"""A deterministic listed-options market for any underlying in the price data.

For a trading day ``d`` and an underlying with closes up to ``d`` (the spot is d's close):

* **Expiries**: every Friday of the next ``weekly_weeks`` weeks and the third Friday of
  each of the next ``monthly_months`` months (the Thursday before when the Friday is
  not an exchange session, as for Good Friday).
* **Strikes**: a grid of ``strike_step(spot)`` (1 under $200, 5 under $1,000, else 10)
  from ``strike_low`` x spot to ``strike_high`` x spot. A held contract keeps being
  quoted after the spot moves off its grid.
* **Implied vol**: ATM IV = ``vol_premium`` x (0.5 x realised vol over
  ``vol_window_short`` days + 0.5 x over ``vol_window_long`` days), annualised from
  daily log returns (sqrt 252), clipped to [``vol_floor``, ``vol_cap``]; the smile is
  ``iv(K) = ATM x (1 - skew x ln(K / S))`` clipped to [0.6, 2.5] x ATM (puts below the
  spot dearer, as index options are). Fewer than ``vol_window_long`` + 1 closes: no IV,
  no greeks, no quote (the chain filters fail such contracts closed).
* **Prices**: Black-Scholes (``alchemiser.hedge.pricing``, rate ``rate``) at that IV;
  the full bid/ask spread is ``spread_base x exp(spread_widen x |ln(K / S)|)`` of the
  mid, at least two cents, so it widens out of the money; bid rounds down and ask up
  to the cent (a bid below a cent is 0).
* **Open interest**: ``20,000 x exp(-(ln(K/S) / 0.12)^2)``, tripled on monthlies.

Everything is a pure function of the price data and the config: the same day gives
the same chain.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from alchemiser.broker.option_marks import quote_mid
from alchemiser.broker.options_models import (
    CONTRACT_MULTIPLIER,
    Greeks,
    OptionContract,
    OptionRight,
    OptionSnapshot,
    occ_symbol,
    parse_occ,
)
from alchemiser.broker.simulated_market import next_exchange_day
from alchemiser.errors import DataError
from alchemiser.hedge.pricing import black_scholes, years_between
from alchemiser.market.history import FloatArray, PriceHistory
from alchemiser.money import CENT, to_decimal

_TRADING_DAYS = 252


class OptionsMarketConfig(BaseModel):
    """How the simulated options market derives vols, spreads and listings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vol_window_short: int = Field(20, ge=2)
    vol_window_long: int = Field(60, ge=2)
    vol_premium: float = Field(1.1, gt=0)  # implied over realised (the variance premium)
    vol_floor: float = Field(0.08, gt=0)
    vol_cap: float = Field(1.5, gt=0)
    skew: float = Field(1.5, ge=0)
    spread_base: float = Field(0.02, ge=0)  # full spread as a fraction of mid, at the money
    spread_widen: float = Field(8.0, ge=0)
    weekly_weeks: int = Field(6, ge=0)
    monthly_months: int = Field(12, ge=1)
    strike_low: float = Field(0.5, gt=0)
    strike_high: float = Field(1.3, gt=1)
    rate: float = 0.0


@dataclass(frozen=True)
class ModelQuote:
    """One contract on one day: the model's mid, quote, IV and greeks (prices per share)."""

    symbol: str
    mid: float
    bid: Decimal
    ask: Decimal
    implied_vol: float
    greeks: Greeks
    open_interest: int


def strike_step(spot: float) -> Decimal:
    """Return the strike increment listed around ``spot``."""
    if spot < 200:
        return Decimal(1)
    return Decimal(5) if spot < 1000 else Decimal(10)


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


@functools.cache
def _listed_day(friday: date) -> date:
    """Return the Friday, or the Thursday before it when the Friday is not a session."""
    thursday = friday - timedelta(days=1)
    return friday if next_exchange_day(thursday) == friday else thursday


class SimulatedOptionsMarket:
    """Chains, quotes and settlement prices derived from one ``PriceHistory``."""

    def __init__(self, history: PriceHistory, config: OptionsMarketConfig | None = None) -> None:
        self.history = history
        self.config = config or OptionsMarketConfig()
        self._columns = dict(history.ticker_index)
        self._vols: dict[str, FloatArray] = {}
        self._rows = {history.day(r): r for r in range(len(history.dates))}

    # -- the underlying ----------------------------------------------------------------------

    def row(self, day: date) -> int:
        row = self._rows.get(day)
        if row is None:
            raise ValueError(f"{day} is not a trading day of the price data")
        return row

    def spot(self, underlying: str, day: date) -> float | None:
        """Return the underlying's close on ``day`` (None without one)."""
        column = self._columns.get(underlying)
        if column is None:
            return None
        close = float(self.history.closes[self.row(day), column])
        return None if math.isnan(close) or close <= 0 else close

    def atm_vol(self, underlying: str, day: date) -> float | None:
        """Return the model's ATM implied vol on ``day`` (None while history is too short)."""
        if underlying not in self._columns:
            return None
        vol = float(self.atm_vols(underlying)[self.row(day)])
        return None if math.isnan(vol) else vol

    def atm_vols(self, underlying: str) -> FloatArray:
        """Return the model's ATM implied vol on every row of the history (NaN when unknown)."""
        if underlying not in self._vols:
            self._vols[underlying] = self._atm_series(underlying)
        return self._vols[underlying]

    def _atm_series(self, underlying: str) -> FloatArray:
        cfg = self.config
        closes = self.history.column(underlying)
        logs = np.full(len(closes), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            logs[1:] = np.log(closes[1:] / closes[:-1])
        short = _rolling_std(logs, cfg.vol_window_short)
        long = _rolling_std(logs, cfg.vol_window_long)
        realised = (0.5 * short + 0.5 * long) * math.sqrt(_TRADING_DAYS)
        return np.clip(cfg.vol_premium * realised, cfg.vol_floor, cfg.vol_cap)

    def implied_vol(self, underlying: str, day: date, strike: float) -> float | None:
        atm, spot = self.atm_vol(underlying, day), self.spot(underlying, day)
        if atm is None or spot is None:
            return None
        smile = 1.0 - self.config.skew * math.log(strike / spot)
        return atm * min(max(smile, 0.6), 2.5)

    # -- listings ---------------------------------------------------------------------------

    def expiries(self, day: date) -> list[date]:
        """Return the listed expiries after ``day`` (weeklies and monthlies), ascending."""
        cfg = self.config
        friday = day + timedelta(days=(4 - day.weekday()) % 7 or 7)
        found = {_listed_day(friday + timedelta(weeks=w)) for w in range(cfg.weekly_weeks)}
        year, month = day.year, day.month
        for _ in range(cfg.monthly_months + 1):
            found.add(_listed_day(third_friday(year, month)))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return sorted(d for d in found if d > day)

    def strikes(self, spot: float) -> list[Decimal]:
        step = strike_step(spot)
        low = (Decimal(spot * self.config.strike_low) / step).to_integral_value(ROUND_CEILING)
        high = (Decimal(spot * self.config.strike_high) / step).to_integral_value(ROUND_FLOOR)
        return [step * k for k in range(int(low), int(high) + 1)]

    def contracts(
        self,
        underlying: str,
        day: date,
        first: date,
        last: date,
        right: OptionRight,
        strikes: tuple[Decimal, Decimal] | None = None,
    ) -> list[OptionContract]:
        """Return the contracts listed on ``day`` with expiries in [first, last] (and strikes)."""
        spot = self.spot(underlying, day)
        if spot is None:
            return []
        low, high = strikes or (Decimal(0), Decimal("Infinity"))
        monthlies = {_listed_day(third_friday(e.year, e.month)) for e in self.expiries(day)}
        return [
            OptionContract(
                symbol=occ_symbol(underlying, expiry, right, strike),
                underlying=underlying,
                expiry=expiry,
                strike=strike,
                right=right,
                open_interest=_open_interest(float(strike), spot, expiry in monthlies),
                open_interest_date=day,
            )
            for expiry in self.expiries(day)
            if first <= expiry <= last
            for strike in self.strikes(spot)
            if low <= strike <= high
        ]

    # -- quotes -----------------------------------------------------------------------------

    def quote(self, symbol: str, day: date) -> ModelQuote | None:
        """Return the model quote of ``symbol`` on ``day``, or None (expired, no data, no IV)."""
        occ = parse_occ(symbol)
        spot = self.spot(occ.underlying, day)
        strike = float(occ.strike)
        vol = self.implied_vol(occ.underlying, day, strike)
        if spot is None or vol is None or occ.expiry < day:
            return None
        years = years_between((occ.expiry - day).days)
        value = black_scholes(occ.right.value, spot, strike, years, vol, self.config.rate)
        bid, ask = self._bid_ask(value.price, strike, spot)
        monthly = occ.expiry == _listed_day(third_friday(occ.expiry.year, occ.expiry.month))
        greeks = Greeks(delta=value.delta, gamma=value.gamma, theta=value.theta, vega=value.vega)
        oi = _open_interest(strike, spot, monthly)
        return ModelQuote(symbol, value.price, bid, ask, vol, greeks, oi)

    def snapshot(self, symbol: str, day: date, now: datetime) -> OptionSnapshot | None:
        quote = self.quote(symbol, day)
        if quote is None:
            return None
        return OptionSnapshot(
            symbol=symbol,
            bid=quote.bid,
            ask=quote.ask,
            quote_time=now,
            implied_vol=quote.implied_vol,
            greeks=quote.greeks,
        )

    def marks(self, symbols: Iterable[str], day: date) -> dict[str, Decimal]:
        """Return each contract's mark on ``day``: its quote's mid (``option_marks``), or,
        expired and not yet settled, its settlement value; raise DataError without either."""
        marks: dict[str, Decimal] = {}
        for symbol in symbols:
            quote = self.quote(symbol, day)
            expiry = parse_occ(symbol).expiry
            if quote is not None:
                marks[symbol] = quote_mid(quote.bid, quote.ask)
            elif expiry < day:
                settled = self.history.day(self.history.index_on_or_before(expiry))
                marks[symbol] = self.settlement_value(symbol, settled)
            else:
                raise DataError(f"no quote for held option {symbol} on {day}: cannot value it")
        return marks

    def settlement_value(self, symbol: str, day: date) -> Decimal:
        """Return the intrinsic value per share of ``symbol`` at ``day``'s close."""
        occ = parse_occ(symbol)
        spot = self.spot(occ.underlying, day)
        if spot is None:
            raise ValueError(f"no close of {occ.underlying} on {day} to settle {symbol}")
        value = to_decimal(spot) - occ.strike
        if occ.right is OptionRight.PUT:
            value = -value
        return max(value, Decimal(0)).quantize(Decimal("0.0001"))

    def _bid_ask(self, mid: float, strike: float, spot: float) -> tuple[Decimal, Decimal]:
        cfg = self.config
        spread = max(
            mid * cfg.spread_base * math.exp(cfg.spread_widen * abs(math.log(strike / spot))), 0.02
        )
        bid = Decimal(repr(max(mid - spread / 2, 0.0))).quantize(CENT, rounding=ROUND_FLOOR)
        ask = Decimal(repr(mid + spread / 2)).quantize(CENT, rounding=ROUND_CEILING)
        return bid, max(ask, CENT)


def _open_interest(strike: float, spot: float, monthly: bool) -> int:
    base = 20_000 * math.exp(-((math.log(strike / spot) / 0.12) ** 2))
    return int(base * (3 if monthly else 1))


def _rolling_std(values: FloatArray, window: int) -> FloatArray:
    """Return the sample stdev of the last ``window`` values at each row (NaN until full)."""
    out = np.full(len(values), np.nan)
    if len(values) < window:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(values, window)
    out[window - 1 :] = np.std(windows, axis=1, ddof=1)
    return out


__all__ = [
    "CONTRACT_MULTIPLIER",
    "ModelQuote",
    "OptionsMarketConfig",
    "SimulatedOptionsMarket",
    "strike_step",
    "third_friday",
]
