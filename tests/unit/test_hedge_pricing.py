"""Black-Scholes prices and greeks against values computed by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alchemiser.hedge.pricing import black_scholes, intrinsic, normal_cdf


def test_at_the_money_one_year_20_vol_matches_the_textbook_value() -> None:
    # Given S = K = 100, one year, 20 % vol, no rate: d1 = 0.1, d2 = -0.1
    put = black_scholes("put", 100.0, 100.0, 1.0, 0.2)
    call = black_scholes("call", 100.0, 100.0, 1.0, 0.2)
    # Then the price is 100 (N(0.1) - N(-0.1)) = 7.9656 for both, by parity
    assert put.price == pytest.approx(7.965567, abs=1e-6)
    assert call.price == pytest.approx(put.price, abs=1e-9)
    assert call.delta == pytest.approx(normal_cdf(0.1), abs=1e-12)
    assert put.delta == pytest.approx(normal_cdf(0.1) - 1, abs=1e-12)
    # gamma = n(0.1) / (100 x 0.2), vega = 100 n(0.1)
    density = math.exp(-0.005) / math.sqrt(2 * math.pi)
    assert put.gamma == pytest.approx(density / 20, rel=1e-12)
    assert put.vega == pytest.approx(100 * density, rel=1e-12)
    assert put.theta < 0


def test_an_out_of_the_money_put_with_a_rate_matches_a_hand_computation() -> None:
    # Given S 100, K 90, half a year, 30 % vol, 5 % rate
    s, k, t, v, r = 100.0, 90.0, 0.5, 0.3, 0.05
    d1 = (math.log(s / k) + (r + v * v / 2) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    expected = k * math.exp(-r * t) * normal_cdf(-d2) - s * normal_cdf(-d1)
    assert black_scholes("put", s, k, t, v, r).price == pytest.approx(expected, rel=1e-12)
    # d1 = 0.7206, d2 = 0.5085: 90 e^-0.025 N(-0.5085) - 100 N(-0.7206) = 3.2639
    assert expected == pytest.approx(3.2639, abs=1e-4)


def test_at_expiry_an_option_is_worth_its_intrinsic_value() -> None:
    assert black_scholes("put", 80.0, 100.0, 0.0, 0.3).price == 20.0
    assert black_scholes("put", 80.0, 100.0, 0.0, 0.3).delta == -1.0
    assert black_scholes("call", 80.0, 100.0, 0.0, 0.3).price == 0.0
    assert intrinsic("call", 120.0, 100.0) == 20.0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="spot and strike"):
        black_scholes("put", 0.0, 100.0, 1.0, 0.2)
    with pytest.raises(ValueError, match="volatility"):
        black_scholes("put", 100.0, 100.0, 1.0, 0.0)


@given(
    spot=st.floats(10, 1000),
    moneyness=st.floats(0.5, 1.5),
    years=st.floats(0.01, 2),
    vol=st.floats(0.05, 1.5),
)
def test_put_call_parity_holds_and_a_put_is_worth_at_least_its_intrinsic_value(
    spot: float, moneyness: float, years: float, vol: float
) -> None:
    strike = spot * moneyness
    put = black_scholes("put", spot, strike, years, vol)
    call = black_scholes("call", spot, strike, years, vol)
    assert call.price - put.price == pytest.approx(spot - strike, abs=1e-7 * spot)
    assert put.price >= intrinsic("put", spot, strike) - 1e-9 * spot
    assert -1.0 <= put.delta <= 0.0
