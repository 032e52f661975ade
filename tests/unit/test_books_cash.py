"""Each book's cash: exact cents per fill, and the account adding up (property-based).

The property test plays a few days of an account through the real planning, netting,
attribution and cash allocation: random books, weights, prices, deposits and pool
transfers; orders fill up to 8 bps worse than the reference price (a buy above, a sell
below: the execution costs) in one to three broker orders (each rounded to the cent as
the simulated broker rounds it), buys partly. Every day the broker's cash equals the
pool plus the books' cash exactly, the broker's equity equals the pool plus the books'
NAVs (each symbol marked once, as the broker does), and no book's cash is below zero by
more than a cent per order it took part in: planning's 10 bps cost reserve covers the
costs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alchemiser.books.attribution import attribute_crosses, attribute_fills
from alchemiser.books.cash import largest_remainder, with_cash
from alchemiser.books.netting import net_book_trades
from alchemiser.books.planning import PlanningSettings, plan_book_rebalance
from alchemiser.broker.models import AssetInfo, OrderSide
from alchemiser.cycle.models import BookStatus
from alchemiser.ledger.models import FillRecord, FillSource
from alchemiser.money import ZERO, round_down, to_cents

SYMBOLS = ("AAA", "BBB", "CCC")
ASSETS = {s: AssetInfo(symbol=s, tradable=True, fractionable=True) for s in SYMBOLS}


def test_largest_remainder_gives_the_leftover_cents_to_the_largest_fractions() -> None:
    # 10.00 over 1:1:1 is 3.33 each and one cent left, to the first key of the tie
    assert largest_remainder(
        Decimal("10.00"), {"b": Decimal(1), "a": Decimal(1), "c": Decimal(1)}
    ) == {
        "a": Decimal("3.34"),
        "b": Decimal("3.33"),
        "c": Decimal("3.33"),
    }
    # 0.05 over 0.7 : 0.3 is 0.035 / 0.015: floors 0.03 / 0.01, the cent to the larger remainder
    assert largest_remainder(Decimal("0.05"), {"x": Decimal("0.7"), "y": Decimal("0.3")}) == {
        "x": Decimal("0.04"),
        "y": Decimal("0.01"),
    }


def test_largest_remainder_refuses_what_it_cannot_split() -> None:
    with pytest.raises(ValueError, match="whole cents"):
        largest_remainder(Decimal("1.001"), {"a": Decimal(1)})
    with pytest.raises(ValueError, match="positive sum"):
        largest_remainder(Decimal("1.00"), {"a": ZERO})


def test_market_fills_share_the_brokers_cents_exactly_and_crosses_net_to_zero() -> None:
    def market(fill_id: str, qty: str) -> FillRecord:
        return FillRecord(
            fill_id=fill_id,
            run_id="r",
            trading_date=date(2024, 3, 4),
            book_id=fill_id,
            symbol="AAA",
            side=OrderSide.BUY,
            qty=Decimal(qty),
            price=Decimal("33.3333"),
            source=FillSource.MARKET,
        )

    a, b = market("a", "1"), market("b", "2")
    cross = [
        a.model_copy(
            update={
                "fill_id": "x:s",
                "book_id": "c",
                "side": OrderSide.SELL,
                "source": FillSource.CROSS,
            }
        ),
        a.model_copy(update={"fill_id": "x:b", "book_id": "a", "source": FillSource.CROSS}),
    ]
    priced = {f.fill_id: f.cash for f in with_cash([a, b, *cross], Decimal("100.00"))}
    assert priced["a"] + priced["b"] == Decimal("-100.00")  # the broker's cents, to the cent
    assert priced["a"] == Decimal("-33.33") and priced["b"] == Decimal("-66.67")
    assert priced["x:s"] == -priced["x:b"] == Decimal("33.33")


books_st = st.dictionaries(
    st.sampled_from(["alpha", "beta", "gamma", "delta"]),
    st.dictionaries(st.sampled_from(SYMBOLS), st.integers(1, 10), min_size=1),
    min_size=1,
)
price_st = st.decimals(Decimal("0.5"), Decimal("900"), places=4)
day_st = st.fixed_dictionaries(
    {
        "prices": st.fixed_dictionaries(dict.fromkeys(SYMBOLS, price_st)),
        "deposit": st.decimals(ZERO, Decimal("50000"), places=2),
        "fund": st.dictionaries(
            st.sampled_from(["alpha", "beta", "gamma", "delta"]),
            st.decimals(ZERO, Decimal("0.5"), places=2),
        ),
        "legs": st.integers(1, 3),
        "buy_fill": st.one_of(st.just(Decimal(1)), st.decimals(ZERO, Decimal(1), places=3)),
        "cost_bps": st.decimals(ZERO, Decimal(8), places=2),
    }
)
RESERVE = PlanningSettings(cost_reserve_bps=Decimal(10))


def worse(reference: Decimal, side: OrderSide, cost_bps: Decimal) -> Decimal:
    """Return a fill ``cost_bps`` worse than ``reference``: a buy above it, a sell below."""
    cost = cost_bps / 10_000
    return (reference * (1 + cost if side is OrderSide.BUY else 1 - cost)).quantize(
        Decimal("0.0001")
    )


class Account:
    """The broker's side (cash, positions) and the ledger's side (pool, books), in memory."""

    def __init__(self, opening: Decimal) -> None:
        self.broker_cash = opening
        self.broker_qty: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.pool = opening
        self.cash: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.qty: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))

    def book(self, fills: list[FillRecord]) -> None:
        for f in fills:
            assert f.cash is not None
            self.cash[f.book_id] += f.cash
            self.qty[f.book_id][f.symbol] += f.qty if f.side is OrderSide.BUY else -f.qty

    def nav(self, book: str, prices: dict[str, Decimal]) -> Decimal:
        return self.cash[book] + sum((q * prices[s] for s, q in self.qty[book].items()), ZERO)


def fill_order(account: Account, order, filled: Decimal, legs: int, price: Decimal) -> Decimal:  # type: ignore[no-untyped-def]
    """Fill ``filled`` of the order in ``legs`` broker orders; return the broker's cents."""
    parts = [round_down(filled / legs, 9)] * (legs - 1)
    parts.append(filled - sum(parts, ZERO))
    notional = sum((to_cents(q * price) for q in parts), ZERO)
    signed = filled if order.side is OrderSide.BUY else -filled
    account.broker_qty[order.symbol] += signed
    account.broker_cash += -notional if order.side is OrderSide.BUY else notional
    return notional


