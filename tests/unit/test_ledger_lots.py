"""FIFO lots: buys open lots, sells consume the oldest first and realise P&L."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alchemiser.broker.models import OrderSide
from alchemiser.ledger.lots import (
    FillConflictError,
    OversellError,
    apply_fill,
    apply_fills,
    cost_basis,
    ensure_same_fill,
    positions_of,
)
from alchemiser.ledger.models import FillRecord, FillSource, Lot

DAY = date(2024, 3, 4)


def fill(
    fill_id: str,
    side: OrderSide,
    qty: str | Decimal,
    price: str | Decimal,
    *,
    book: str = "gold",
    symbol: str = "GLD",
    day: date = DAY,
) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        run_id=f"cycle-{day}-dev",
        trading_date=day,
        book_id=book,
        symbol=symbol,
        side=side,
        qty=Decimal(qty),
        price=Decimal(price),
        source=FillSource.MARKET,
    )


def buy(
    fill_id: str, qty: str, price: str, *, book: str = "gold", symbol: str = "GLD", day: date = DAY
) -> FillRecord:
    return fill(fill_id, OrderSide.BUY, qty, price, book=book, symbol=symbol, day=day)


def sell(
    fill_id: str, qty: str, price: str, *, book: str = "gold", symbol: str = "GLD", day: date = DAY
) -> FillRecord:
    return fill(fill_id, OrderSide.SELL, qty, price, book=book, symbol=symbol, day=day)


# -- known answers ---------------------------------------------------------------------


def test_a_buy_opens_a_lot_at_the_fill_price_and_realises_nothing() -> None:
    # Given an empty book
    # When it buys 10 GLD at 180.25
    lots, realised = apply_fill([], buy("f1", "10", "180.25"))

    # Then one lot, named after the fill, holds the shares at the fill price
    assert lots == [
        Lot(
            book_id="gold",
            symbol="GLD",
            lot_id="f1",
            opened_on=DAY,
            qty=Decimal(10),
            cost_price=Decimal("180.25"),
        )
    ]
    assert realised == 0


def test_a_sell_consumes_the_oldest_lot_first_and_keeps_the_remainder() -> None:
    # Given lots bought at 100 (day 1) then 110 (day 2)
    lots, _ = apply_fills(
        [],
        [buy("f1", "10", "100", day=DAY), buy("f2", "10", "110", day=DAY + timedelta(days=1))],
    )

    # When 15 shares are sold at 120 on day 3
    after, realised = apply_fill(lots, sell("f3", "15", "120", day=DAY + timedelta(days=2)))

    # Then the day-1 lot is gone, 5 of the day-2 lot remain, and the P&L is
    # (120 - 100) * 10 + (120 - 110) * 5 = 250
    assert [(lot.lot_id, lot.qty, lot.cost_price) for lot in after] == [
        ("f2", Decimal(5), Decimal(110))
    ]
    assert realised == Decimal(250)


def test_lots_opened_the_same_day_are_consumed_in_lot_id_order() -> None:
    # Given two lots opened the same day, recorded in reverse id order
    lots, _ = apply_fills([], [buy("b", "1", "50"), buy("a", "1", "40")])

    # When one share is sold
    after, realised = apply_fill(lots, sell("s", "1", "45"))

    # Then lot "a" (cost 40) is consumed, whatever the recording order
    assert [lot.lot_id for lot in after] == ["b"]
    assert realised == Decimal(5)


def test_a_sell_never_touches_another_books_or_symbols_lots() -> None:
    # Given gold holds GLD and SLV, and another book holds GLD
    lots, _ = apply_fills(
        [],
        [
            buy("g1", "5", "100"),
            buy("g2", "7", "20", symbol="SLV"),
            buy("o1", "9", "90", book="other"),
        ],
    )

    # When gold sells all its GLD
    after, realised = apply_fill(lots, sell("g3", "5", "101"))

    # Then only gold's GLD lot is consumed
    assert {(lot.book_id, lot.symbol, lot.qty) for lot in after} == {
        ("gold", "SLV", Decimal(7)),
        ("other", "GLD", Decimal(9)),
    }
    assert realised == Decimal(5)


def test_selling_more_than_the_book_holds_names_book_symbol_held_and_asked() -> None:
    # Given gold holds 5 GLD and another book holds 100 GLD
    lots, _ = apply_fills([], [buy("g1", "5", "100"), buy("o1", "100", "100", book="other")])

    # When gold sells 6 GLD
    with pytest.raises(OversellError) as raised:
        apply_fill(lots, sell("g2", "6", "100"))

    # Then the error names the book, the symbol, what it holds and what was asked
    error = raised.value
    assert (error.book_id, error.symbol, error.held, error.asked) == (
        "gold",
        "GLD",
        Decimal(5),
        Decimal(6),
    )
    assert "'gold'" in str(error) and "GLD" in str(error) and "holds 5" in str(error)


def test_a_sell_cannot_consume_a_lot_opened_after_its_trading_day() -> None:
    # Given a lot opened on day 2
    lots, _ = apply_fill([], buy("f1", "10", "100", day=DAY + timedelta(days=1)))

    # When a sell dated day 1 arrives
    # Then it is refused: the book held nothing that day
    with pytest.raises(OversellError, match="holds 0"):
        apply_fill(lots, sell("f2", "1", "100", day=DAY))


def test_a_buy_whose_lot_id_is_already_open_is_refused() -> None:
    # Given a lot opened by fill f1
    lots, _ = apply_fill([], buy("f1", "1", "100"))

    # When another buy reuses the id f1
    # Then it is refused rather than creating two lots with one id
    with pytest.raises(FillConflictError, match="f1"):
        apply_fill(lots, buy("f1", "2", "101"))


def test_a_refilled_id_must_be_the_same_fill() -> None:
    # Given a recorded fill
    recorded = buy("f1", "1", "100")

    # When the same id arrives with the same content, it is accepted; with another, refused
    ensure_same_fill(recorded, buy("f1", "1", "100.00"))
    with pytest.raises(FillConflictError, match="expected the same fill"):
        ensure_same_fill(recorded, buy("f1", "2", "100"))


def test_positions_and_cost_basis_sum_the_open_lots() -> None:
    # Given two GLD lots and one SLV lot
    lots, _ = apply_fills(
        [], [buy("a", "2", "100.5"), buy("b", "3", "99"), buy("c", "4", "21.25", symbol="SLV")]
    )

    # Then positions sum per symbol and the cost basis sums qty * cost
    assert positions_of(lots) == {"GLD": Decimal(5), "SLV": Decimal(4)}
    assert cost_basis(lots) == Decimal("2") * Decimal("100.5") + 3 * Decimal(99) + 4 * Decimal(
        "21.25"
    )


# -- properties ------------------------------------------------------------------------

quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=4)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2)


@st.composite
def trading_histories(draw: st.DrawFn) -> list[FillRecord]:
    """Buys and sells of one book in one symbol, one per day, never selling more than held."""
    fills: list[FillRecord] = []
    held = Decimal(0)
    for index in range(draw(st.integers(min_value=1, max_value=12))):
        day = DAY + timedelta(days=index)
        if held > 0 and draw(st.booleans()):
            qty = draw(st.decimals(min_value=Decimal("0.0001"), max_value=held, places=4))
            fills.append(sell(f"f{index:02d}", str(qty), str(draw(prices)), day=day))
            held -= qty
        else:
            qty = draw(quantities)
            fills.append(buy(f"f{index:02d}", str(qty), str(draw(prices)), day=day))
            held += qty
    return fills


@given(trading_histories())
def test_quantity_is_conserved_buys_minus_sells_stay_open(fills: list[FillRecord]) -> None:
    # Given any valid history / When it is applied
    lots, _ = apply_fills([], fills)

    # Then the open quantity is exactly what was bought minus what was sold
    bought = sum((f.qty for f in fills if f.side is OrderSide.BUY), Decimal(0))
    sold = sum((f.qty for f in fills if f.side is OrderSide.SELL), Decimal(0))
    assert sum((lot.qty for lot in lots), Decimal(0)) == bought - sold
    assert all(lot.qty > 0 for lot in lots)


@given(trading_histories(), prices)
def test_a_round_trip_realises_proceeds_minus_cost(
    fills: list[FillRecord], exit_price: Decimal
) -> None:
    # Given any valid history, closed out by selling everything still held
    lots, _ = apply_fills([], fills)
    held = sum((lot.qty for lot in lots), Decimal(0))
    if held > 0:
        fills = [*fills, sell("zz-exit", str(held), str(exit_price), day=DAY + timedelta(days=30))]

    # When the whole round trip is applied
    final, realised = apply_fills([], fills)

    # Then nothing is open and the realised P&L is the proceeds minus the cost
    proceeds = sum((f.qty * f.price for f in fills if f.side is OrderSide.SELL), Decimal(0))
    cost = sum((f.qty * f.price for f in fills if f.side is OrderSide.BUY), Decimal(0))
    assert final == []
    assert realised == proceeds - cost


@given(trading_histories(), st.data())
def test_a_sell_leaves_the_newest_lots_and_trims_only_the_oldest_survivor(
    fills: list[FillRecord], data: st.DataObject
) -> None:
    # Given the open lots of any history
    lots, _ = apply_fills([], [f for f in fills if f.side is OrderSide.BUY])
    held = sum((lot.qty for lot in lots), Decimal(0))
    qty = data.draw(st.decimals(min_value=Decimal("0.0001"), max_value=held, places=4))

    # When some of them are sold after the last buy
    after, _ = apply_fill(lots, sell("zz", str(qty), "1", day=DAY + timedelta(days=30)))

    # Then the survivors are the newest lots: a suffix of the FIFO list, where only the
    # first survivor may have lost shares
    suffix = lots[len(lots) - len(after) :]
    assert [lot.lot_id for lot in after] == [lot.lot_id for lot in suffix]
    if after:
        assert after[0].qty <= suffix[0].qty
        assert after[1:] == suffix[1:]
