"""The simulated options market: listed-style expiries and strikes, a skewed smile, spreads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.options_models import OptionRight, occ_symbol
from alchemiser.broker.simulated_options_market import (
    SimulatedOptionsMarket,
    strike_step,
    third_friday,
)
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory
from tests.support.prices import history_from

DAY = date(2024, 3, 14)


@pytest.fixture(scope="module")
def market(prices_dir: Path) -> SimulatedOptionsMarket:
    return SimulatedOptionsMarket(load_price_directory(prices_dir, ["QQQ", "SPY"]))


def test_expiries_are_weekly_fridays_and_third_friday_monthlies_with_good_friday_moved(
    market: SimulatedOptionsMarket,
) -> None:
    expiries = market.expiries(DAY)
    # Weeklies: the next six Fridays; 2024-03-29 is Good Friday, so that week's is Thursday
    assert expiries[:6] == [
        date(2024, 3, 15), date(2024, 3, 22), date(2024, 3, 28),
        date(2024, 4, 5), date(2024, 4, 12), date(2024, 4, 19),
    ]  # fmt: skip
    assert third_friday(2024, 6) == date(2024, 6, 21) in expiries
    assert date(2025, 3, 21) in expiries  # twelve monthlies ahead
    assert all(e > DAY for e in expiries)


def test_strikes_are_listed_on_a_grid_around_the_spot(market: SimulatedOptionsMarket) -> None:
    spot = market.spot("QQQ", DAY)
    assert spot == pytest.approx(433.32, abs=0.01)
    contracts = market.contracts("QQQ", DAY, date(2024, 6, 21), date(2024, 6, 21), OptionRight.PUT)
    strikes = [c.strike for c in contracts]
    assert strike_step(spot or 0) == Decimal(5)
    assert strikes[0] == Decimal(220) and strikes[-1] == Decimal(560)
    assert all(s % 5 == 0 for s in strikes)
    assert contracts[0].symbol == "QQQ240621P00220000"


def test_puts_below_the_spot_carry_more_vol_and_wider_spreads(
    market: SimulatedOptionsMarket,
) -> None:
    atm = market.quote("QQQ240621P00435000", DAY)
    otm = market.quote("QQQ240621P00380000", DAY)
    assert atm is not None and otm is not None
    assert otm.implied_vol > atm.implied_vol
    atm_spread = (atm.ask - atm.bid) / Decimal(repr(atm.mid))
    otm_spread = (otm.ask - otm.bid) / Decimal(repr(otm.mid))
    assert otm_spread > atm_spread > 0
    assert -0.6 < atm.greeks.delta < -0.4
    assert -0.15 < otm.greeks.delta < 0
    assert otm.open_interest < atm.open_interest


def test_the_same_day_gives_the_same_quote(prices_dir: Path) -> None:
    one = SimulatedOptionsMarket(load_price_directory(prices_dir, ["QQQ"]))
    two = SimulatedOptionsMarket(load_price_directory(prices_dir, ["QQQ"]))
    assert one.quote("QQQ240621P00400000", DAY) == two.quote("QQQ240621P00400000", DAY)


def test_the_atm_vol_follows_realised_vol_on_real_data(market: SimulatedOptionsMarket) -> None:
    calm = market.atm_vol("SPY", date(2017, 6, 30))
    crash = market.atm_vol("SPY", date(2020, 3, 31))
    assert calm is not None and crash is not None
    assert calm < 0.12 < 0.5 < crash


def test_no_vol_and_no_quote_while_the_history_is_too_short() -> None:
    history: PriceHistory = history_from({"XYZ": [100.0 + i for i in range(61)]})
    market = SimulatedOptionsMarket(history)
    young, ready = history.day(59), history.day(60)
    symbol = occ_symbol("XYZ", date(2024, 6, 21), OptionRight.PUT, Decimal(150))
    assert market.atm_vol("XYZ", young) is None
    assert market.quote(symbol, young) is None
    assert market.atm_vol("XYZ", ready) is not None
    assert market.quote(symbol, ready) is not None


def test_expired_contracts_are_not_quoted_and_settle_at_intrinsic_value(
    market: SimulatedOptionsMarket,
) -> None:
    assert market.quote("QQQ240315P00440000", date(2024, 3, 18)) is None
    # QQQ's adjusted close on 2024-03-15 in the data is 428.169
    value = market.settlement_value("QQQ240315P00440000", date(2024, 3, 15))
    assert value == pytest.approx(Decimal("11.831"), abs=Decimal("0.001"))
    assert market.settlement_value("QQQ240315C00440000", date(2024, 3, 15)) == 0
