"""One simulated account for stocks and options, as at Alpaca, on real prices.

Option premium, close proceeds and expiry settlements move the account's cash in the
transaction that books the option trade; the account's equity counts the options at
the day's mids; an option debit beyond the buying power is refused; a home made with
a separate options file is merged into the account once, whatever crashes.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.errors import OrderRejectedError
from alchemiser.broker.models import MarketOrderRequest, OrderSide, OrderStatus
from alchemiser.broker.option_marks import contract_value, quote_mid
from alchemiser.broker.options_models import OptionLeg, OptionOrderRequest, PositionIntent
from alchemiser.broker.simulated import SimulatedBroker, SimulationConfig
from alchemiser.broker.simulated_options import SimulatedOptionsBroker
from alchemiser.broker.simulated_options_market import SimulatedOptionsMarket
from alchemiser.broker.simulated_options_store import OptionsTransaction, merge_legacy_options
from alchemiser.market.history import PriceHistory
from alchemiser.market.loader import load_price_directory

DAY, LATER = date(2024, 3, 14), date(2024, 6, 24)
PUT = "QQQ240621P00440000"  # in the money at expiry? settled at QQQ's close on 2024-06-21


@pytest.fixture(scope="module")
def prices(prices_dir: Path) -> PriceHistory:
    return load_price_directory(prices_dir, ["QQQ", "SPY"])


def account(
    path: Path, prices: PriceHistory, cash: str = "100000"
) -> tuple[SimulatedBroker, SimulatedOptionsBroker]:
    config = SimulationConfig(initial_cash=Decimal(cash))
    stocks = SimulatedBroker(path / "broker.sqlite3", prices, config)
    stocks.set_session(DAY)
    options = SimulatedOptionsBroker(path / "broker.sqlite3", SimulatedOptionsMarket(prices))
    options.set_day(DAY)
    return stocks, options


def buy_put(cid: str, limit: Decimal, qty: int = 5) -> OptionOrderRequest:
    leg = OptionLeg(symbol=PUT, intent=PositionIntent.BUY_TO_OPEN)
    return OptionOrderRequest(client_order_id=cid, legs=(leg,), qty=qty, limit_price=limit)


def test_premium_leaves_the_account_cash_and_equity_counts_the_puts_at_mid(
    tmp_path: Path, prices: PriceHistory
) -> None:
    stocks, options = account(tmp_path, prices)
    quote = options.option_snapshots([PUT])[PUT]
    filled = options.submit_option_order(buy_put("p1", quote.ask))
    assert filled.status is OrderStatus.FILLED
    paid = quote.ask * 5 * 100
    after = stocks.account()
    assert after.cash == Decimal("100000") - paid
    value = contract_value(5, quote_mid(quote.bid, quote.ask))
    assert after.equity == after.cash + value  # the half-spread is the only loss
    assert [p.symbol for p in stocks.positions()] == [], "stock positions stay stocks only"
    # Moving past the expiry settles at intrinsic value into the same cash
    stocks.set_session(LATER)
    flows = options.set_day(LATER)
    assert [f.kind for f in flows] == ["settlement"]
    assert stocks.account().cash == after.cash + flows[0].amount
    assert stocks.account().equity == stocks.account().cash


def test_an_expired_put_not_yet_settled_is_worth_its_settlement(
    tmp_path: Path, prices: PriceHistory
) -> None:
    stocks, options = account(tmp_path, prices)
    quote = options.option_snapshots([PUT])[PUT]
    options.submit_option_order(buy_put("p1", quote.ask))
    stocks.set_session(LATER)  # the stock session moved on, the options' has not yet
    before = stocks.account()
    flows = options.set_day(LATER)
    assert stocks.account().equity == before.equity
    assert stocks.account().cash == before.cash + flows[0].amount


def test_a_crash_between_the_option_fill_and_the_cash_books_neither(
    tmp_path: Path, prices: PriceHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stocks, options = account(tmp_path, prices)
    quote = options.option_snapshots([PUT])[PUT]
    real = OptionsTransaction.book_trade

    def dies_after_the_position(self: OptionsTransaction, *args: object, **kw: object) -> None:
        self.connection.execute("INSERT INTO option_positions VALUES ('X', 1, '1')")
        raise KeyboardInterrupt("killed between the option position and the cash")

    monkeypatch.setattr(OptionsTransaction, "book_trade", dies_after_the_position)
    with pytest.raises(KeyboardInterrupt):
        options.submit_option_order(buy_put("p1", quote.ask))
    assert options.orders() == [] and options.option_positions() == []
    assert stocks.account().cash == Decimal("100000")
    monkeypatch.setattr(OptionsTransaction, "book_trade", real)
    # the re-run places the order once, and pays once
    options.submit_option_order(buy_put("p1", quote.ask))
    options.submit_option_order(buy_put("p1", quote.ask))
    assert len(options.orders()) == 1
    assert stocks.account().cash == Decimal("100000") - quote.ask * 500


def test_an_option_debit_beyond_the_buying_power_is_rejected_as_alpaca_does(
    tmp_path: Path, prices: PriceHistory
) -> None:
    stocks, options = account(tmp_path, prices, cash="2000")
    quote = options.option_snapshots([PUT])[PUT]
    too_many = int(Decimal(2000) / (quote.ask * 100)) + 1
    with pytest.raises(OrderRejectedError, match="insufficient options buying power"):
        options.submit_option_order(buy_put("big", quote.ask, too_many))
    assert stocks.account().cash == Decimal(2000)
    # a resting option debit holds its cash from stock buys too
    resting = options.submit_option_order(buy_put("rest", quote.bid, 1))
    assert resting.status is OrderStatus.NEW
    held = quote.bid * 100
    assert stocks.account().buying_power == Decimal(2000) - held
    price = prices.column("SPY")[prices.index_on_or_before(DAY)]
    qty = ((Decimal(2000) - held) / Decimal(repr(float(price))) + Decimal("0.5")).quantize(
        Decimal("0.001")
    )
    with pytest.raises(OrderRejectedError, match="insufficient buying power"):
        stocks.submit_order(
            MarketOrderRequest(client_order_id="s1", symbol="SPY", side=OrderSide.BUY, qty=qty)
        )


_OLD_OPTIONS = """
CREATE TABLE market (id INTEGER PRIMARY KEY CHECK (id = 1), day TEXT);
CREATE TABLE orders (id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL, day TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE positions (symbol TEXT PRIMARY KEY, qty INTEGER NOT NULL,
    avg_entry_price TEXT NOT NULL);
CREATE TABLE cash_flows (seq INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL,
    kind TEXT NOT NULL, symbol TEXT NOT NULL, qty INTEGER NOT NULL, price TEXT NOT NULL,
    amount TEXT NOT NULL, order_id TEXT);
"""


def old_home(folder: Path, prices: PriceHistory) -> tuple[Path, Decimal, dict[str, int]]:
    """Make a home as the code before one account left it: a version-1 account file and
    the options in their own file, with one put bought (its premium never left the cash)."""
    made = folder / "made"
    _, options = account(made, prices)
    quote = options.option_snapshots([PUT])[PUT]
    options.submit_option_order(buy_put("old", quote.ask))
    home = folder / "home"
    home.mkdir()
    legacy = home / "options.sqlite3"
    with (
        closing(sqlite3.connect(made / "broker.sqlite3")) as new,
        closing(sqlite3.connect(legacy)) as old,
    ):
        old.executescript(_OLD_OPTIONS)
        for table in ("orders", "positions", "cash_flows"):
            for row in new.execute(f"SELECT * FROM option_{table}"):
                old.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
        old.execute("INSERT INTO market VALUES (1, ?)", (DAY.isoformat(),))
        old.commit()
        for table in ("option_orders", "option_positions", "option_cash_flows", "option_market"):
            new.execute(f"DROP TABLE {table}")
        new.execute("UPDATE account SET cash = '100000'")
        new.execute("PRAGMA user_version = 1")
        new.commit()
    shutil.copy(made / "broker.sqlite3", home / "broker.sqlite3")
    return home, quote.ask * 500, {PUT: 5}


def test_an_old_home_is_merged_into_one_account_once(tmp_path: Path, prices: PriceHistory) -> None:
    home, premium, held = old_home(tmp_path, prices)
    legacy = home / "options.sqlite3"
    saved = tmp_path / "legacy-copy.sqlite3"
    shutil.copy(legacy, saved)
    assert merge_legacy_options(legacy, home / "broker.sqlite3")
    stocks, options = account(home, prices)
    assert stocks.account().cash == Decimal(100000) - premium
    assert {p.symbol: p.qty for p in options.option_positions()} == held
    assert [o.client_order_id for o in options.orders()] == ["old"]
    assert not legacy.exists() and (home / "options.sqlite3.merged").exists()
    # A crash between the merge's commit and the rename left the old file: nothing twice
    shutil.copy(saved, legacy)
    assert not merge_legacy_options(legacy, home / "broker.sqlite3")
    assert stocks.account().cash == Decimal(100000) - premium
    assert len(options.orders()) == 1 and not legacy.exists()
    with closing(sqlite3.connect(home / "broker.sqlite3")) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
