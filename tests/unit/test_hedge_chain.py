"""Chain screening fails closed with the reason; selection finds the template's puts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.alpaca_mapping import NEW_YORK
from alchemiser.broker.options_models import (
    Greeks,
    OptionContract,
    OptionRight,
    OptionSnapshot,
    occ_symbol,
)
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.hedge.chain import (
    ChainOption,
    Pick,
    Refusal,
    atm_implied_vol,
    join_chain,
    option_problem,
    select_structure,
)
from alchemiser.hedge.policy import TEMPLATES, HedgeLimits, HedgeTemplate
from alchemiser.market.loader import load_price_directory

DAY = date(2024, 3, 14)
NOW = datetime.combine(DAY, time(15, 45), NEW_YORK).astimezone(UTC)
LIMITS = HedgeLimits()


def option(
    *,
    bid: str = "4.00",
    ask: str = "4.10",
    delta: float | None = -0.15,
    iv: float | None = 0.2,
    interest: int | None = 5000,
    age_s: float = 1,
    quoted: bool = True,
    strike: int = 380,
    expiry: date = date(2024, 6, 21),
) -> ChainOption:
    symbol = occ_symbol("QQQ", expiry, OptionRight.PUT, Decimal(strike))
    contract = OptionContract(
        symbol=symbol, underlying="QQQ", expiry=expiry, strike=Decimal(strike),
        right=OptionRight.PUT, open_interest=interest,
    )  # fmt: skip
    snapshot = OptionSnapshot(
        symbol=symbol, bid=Decimal(bid), ask=Decimal(ask), quote_time=NOW - timedelta(seconds=age_s),
        implied_vol=iv,
        greeks=Greeks(delta=delta, gamma=0.01, theta=-0.05, vega=0.5) if delta is not None else None,
    )  # fmt: skip
    return ChainOption(contract, snapshot if quoted else None)


@pytest.mark.parametrize(
    ("changes", "kind", "text"),
    [
        ({"quoted": False}, "no quote", "no quote"),
        ({"age_s": 600}, "stale quote", "600s old, at most 120s"),
        ({"bid": "0"}, "one-sided quote", "bid 0, ask 4.10"),
        ({"bid": "4.20"}, "crossed quote", "bid 4.20 > ask 4.10"),
        ({"bid": "0.04", "ask": "0.06"}, "mid too small", "mid 0.05 under 0.10"),
        ({"bid": "3.00", "ask": "4.00"}, "spread too wide", "spread 28.6% of mid over 15%"),
        ({"iv": None}, "no IV or greeks", "no implied vol"),
        ({"delta": None}, "no IV or greeks", "no implied vol"),
        ({"interest": 20}, "low open interest", "open interest 20 under 100"),
        ({"interest": None}, "low open interest", "open interest unknown"),
    ],
)
def test_an_unusable_contract_is_refused_with_why(
    changes: dict[str, object], kind: str, text: str
) -> None:
    problem = option_problem(option(**changes), NOW, LIMITS)  # type: ignore[arg-type]
    assert problem is not None
    assert problem.kind == kind
    assert text in problem.text
    assert option_problem(option(), NOW, LIMITS) is None


def test_a_chain_with_nothing_usable_is_a_refusal_that_counts_the_reasons() -> None:
    chain = [option(strike=370 + i, bid="1.00", ask="2.00") for i in range(3)] + [option(age_s=900)]
    refusal = select_structure(chain, TEMPLATES[HedgeTemplate.TAIL], DAY, NOW, LIMITS)
    assert isinstance(refusal, Refusal)
    assert "0 of 4 contracts usable" in refusal.reason
    assert "3 spread too wide; 1 stale quote" in refusal.reason


def test_no_expiry_in_the_window_is_a_refusal_listing_what_is_listed() -> None:
    refusal = select_structure(
        [option(expiry=date(2024, 4, 19))], TEMPLATES[HedgeTemplate.TAIL], DAY, NOW, LIMITS
    )
    assert refusal == Refusal("no put expires in 60-120 days (listed: 36 days)")


def test_a_put_far_from_the_target_delta_is_not_taken() -> None:
    refusal = select_structure(
        [option(delta=-0.02)], TEMPLATES[HedgeTemplate.TAIL], DAY, NOW, LIMITS
    )
    assert isinstance(refusal, Refusal)
    assert "near 0.15 delta" in refusal.reason


@pytest.fixture(scope="module")
def chain(prices_dir: Path) -> tuple[list[ChainOption], Decimal]:
    market = SimulatedOptionsMarket(load_price_directory(prices_dir, ["QQQ"]))
    contracts = market.contracts("QQQ", DAY, DAY, date(2024, 8, 1), OptionRight.PUT)
    snapshots = {c.symbol: market.snapshot(c.symbol, DAY, NOW) for c in contracts}
    spot = market.spot("QQQ", DAY)
    return join_chain(contracts, {s: q for s, q in snapshots.items() if q}), Decimal(repr(spot))


def test_tail_picks_a_15_delta_put_60_to_120_days_out(
    chain: tuple[list[ChainOption], Decimal],
) -> None:
    pick = select_structure(chain[0], TEMPLATES[HedgeTemplate.TAIL], DAY, NOW, LIMITS)
    assert isinstance(pick, Pick) and pick.short is None
    assert 60 <= pick.long.dte(DAY) <= 120
    assert abs(pick.long.abs_delta - 0.15) < 0.03


def test_spread_picks_30_and_10_delta_puts_of_one_expiry(
    chain: tuple[list[ChainOption], Decimal],
) -> None:
    pick = select_structure(chain[0], TEMPLATES[HedgeTemplate.SPREAD], DAY, NOW, LIMITS)
    assert isinstance(pick, Pick) and pick.short is not None
    assert pick.long.contract.expiry == pick.short.contract.expiry
    assert pick.short.contract.strike < pick.long.contract.strike
    assert abs(pick.long.abs_delta - 0.30) < 0.04 and abs(pick.short.abs_delta - 0.10) < 0.03


def test_the_atm_iv_comes_from_the_put_nearest_the_money_about_30_days_out(
    chain: tuple[list[ChainOption], Decimal],
) -> None:
    options, spot = chain
    iv = atm_implied_vol(options, spot, DAY)
    assert iv is not None and 0.1 < iv < 0.3
    assert atm_implied_vol([], spot, DAY) is None
