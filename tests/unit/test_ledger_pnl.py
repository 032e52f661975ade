"""Book and account P&L: realised from the ledger, unrealised from the open lots."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alchemiser.broker.models import OrderSide
from alchemiser.cycle.models import Pnl
from alchemiser.errors import DataError
from alchemiser.ledger.lots import apply_fills
from alchemiser.ledger.models import FillRecord, FillSource
from alchemiser.ledger.pnl import account_pnl, book_pnl

DAY = date(2024, 3, 4)
SYMBOLS = ("GLD", "SPY", "TLT")


def fill(
    fill_id: str, book: str, symbol: str, side: OrderSide, qty: Decimal, price: Decimal, day: date
) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        run_id=f"cycle-{day}-dev",
        trading_date=day,
        book_id=book,
        symbol=symbol,
        side=side,
        qty=qty,
        price=price,
        source=FillSource.MARKET,
    )


def test_book_pnl_marks_open_lots_at_the_prices_and_adds_realised() -> None:
    # Given 10 GLD bought at 100 and 4 SPY at 500, of which 2 SPY were sold at 510
    fills = [
        fill("a", "gold", "GLD", OrderSide.BUY, Decimal(10), Decimal(100), DAY),
        fill("b", "gold", "SPY", OrderSide.BUY, Decimal(4), Decimal(500), DAY),
        fill("c", "gold", "SPY", OrderSide.SELL, Decimal(2), Decimal(510), DAY),
    ]
    lots, realised = apply_fills([], fills)

    # When marked at GLD 103.5 and SPY 495
    pnl = book_pnl(lots, realised, {"GLD": Decimal("103.5"), "SPY": Decimal(495)})

    # Then realised = 2 * 10 = 20; unrealised = 10 * 3.5 + 2 * -5 = 25; total 45
    assert pnl == Pnl(realised=Decimal(20), unrealised=Decimal(25), total=Decimal(45))


def test_book_pnl_without_a_price_for_a_held_symbol_fails_closed() -> None:
    # Given a book holding GLD
    lots, realised = apply_fills(
        [], [fill("a", "gold", "GLD", OrderSide.BUY, Decimal(1), Decimal(100), DAY)]
    )

    # When no GLD price is given
    # Then the P&L is refused, naming the symbol and the book
    with pytest.raises(DataError, match=r"price for GLD held by book 'gold'"):
        book_pnl(lots, realised, {"SPY": Decimal(500)})


def test_account_pnl_sums_every_component() -> None:
    # Given two books' P&L
    books = [
        Pnl(realised=Decimal("1.5"), unrealised=Decimal(-3), total=Decimal("-1.5")),
        Pnl(realised=Decimal(10), unrealised=Decimal("0.25"), total=Decimal("10.25")),
    ]

    # Then the account's is their plain sum; no books means zero
    assert account_pnl(books) == Pnl(
        realised=Decimal("11.5"), unrealised=Decimal("-2.75"), total=Decimal("8.75")
    )
    assert account_pnl([]) == Pnl(realised=Decimal(0), unrealised=Decimal(0), total=Decimal(0))


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(2000), places=2)


@st.composite
def multi_book_fills(draw: st.DrawFn) -> list[FillRecord]:
    """Interleaved fills of several books in several symbols; no book oversells."""
    held: dict[tuple[str, str], Decimal] = {}
    fills: list[FillRecord] = []
    for index in range(draw(st.integers(min_value=1, max_value=25))):
        book = draw(st.sampled_from(("gold", "tech", "bonds")))
        symbol = draw(st.sampled_from(SYMBOLS))
        day = DAY + timedelta(days=index)
        have = held.get((book, symbol), Decimal(0))
        if have > 0 and draw(st.booleans()):
            side = OrderSide.SELL
            qty = draw(st.decimals(min_value=Decimal("0.001"), max_value=have, places=3))
        else:
            side = OrderSide.BUY
            qty = draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(500), places=3))
        held[(book, symbol)] = have + (qty if side is OrderSide.BUY else -qty)
        fills.append(fill(f"f{index:03d}", book, symbol, side, qty, draw(prices), day))
    return fills


@given(multi_book_fills(), st.fixed_dictionaries(dict.fromkeys(SYMBOLS, prices)))
def test_the_books_pnl_adds_up_to_the_pnl_of_all_fills_together(
    fills: list[FillRecord], marks: dict[str, Decimal]
) -> None:
    # Given every book's lots and realised P&L, each book applied on its own
    book_ids = sorted({f.book_id for f in fills})
    per_book = []
    for book in book_ids:
        lots, realised = apply_fills([], [f for f in fills if f.book_id == book])
        per_book.append(book_pnl(lots, realised, marks))

    # When the account's P&L is the sum of the books'
    account = account_pnl(per_book)

    # Then it equals the P&L of all fills together, computed from cash flows alone:
    # proceeds - purchases + what is still held, marked at the same prices
    proceeds = sum((f.qty * f.price for f in fills if f.side is OrderSide.SELL), Decimal(0))
    purchases = sum((f.qty * f.price for f in fills if f.side is OrderSide.BUY), Decimal(0))
    still_held = sum(
        (f.qty if f.side is OrderSide.BUY else -f.qty) * marks[f.symbol] for f in fills
    )
    assert account.total == proceeds - purchases + still_held
    assert account.realised == sum((p.realised for p in per_book), Decimal(0))
    assert account.unrealised == sum((p.unrealised for p in per_book), Decimal(0))
    assert account.total == sum((p.total for p in per_book), Decimal(0))
