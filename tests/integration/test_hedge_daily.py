"""One day of the hedge book on the simulated options market (real QQQ prices).

Fail closed: no IV, stale quotes, wide spreads, a halt, broker/book disagreement:
each places no option order and says why. Buying respects the caps and never pushes
the account's delta below zero; re-running a day buys nothing twice.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from alchemiser.broker.alpaca_mapping import NEW_YORK
from alchemiser.broker.options_models import (
    CONTRACT_MULTIPLIER,
    OptionLeg,
    OptionOrderRequest,
    PositionIntent,
)
from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import OptionsMarketConfig, SimulatedOptionsMarket
from alchemiser.execution.clock import InstantClock
from alchemiser.hedge.book import HedgeBookState
from alchemiser.hedge.daily import HedgeDayInputs, HedgePorts, run_hedge_day
from alchemiser.hedge.iv_regime import IvHistory
from alchemiser.hedge.policy import Budget, HedgePolicy, HedgeTemplate, HedgeUnderlying, Protect
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory

DAY = date(2024, 3, 14)
POLICY = HedgePolicy(
    underlying=HedgeUnderlying.AUTO, template=HedgeTemplate.TAIL,
    protect=Protect(move=Decimal("-0.20"), payoff=Decimal("0.08")),
    budget=Budget(monthly=Decimal("0.005"), yearly=Decimal("0.04")),
)  # fmt: skip


@pytest.fixture(scope="module")
def history(prices_dir: Path) -> PriceHistory:
    return load_price_directory(prices_dir, ["QQQ", "SPY"])


def at(day: date, minutes: int = 0) -> InstantClock:
    return InstantClock(datetime.combine(day, time(15, 45), NEW_YORK) + timedelta(minutes=minutes))


class Desk:
    """A simulated options account and the ports of the hedge day, on one day."""

    def __init__(
        self, folder: Path, market: SimulatedOptionsMarket, day: date = DAY, quote_lag: int = 0
    ) -> None:
        self.market, self.day = market, day
        self.clock = at(day)
        quote_clock = at(day, -quote_lag) if quote_lag else self.clock
        self.broker = SimulatedOptionsBroker(folder / "options.sqlite3", market, clock=quote_clock)
        self.broker.set_day(day)
        self.ports = HedgePorts(self.broker, self.clock, IvHistory(), close_of=self.close_of)

    def close_of(self, underlying: str, day: date) -> Decimal | None:
        spot = self.market.spot(underlying, day)
        return None if spot is None else Decimal(repr(spot))

    def inputs(self, state: HedgeBookState | None = None, **changes: object) -> HedgeDayInputs:
        spot = self.close_of("QQQ", self.day) or Decimal(0)
        base = HedgeDayInputs(
            run_id=f"cycle-{self.day}-dev", today=self.day, policy=POLICY, nav=Decimal(1_000_000),
            underlying="QQQ", equity_delta=Decimal(1_500_000), spot=spot, state=state or HedgeBookState(),
        )  # fmt: skip
        return replace(base, **changes)  # type: ignore[arg-type]


def test_a_hedge_is_bought_within_the_monthly_budget_and_a_rerun_buys_nothing(
    tmp_path: Path, history: PriceHistory
) -> None:
    desk = Desk(tmp_path, SimulatedOptionsMarket(history))
    report = run_hedge_day(desk.inputs(), desk.ports)
    assert report.decision == "hedged"
    (action,) = report.actions
    assert action.kind == "open" and action.execution.filled_qty > 0
    assert report.spent_month <= Decimal(5_000)  # 0.5 % of $1M
    assert [c.rule for c in report.clips] == ["monthly budget"]
    assert report.protection["-0.2"] > 0 and report.next_roll is not None
    orders = len(desk.broker.orders())
    again = run_hedge_day(desk.inputs(report.state), desk.ports)
    assert len(desk.broker.orders()) == orders
    assert again.decision == "no-hedge" and again.actions == []
    assert "was bought today (one purchase a day" in again.reasons[0]


def test_no_policy_means_no_hedge_and_a_halt_places_nothing(
    tmp_path: Path, history: PriceHistory
) -> None:
    desk = Desk(tmp_path, SimulatedOptionsMarket(history))
    off = run_hedge_day(desk.inputs(policy=None), desk.ports)
    assert off.reasons == ["hedging is off for this stage (no hedge: in books.yaml)"]
    halted = run_hedge_day(
        desk.inputs(halt_reason="hedge kill switch is on (set by ops)"), desk.ports
    )
    assert halted.decision == "refused"
    assert halted.reasons == ["halted: hedge kill switch is on (set by ops)"]
    assert desk.broker.orders() == []


def test_no_implied_vol_places_no_order(tmp_path: Path, history: PriceHistory) -> None:
    young = history.select(["QQQ", "SPY"])
    start = young.index_on_or_before(DAY) - 30  # thirty days of QQQ: no vol yet
    short = PriceHistory(young.dates[start:], young.tickers, young.closes[start:])
    desk = Desk(tmp_path, SimulatedOptionsMarket(short))
    report = run_hedge_day(desk.inputs(), desk.ports)
    assert report.decision == "refused"
    assert report.reasons == ["no implied vol in the QQQ chain: no hedge"]
    assert desk.broker.orders() == []


def test_stale_quotes_place_no_order_and_say_so(tmp_path: Path, history: PriceHistory) -> None:
    desk = Desk(tmp_path, SimulatedOptionsMarket(history), quote_lag=10)
    report = run_hedge_day(desk.inputs(), desk.ports)
    assert desk.broker.orders() == []
    assert report.decision == "no-hedge"
    assert "no new hedge: no usable put near 0.15 delta" in report.reasons[0]
    assert "stale quote" in report.reasons[0]


def test_wide_spreads_place_no_order_and_say_so(tmp_path: Path, history: PriceHistory) -> None:
    wide = SimulatedOptionsMarket(history, OptionsMarketConfig(spread_base=0.3))
    desk = Desk(tmp_path, wide)
    report = run_hedge_day(desk.inputs(), desk.ports)
    assert desk.broker.orders() == []
    assert "spread too wide" in report.reasons[0]


def test_positions_the_book_does_not_know_block_every_order(
    tmp_path: Path, history: PriceHistory
) -> None:
    desk = Desk(tmp_path, SimulatedOptionsMarket(history))
    symbol = "QQQ240621P00400000"
    ask = desk.broker.option_snapshots([symbol])[symbol].ask
    leg = OptionLeg(symbol=symbol, intent=PositionIntent.BUY_TO_OPEN)
    desk.broker.submit_option_order(
        OptionOrderRequest(client_order_id="manual", legs=(leg,), qty=1, limit_price=ask)
    )
    report = run_hedge_day(desk.inputs(), desk.ports)
    assert report.decision == "refused"
    assert report.reasons == [
        "option positions at the broker disagree with the hedge book "
        "(QQQ240621P00400000 broker 1 vs book 0): no option order until reconciled"
    ]
    assert len(desk.broker.orders()) == 1


@settings(max_examples=15, deadline=None)
@given(
    offset=st.integers(0, 2500),
    nav=st.decimals(50_000, 3_000_000, places=0),
    beta=st.decimals("-0.5", "3", places=2),
    monthly=st.decimals("0.001", "0.02", places=3),
)
def test_a_filled_hedge_respects_every_cap_and_never_raises_the_accounts_delta(
    history: PriceHistory, offset: int, nav: Decimal, beta: Decimal, monthly: Decimal
) -> None:
    row = len(history.dates) - 1 - offset
    day = history.day(row)
    policy = POLICY.model_copy(update={"budget": Budget(monthly=monthly, yearly=monthly * 6)})
    with tempfile.TemporaryDirectory() as folder:
        desk = Desk(Path(folder), SimulatedOptionsMarket(history), day=day)
        delta = (beta * nav).quantize(Decimal("0.01"))
        report = run_hedge_day(desk.inputs(policy=policy, nav=nav, equity_delta=delta), desk.ports)
        assert report.spent_month <= monthly * nav
        assert report.spent_year <= monthly * 6 * nav
        spot = desk.close_of("QQQ", day) or Decimal(0)
        quotes = desk.broker.option_snapshots([p.symbol for p in desk.broker.option_positions()])
        held = sum(
            (Decimal(repr(quotes[p.symbol].greeks.delta)) * p.qty * CONTRACT_MULTIPLIER * spot  # type: ignore[union-attr]
             for p in desk.broker.option_positions()),
            Decimal(0),
        )  # fmt: skip
        assert held <= 0  # only puts are bought
        if held:
            assert delta + held >= 0  # the account's delta fell, and not past zero
        event("bought" if held else "bought nothing")


def test_when_the_underlying_changes_the_old_hedge_is_sold_and_a_new_one_bought(
    tmp_path: Path, history: PriceHistory
) -> None:
    market = SimulatedOptionsMarket(history)
    first = Desk(tmp_path, market)
    spy = first.close_of("SPY", DAY) or Decimal(0)
    bought = run_hedge_day(first.inputs(underlying="SPY", spot=spy), first.ports)
    assert bought.decision == "hedged" and bought.state.hedges[0].underlying == "SPY"
    # The next day the books are explained better by QQQ
    nextday = history.day(history.index_on_or_before(DAY) + 1)
    second = Desk(tmp_path, market, day=nextday)
    report = run_hedge_day(second.inputs(state=bought.state), second.ports)
    close, opened = report.actions
    assert close.kind == "close" and "the hedge underlying is now QQQ" in close.reason
    assert close.execution.filled_qty == bought.state.hedges[0].legs[0].qty
    assert opened.kind == "open" and opened.execution.filled_qty > 0
    assert [h.underlying for h in report.state.hedges] == ["QQQ"]
    assert report.marks[0].record.underlying == "QQQ"


def test_the_hedge_never_spends_more_than_its_cash_and_says_so(
    tmp_path: Path, history: PriceHistory
) -> None:
    desk = Desk(tmp_path, SimulatedOptionsMarket(history))
    report = run_hedge_day(desk.inputs(cash=Decimal(1500)), desk.ports)
    assert report.decision == "hedged"
    assert report.spent_month <= Decimal(1500)
    (clip,) = [c for c in report.clips if c.rule == "hedge cash"]
    assert "$1,500.00 left in the hedge book's cash" in clip.detail
    # No cash at all: nothing is bought, and the clip says why
    empty = Desk(tmp_path / "empty", SimulatedOptionsMarket(history))
    none = run_hedge_day(empty.inputs(cash=Decimal(0)), empty.ports)
    assert none.decision == "no-hedge" and empty.broker.orders() == []
    assert any("hedge cash" in reason for reason in none.reasons)


def test_an_option_buy_beyond_the_accounts_buying_power_is_a_refusal(
    tmp_path: Path, history: PriceHistory
) -> None:
    # Given an account with $300 of cash (the policy's budget allows $5,000 of premium)
    market = SimulatedOptionsMarket(history)
    SimulatedOptionsBroker(tmp_path / "options.sqlite3", market, initial_cash=Decimal(300))
    desk = Desk(tmp_path, market)
    report = run_hedge_day(desk.inputs(), desk.ports)
    assert report.decision == "refused"
    assert "insufficient options buying power" in report.reasons[-1]
    assert all(o.filled_qty == 0 for o in desk.broker.orders())