@settings(max_examples=60, deadline=None)
@given(books=books_st, days=st.lists(day_st, min_size=1, max_size=3))
def test_the_books_and_the_pool_add_up_to_the_broker_every_day(books, days) -> None:  # type: ignore[no-untyped-def]
    account = Account(Decimal("100000.00"))
    for n, day in enumerate(days):
        prices: dict[str, Decimal] = day["prices"]
        account.broker_cash += day["deposit"]
        account.pool += day["deposit"]
        for book, fraction in sorted(day["fund"].items()):
            amount = to_cents(account.pool * fraction)
            account.pool -= amount
            account.cash[book] += amount
        run_id = f"r{n}"
        plans = []
        for book, weights in sorted(books.items()):
            total = sum(weights.values())
            held = {s: q for s, q in account.qty[book].items() if q > 0}
            capital = account.nav(book, prices)
            if not capital > 0:
                continue
            plans.append(
                plan_book_rebalance(
                    run_id=run_id,
                    book_id=book,
                    strategy="s.clj",
                    target_weights={s: w / total for s, w in weights.items()},
                    capital=capital,
                    positions=held,
                    prices=prices,
                    assets=ASSETS,
                    threshold=None,
                    scheduled_day=True,
                    settings=RESERVE,
                )
            )
        plan = net_book_trades(run_id, date(2024, 3, 4 + n), plans, ASSETS, prices)
        orders_of: dict[str, int] = defaultdict(int)
        fills: list[FillRecord] = []
        for order in [*plan.sell_orders, *plan.buy_orders]:
            price = worse(order.ref_price, order.side, day["cost_bps"])
            filled = (
                order.qty
                if order.side is OrderSide.SELL
                else round_down(order.qty * day["buy_fill"], 9)
            )
            notional = fill_order(account, order, filled, day["legs"], price)
            order_fills = attribute_fills(order, filled, price, plan.crosses)
            fills += with_cash(order_fills, notional)
            for a in order.allocations:
                orders_of[a.book_id] += 1
        traded = {o.symbol for o in [*plan.sell_orders, *plan.buy_orders]}
        only_crossed = [c for c in plan.crosses if c.symbol not in traded]
        fills += with_cash(attribute_crosses(run_id, plan.trading_date, only_crossed, prices), None)
        account.book(fills)

        # the cash adds up exactly, and so do the positions
        assert account.broker_cash == account.pool + sum(account.cash.values(), ZERO)
        for symbol in SYMBOLS:
            assert account.broker_qty[symbol] == sum(
                (q[symbol] for q in account.qty.values()), ZERO
            )
        # the equity, each symbol marked once as the broker marks it
        equity = account.broker_cash + sum(
            (to_cents(q * prices[s]) for s, q in account.broker_qty.items()), ZERO
        )
        navs = sum((account.nav(b, prices) for b in list(account.cash)), ZERO)
        assert abs(equity - (account.pool + navs)) <= Decimal("0.005") * len(SYMBOLS)
        # no book spends cash it does not have, beyond a cent per order it was in
        for book, cash in account.cash.items():
            assert cash >= -Decimal("0.01") * max(1, orders_of[book]), (book, cash)
        assert all(p.status is not BookStatus.FAILED for p in plans)
