"""Planning one book's rebalance: its own capital, its own positions, sells before buys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.books.planning import PlanningSettings, plan_book_rebalance
from alchemiser.broker.models import AssetInfo, OrderSide
from alchemiser.cycle.models import BookPlan, BookStatus
from alchemiser.errors import DataError
from alchemiser.settings import Settings

D = Decimal


def asset(
    symbol: str, *, fractionable: bool = True, places: int = 9, tradable: bool = True
) -> AssetInfo:
    return AssetInfo(symbol=symbol, tradable=tradable, fractionable=fractionable, qty_places=places)


def plan(
    weights: Mapping[str, float],
    *,
    capital: str = "10000",
    positions: Mapping[str, str] | None = None,
    prices: Mapping[str, str],
    assets: Mapping[str, AssetInfo] | None = None,
    threshold: float | None = None,
    scheduled_day: bool = True,
    limits: PlanningSettings | Settings | None = None,
) -> BookPlan:
    return plan_book_rebalance(
        run_id="cycle-2026-11-20-dev",
        book_id="alpha",
        strategy="alpha.clj",
        target_weights=weights,
        capital=D(capital),
        positions={s: D(q) for s, q in (positions or {}).items()},
        prices={s: D(p) for s, p in prices.items()},
        assets=assets or {s: asset(s) for s in prices},
        threshold=threshold,
        scheduled_day=scheduled_day,
        settings=limits,
    )


def trades(p: BookPlan) -> list[tuple[str, str, Decimal, Decimal, bool]]:
    return [(t.side.value, t.symbol, t.qty, t.notional, t.exit) for t in p.trades]


def test_a_book_in_cash_buys_its_targets_with_quantities_rounded_down() -> None:
    # Given $10,000 in cash and a 60/40 target
    p = plan({"SPY": 0.6, "TLT": 0.4}, prices={"SPY": "500", "TLT": "90"})
    # When planned / Then it buys each target's value, quantities rounded down to 9 places
    assert p.status is BookStatus.PLANNED and p.cash == D(10000)
    assert trades(p) == [
        ("buy", "SPY", D(12), D("6000.00"), False),
        ("buy", "TLT", D("44.444444444"), D("4000.00"), False),
    ]


def test_deployment_pct_keeps_part_of_the_capital_in_cash() -> None:
    p = plan({"SPY": 1.0}, prices={"SPY": "100"}, limits=PlanningSettings(deployment_pct=D("0.95")))
    assert trades(p) == [("buy", "SPY", D(95), D("9500.00"), False)]


def test_the_system_settings_can_be_passed_directly() -> None:
    settings_95 = Settings(deployment_pct=D("0.95"), min_trade_notional=D(1))
    p = plan({"SPY": 1.0}, prices={"SPY": "100"}, limits=settings_95)
    # 95 % of $10,000, less the Settings' 10 bps cost reserve: 9500 / 1.001 / 100
    assert trades(p) == [("buy", "SPY", D("94.905094905"), D("9490.51"), False)]


def test_a_symbol_no_longer_targeted_is_exited_exactly_and_sells_come_first() -> None:
    # Given a book holding an odd quantity of GLD that the strategy no longer wants
    p = plan(
        {"SPY": 1.0},
        positions={"GLD": "3.1234567891234"},
        prices={"SPY": "400", "GLD": "200"},
    )
    # When planned / Then GLD is sold to the last digit, before the buy it funds
    assert [t.side for t in p.trades] == [OrderSide.SELL, OrderSide.BUY]
    exit_trade = p.trades[0]
    assert (exit_trade.symbol, exit_trade.qty, exit_trade.exit) == (
        "GLD",
        D("3.1234567891234"),
        True,
    )
    assert p.cash == D(10000) - D("3.1234567891234") * 200
    assert p.trades[1].qty == D(25)


def test_a_dust_exit_is_never_held_for_being_small() -> None:
    p = plan({"SPY": 1.0}, positions={"GLD": "0.0001"}, prices={"SPY": "400", "GLD": "200"})
    assert trades(p)[0] == ("sell", "GLD", D("0.0001"), D("0.02"), True)
    dust = plan({}, positions={"GLD": "0.00001"}, prices={"GLD": "200"})
    assert trades(dust) == [("sell", "GLD", D("0.00001"), D("0.01"), True)]  # one cent at least


def test_a_trade_below_the_minimum_is_held_with_its_reason() -> None:
    # Given a $100,000 book $3 short of its SPY target: the minimum is min($5, 1% x capital) = $5
    p = plan({"SPY": 1.0}, capital="100000", positions={"SPY": "999.97"}, prices={"SPY": "100"})
    # When planned / Then no trade, and the held trade says why
    assert p.status is BookStatus.PLANNED and p.trades == []
    assert [(h.symbol, h.notional) for h in p.held] == [("SPY", D("3.00"))]
    assert "below the minimum trade $5.00" in p.held[0].reason


def test_a_small_book_still_trades_because_its_minimum_is_one_percent_of_capital() -> None:
    # Given a $200 book $3 short: its minimum trade is min($5, $2) = $2
    p = plan({"SPY": 1.0}, capital="200", positions={"SPY": "1.97"}, prices={"SPY": "100"})
    assert trades(p) == [("buy", "SPY", D("0.03"), D("3.00"), False)]


def test_whole_shares_for_a_non_fractionable_asset_and_a_buy_rounding_to_zero_is_held() -> None:
    # Given a non-fractionable asset priced above its target value and another below it
    p = plan(
        {"BRK": 0.05, "XYZ": 0.95},
        prices={"BRK": "600", "XYZ": "70"},
        assets={"BRK": asset("BRK", fractionable=False), "XYZ": asset("XYZ", fractionable=False)},
    )
    # When planned / Then XYZ buys whole shares and BRK's $500 is held, not dropped
    assert trades(p) == [("buy", "XYZ", D(135), D("9450.00"), False)]
    assert [h.symbol for h in p.held] == ["BRK"]
    assert p.held[0].reason == "buy of $500.00 rounds to 0 whole shares at $600"


def test_buys_are_scaled_to_cash_plus_own_sell_proceeds_and_the_plan_says_so() -> None:
    # Given a book whose holding grew past its capital (cash -$100), X non-fractionable
    p = plan(
        {"X": 0.5, "Y": 0.5},
        capital="1000",
        positions={"X": "10"},
        prices={"X": "110", "Y": "10"},
        assets={"X": asset("X", fractionable=False), "Y": asset("Y")},
    )
    # When planned: X sells 5 whole shares ($550), leaving $450 of the $500 Y wants
    assert trades(p) == [
        ("sell", "X", D(5), D("550.00"), False),
        ("buy", "Y", D(45), D("450.00"), False),
    ]
    # Then the scaling is reported
    assert p.reason.startswith("buys scaled to 90.00% of their targets")


def test_weights_a_hair_over_one_are_scaled_silently_and_never_spend_more_than_the_cash() -> None:
    # Given klm_ensemble.clj's real weights of 2024-03-14, whose float sum is 1 + 3e-17
    weights = {"GLD": 0.12802363206571923, "UUP": 0.3719763679342808, "XLF": 0.25, "XLP": 0.25}
    prices = {"GLD": "200.35", "UUP": "25.86", "XLF": "39.31", "XLP": "70.65"}
    # When a book in cash plans its buys
    p = plan(weights, capital="30000", prices=prices)
    # Then no "$30000.00 < $30000.00 wanted" is said, and the buys still fit the cash
    assert p.reason == ""
    assert sum(t.qty * t.price for t in p.trades) <= D(30000)
    assert len(p.trades) == 4


def test_with_no_cash_and_nothing_to_sell_every_buy_is_held_saying_why() -> None:
    # Given a book whose SPY grew to 120 % of its capital and a new target it cannot fund
    p = plan(
        {"SPY": 0.5, "TLT": 0.5},
        capital="1000",
        positions={"SPY": "12"},
        prices={"SPY": "100", "TLT": "50"},
        assets={"SPY": asset("SPY", fractionable=False), "TLT": asset("TLT")},
    )
    # When planned: SPY sells 7 shares ($700), -$200 + $700 = $500 funds TLT's $500 exactly
    assert trades(p) == [
        ("sell", "SPY", D(7), D("700.00"), False),
        ("buy", "TLT", D(10), D("500.00"), False),
    ]
    # And with SPY untradable nothing funds TLT: the buy is held, not dropped
    stuck = plan(
        {"SPY": 0.5, "TLT": 0.5},
        capital="1000",
        positions={"SPY": "12"},
        prices={"SPY": "100", "TLT": "50"},
        assets={"SPY": asset("SPY", tradable=False), "TLT": asset("TLT")},
    )
    assert stuck.trades == []
    assert [h.reason for h in stuck.held] == [
        "SPY is not tradable at the broker",
        "no cash left to buy: cash $-200.00 + sell proceeds $0.00 = $-200.00",
    ]


def test_a_day_that_is_not_a_scheduled_scheduled_day_holds_the_book() -> None:
    p = plan({"SPY": 1.0}, prices={"SPY": "100"}, scheduled_day=False)
    assert (p.status, p.trades, p.reason) == (BookStatus.HELD, [], "not a scheduled rebalance day")
    assert p.cash == D(10000) and p.target_weights == {"SPY": D("1.0")}


def test_inside_the_corridor_the_book_holds_and_outside_it_rebalances() -> None:
    # Given a 50/50 target held at 52/48 of capital
    inside = plan(
        {"A": 0.5, "B": 0.5},
        positions={"A": "52", "B": "48"},
        prices={"A": "100", "B": "100"},
        threshold=0.05,
    )
    # Then a 5 % corridor holds it, naming the largest drift
    assert inside.status is BookStatus.HELD and inside.trades == []
    assert "largest drift 0.020000 (A) <= threshold 0.05" in inside.reason
    # And a 1 % corridor rebalances it
    outside = plan(
        {"A": 0.5, "B": 0.5},
        positions={"A": "52", "B": "48"},
        prices={"A": "100", "B": "100"},
        threshold=0.01,
    )
    assert trades(outside) == [
        ("sell", "A", D(2), D("200.00"), False),
        ("buy", "B", D(2), D("200.00"), False),
    ]


def test_a_held_symbol_no_longer_targeted_drifts_by_its_whole_weight() -> None:
    # Given 94 % in A (targeted at 100 %) and 6 % in C, no longer targeted
    p = plan(
        {"A": 1.0}, positions={"A": "94", "C": "6"}, prices={"A": "100", "C": "100"}, threshold=0.05
    )
    # Then C's 6 % is drift past the 5 % corridor: C is exited
    assert trades(p)[0] == ("sell", "C", D(6), D("600.00"), True)


def test_a_symbol_the_broker_does_not_trade_is_held_and_funds_nothing() -> None:
    p = plan(
        {"SPY": 1.0},
        positions={"OLD": "5"},
        prices={"SPY": "100", "OLD": "100"},
        assets={"SPY": asset("SPY"), "OLD": asset("OLD", tradable=False)},
    )
    assert [(h.symbol, h.reason) for h in p.held] == [("OLD", "OLD is not tradable at the broker")]
    assert trades(p) == [("buy", "SPY", D(95), D("9500.00"), False)]


def test_a_missing_price_fails_closed_naming_the_symbols() -> None:
    with pytest.raises(DataError, match=r"reference price for \['TLT'\]"):
        plan_book_rebalance(
            run_id="r",
            book_id="alpha",
            strategy="alpha.clj",
            target_weights={"SPY": 0.5, "TLT": 0.5},
            capital=D(1000),
            positions={},
            prices={"SPY": D(100)},
            assets={"SPY": asset("SPY"), "TLT": asset("TLT")},
            threshold=None,
            scheduled_day=True,
        )


def test_missing_asset_details_fail_closed() -> None:
    with pytest.raises(DataError, match=r"asset details for \['GLD'\]"):
        plan(
            {"SPY": 1.0},
            positions={"GLD": "1"},
            prices={"SPY": "1", "GLD": "1"},
            assets={"SPY": asset("SPY")},
        )


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"SPY": 1.5}, "in \\[0, 1\\]"),
        ({"SPY": float("nan")}, "finite"),
        ({"SPY": 0.7, "TLT": 0.7}, "sum to at most 1"),
    ],
)
def test_impossible_target_weights_are_refused(weights: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan(weights, prices={"SPY": "1", "TLT": "1"})


def test_a_book_without_capital_is_refused() -> None:
    with pytest.raises(ValueError, match="capital must be > 0"):
        plan({"SPY": 1.0}, capital="0", prices={"SPY": "1"})


# -- properties -------------------------------------------------------------------------

SYMBOLS = ["A", "B", "C", "D", "E"]


@dataclass(frozen=True)
class Case:
    weights: dict[str, float]
    capital: Decimal
    positions: dict[str, Decimal]
    prices: dict[str, Decimal]
    assets: dict[str, AssetInfo]
    deployment: Decimal
    threshold: float | None


@st.composite
def books(draw: st.DrawFn) -> Case:
    assets = {
        s: asset(s, fractionable=draw(st.booleans()), places=draw(st.integers(0, 9)))
        for s in SYMBOLS
    }
    positions = {
        s: D(draw(st.integers(1, 10**7))) / 1000
        for s in draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=4))
    }
    raw = {
        s: draw(st.integers(0, 100)) for s in draw(st.lists(st.sampled_from(SYMBOLS), unique=True))
    }
    total = sum(raw.values())
    return Case(
        weights={s: w / total for s, w in raw.items()} if total else {},
        capital=D(draw(st.integers(1, 10**8))) / 100,
        positions=positions,
        prices={s: D(draw(st.integers(1, 500_000))) / 100 for s in SYMBOLS},
        assets=assets,
        deployment=D(draw(st.integers(50, 100))) / 100,
        threshold=draw(st.none() | st.floats(0, 0.3)),
    )


@settings(max_examples=300, deadline=None)
@given(books())
def test_a_plan_never_overspends_oversells_or_breaks_precision(case: Case) -> None:
    # Given any book, positions, prices, targets and corridor
    positions, assets, weights = case.positions, case.assets, case.weights
    # When a rebalance is planned
    p = plan_book_rebalance(
        run_id="r",
        book_id="alpha",
        strategy="alpha.clj",
        target_weights=weights,
        capital=case.capital,
        positions=positions,
        prices=case.prices,
        assets=assets,
        threshold=case.threshold,
        scheduled_day=True,
        settings=PlanningSettings(deployment_pct=case.deployment),
    )
    sells = [t for t in p.trades if t.side is OrderSide.SELL]
    buys = [t for t in p.trades if t.side is OrderSide.BUY]
    # Then sells come first,
    assert p.trades == sells + buys
    # buys cost at most the cash plus the book's own sell proceeds,
    proceeds = sum((t.qty * t.price for t in sells), D(0))
    assert sum((t.qty * t.price for t in buys), D(0)) <= max(p.cash + proceeds, D(0))
    # no sell exceeds the holding, and exits sell exactly the holding,
    for t in sells:
        assert t.qty <= positions[t.symbol]
        assert (t.qty == positions[t.symbol]) if t.exit else True
        assert t.exit == (t.symbol not in weights or weights[t.symbol] == 0)
    # and every other quantity respects the asset's precision
    for t in p.trades:
        places = assets[t.symbol].qty_places if assets[t.symbol].fractionable else 0
        if not t.exit:
            assert t.qty == t.qty.quantize(D(1).scaleb(-places))
        assert t.notional == max((t.qty * t.price).quantize(D("0.01")), D("0.01"))
    # and only an exit may be smaller than the minimum trade
    minimum = min(D(5), D("0.01") * p.capital)
    assert all(t.exit or t.qty * t.price >= minimum for t in p.trades)
    # and each symbol is traded at most once, traded or held but not both
    traded = [t.symbol for t in p.trades] + [h.symbol for h in p.held]
    assert len(traded) == len(set(traded))


def test_buys_keep_a_reserve_for_their_own_costs_and_the_sells_that_fund_them() -> None:
    # Given a book with $1,000 cash and 10 X ($1,000) moving all of it into Y, and a
    # 10 bps cost reserve
    reserve = PlanningSettings(cost_reserve_bps=D(10))
    p = plan(
        {"Y": 1.0}, capital="2000", positions={"X": "10"}, prices={"X": "100", "Y": "10"},
        limits=reserve,
    )  # fmt: skip
    # When planned, the buy fits when it fills 10 bps above its price and the sell as far below
    (sell, buy) = p.trades
    assert (sell.side, sell.qty) == (OrderSide.SELL, D(10))
    worst_cost = buy.qty * buy.price * D("1.001")
    assert worst_cost <= D(1000) + sell.qty * sell.price * D("0.999")
    assert buy.qty == D("199.700299700")  # (1000 + 999) / 1.001 / 10, rounded down
    # and, as only the reserve scaled it, that is no news
    assert p.reason == ""
    # When the cash falls short too, the scaling is said with the reserve in the sum
    short = plan({"Y": 1.0}, capital="2000", positions={"X": "10"},
                 prices={"X": "100", "Y": "10"}, limits=reserve,
                 assets={"X": asset("X", tradable=False), "Y": asset("Y")})  # fmt: skip
    assert short.reason == (
        "buys scaled to 50.00% of their targets: cash $1000.00 + sell proceeds $0.00, less a "
        "10 bps reserve for execution costs = $999.00 < $1998.00 wanted"
    )
    # While without a reserve (the default of a bare PlanningSettings) all the cash buys
    assert plan({"Y": 1.0}, capital="2000", positions={"X": "10"},
                prices={"X": "100", "Y": "10"}).trades[1].qty == D(200)  # fmt: skip


def test_the_system_settings_keep_a_10_bps_reserve() -> None:
    assert PlanningSettings.from_settings(Settings()).cost_reserve_bps == D(10)
