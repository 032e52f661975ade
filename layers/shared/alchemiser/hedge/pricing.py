"""Black-Scholes prices and greeks of European options (no dividends, rate r).

With ``S`` the underlying, ``K`` the strike, ``T`` the years to expiry, ``v`` the
implied volatility, ``r`` the continuously compounded rate and ``N`` the standard
normal distribution::

    d1 = (ln(S/K) + (r + v^2/2) T) / (v sqrt T),   d2 = d1 - v sqrt T
    call = S N(d1) - K e^(-rT) N(d2)               put = K e^(-rT) N(-d2) - S N(-d1)
    delta: call N(d1), put N(d1) - 1
    gamma = n(d1) / (S v sqrt T)                   vega = S n(d1) sqrt T (per 1.00 of vol)
    theta (per calendar day) = (-S n(d1) v / (2 sqrt T) -/+ r K e^(-rT) N(+/-d2)) / 365

At or after expiry (T <= 0) an option is worth its intrinsic value and its delta is
0 or +/-1. Prices are per share; a listed contract is 100 shares. Listed US equity
options are American, but a put on an ETF with no early-exercise premium worth
speaking of at these rates is priced closely enough as European: the simulated market
uses this model for both the chain and the fills, so it is consistent with itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Right = Literal["call", "put"]
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
DAYS_PER_YEAR = 365.0


def normal_cdf(x: float) -> float:
    """Return N(x), the standard normal cumulative distribution."""
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def normal_pdf(x: float) -> float:
    """Return n(x), the standard normal density."""
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


@dataclass(frozen=True)
class OptionValue:
    """Price and greeks of one option on one share (vega per 1.00 of vol, theta per day)."""

    price: float
    delta: float
    gamma: float
    vega: float
    theta: float


def intrinsic(right: Right, spot: float, strike: float) -> float:
    """Return the value at expiry: max(S - K, 0) for a call, max(K - S, 0) for a put."""
    return max(spot - strike, 0.0) if right == "call" else max(strike - spot, 0.0)


def black_scholes(
    right: Right, spot: float, strike: float, years: float, vol: float, rate: float = 0.0
) -> OptionValue:
    """Return the Black-Scholes price and greeks; intrinsic value once ``years <= 0``."""
    if spot <= 0 or strike <= 0:
        raise ValueError(f"spot and strike must be > 0, were {spot} and {strike}")
    if years <= 0 or vol <= 0:
        if years > 0 and vol <= 0:
            raise ValueError(f"volatility must be > 0 before expiry, was {vol}")
        value = intrinsic(right, spot, strike)
        in_money = value > 0
        delta = (1.0 if right == "call" else -1.0) if in_money else 0.0
        return OptionValue(value, delta, 0.0, 0.0, 0.0)
    root = math.sqrt(years)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / (vol * root)
    d2 = d1 - vol * root
    discount = strike * math.exp(-rate * years)
    density = normal_pdf(d1)
    gamma = density / (spot * vol * root)
    vega = spot * density * root
    decay = -spot * density * vol / (2.0 * root)
    if right == "call":
        price = spot * normal_cdf(d1) - discount * normal_cdf(d2)
        delta = normal_cdf(d1)
        theta = decay - rate * discount * normal_cdf(d2)
    else:
        price = discount * normal_cdf(-d2) - spot * normal_cdf(-d1)
        delta = normal_cdf(d1) - 1.0
        theta = decay + rate * discount * normal_cdf(-d2)
    return OptionValue(max(price, 0.0), delta, gamma, vega, theta / DAYS_PER_YEAR)


def years_between(days: int) -> float:
    """Return ``days`` calendar days as years (365 days a year)."""
    return days / DAYS_PER_YEAR
