"""Plan one book's rebalance: from the engine's target weights to the book's own trades.

A book trades against its own capital (its NAV: its own cash plus its lots at the
day's prices, ``alchemiser.books.cash``) and its own positions (its open FIFO lots),
never the account's totals:

* target value  = weight x capital x deployment_pct
* cash          = capital - market value of the book's positions (may be negative
  when the book's holdings grew past its share; its sells then fund the difference)
* drift         = |value / capital - weight x deployment_pct| per symbol (a symbol
  held but no longer targeted drifts by its whole weight)

The rebalance is skipped (HELD, no trades) when today is not a scheduled rebalance day,
or when a threshold is set and no symbol drifts *more* than it (the backtest's rule).
Otherwise: sells first, then buys.

* A symbol held but no longer targeted is exited: exactly the book's quantity, never
  held for being small (no dust is left behind).
* Other quantities round DOWN to the asset's precision (whole shares when not
  fractionable); a trade that rounds to zero or is smaller than
  ``min(min_trade_notional, min_trade_fraction x capital)`` is held, with the reason.
* Buys never cost more than the book's cash plus its own sell proceeds, less a
  **cost reserve** (``cost_reserve_bps``, 10 by default in Settings): the buys are
  sized so that they still fit when each fills ``cost_reserve_bps`` above its
  reference price and the sells that fund them fill as far below theirs, so a book's
  cash does not go below zero by its own execution costs. A buy aims at its target
  divided by (1 + reserve) (a sell starts above the target itself), so the cash the
  reserve leaves is not bought the next day. When they would not fit,
  every buy is scaled down by the same factor and the plan's ``reason`` says so (and
  whether only the reserve did it).
* A symbol the broker does not trade is held, with the reason (its sells fund nothing).

Arithmetic on quantities and budgets runs with ROUND_DOWN, so inexact divisions can
only make a trade smaller. ``notional`` is qty x price to cents (at least one cent, so a
dust exit still carries a positive notional).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from alchemiser.broker.models import AssetInfo, OrderSide
from alchemiser.cycle.models import BookPlan, BookStatus, BookTrade, HeldTrade
from alchemiser.errors import DataError
from alchemiser.money import CENT, ZERO, round_down, to_cents, to_decimal
from alchemiser.settings import Settings

WEIGHT_SUM_TOLERANCE = Decimal("0.000001")


class PlanningSettings(BaseModel):
    """The limits a book plan applies (defaults as in Settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deployment_pct: Decimal = Field(Decimal("1"), gt=0, le=1)
    min_trade_notional: Decimal = Field(Decimal("5"), ge=0)
    min_trade_fraction: Decimal = Field(Decimal("0.01"), ge=0, le=1)
    cost_reserve_bps: Decimal = Field(Decimal("0"), ge=0, le=500)

    @classmethod
    def from_settings(cls, settings: Settings) -> PlanningSettings:
        """Take the planning limits from the system settings."""
        return cls(
            deployment_pct=settings.deployment_pct,
            min_trade_notional=settings.min_trade_notional,
            min_trade_fraction=settings.min_trade_fraction,
            cost_reserve_bps=settings.cost_reserve_bps,
        )


@dataclass(frozen=True)
class _Book:
    """Validated inputs of one plan."""

    book_id: str
    weights: dict[str, Decimal]  # targeted symbols only (weight > 0)
    positions: dict[str, Decimal]  # held symbols only (qty > 0)
    prices: dict[str, Decimal]  # every held or targeted symbol
    assets: dict[str, AssetInfo]
    capital: Decimal
    deployable: Decimal
    cash: Decimal
    min_trade: Decimal
    deployment_pct: Decimal
    reserve: Decimal  # the cost reserve, a fraction of a trade's value

    def value(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, ZERO) * self.prices[symbol]

    def target(self, symbol: str) -> Decimal:
        return self.weights.get(symbol, ZERO) * self.deployable

    def places(self, symbol: str) -> int:
        asset = self.assets[symbol]
        return asset.qty_places if asset.fractionable else 0


def trade_notional(qty: Decimal, price: Decimal) -> Decimal:
    """Return qty x price to cents, never below one cent for a positive trade."""
    return max(to_cents(qty * price), CENT)


def _weights(target_weights: Mapping[str, float]) -> dict[str, Decimal]:
    bad = {s: w for s, w in target_weights.items() if not (math.isfinite(w) and 0 <= w <= 1)}
    if bad:
        raise ValueError(f"target weights must be finite and in [0, 1], found {bad}")
    weights = {s: to_decimal(w) for s, w in sorted(target_weights.items()) if w > 0}
    total = sum(weights.values(), ZERO)
    if total > 1 + WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"target weights must sum to at most 1, sum to {total}: {weights}")
    return weights


def _positions(positions: Mapping[str, Decimal]) -> dict[str, Decimal]:
    short = {s: q for s, q in positions.items() if q < 0}
    if short:
        raise ValueError(f"book positions must be >= 0 (lots are never short), found {short}")
    return {s: q for s, q in sorted(positions.items()) if q > 0}


def _market_inputs(
    symbols: list[str], prices: Mapping[str, Decimal], assets: Mapping[str, AssetInfo]
) -> tuple[dict[str, Decimal], dict[str, AssetInfo]]:
    missing_prices = [s for s in symbols if s not in prices or not prices[s] > 0]
    missing_assets = [s for s in symbols if s not in assets]
    problems = []
    if missing_prices:
        found = {s: prices.get(s) for s in missing_prices}
        problems.append(f"a positive reference price for {missing_prices}, found {found}")
    if missing_assets:
        problems.append(f"asset details for {missing_assets}, found none")
    if problems:
        raise DataError("every held or targeted symbol needs " + "; and ".join(problems))
    return {s: prices[s] for s in symbols}, {s: assets[s] for s in symbols}


def _book(
    book_id: str,
    target_weights: Mapping[str, float],
    capital: Decimal,
    positions: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    assets: Mapping[str, AssetInfo],
    settings: PlanningSettings,
) -> _Book:
    if not capital > 0:
        raise ValueError(f"book capital must be > 0, was {capital} for book '{book_id}'")
    weights = _weights(target_weights)
    held = _positions(positions)
    symbols = sorted(set(weights) | set(held))
    used_prices, used_assets = _market_inputs(symbols, prices, assets)
    market_value = sum((q * used_prices[s] for s, q in held.items()), ZERO)
    return _Book(
        book_id=book_id,
        weights=weights,
        positions=held,
        prices=used_prices,
        assets=used_assets,
        capital=capital,
        deployable=capital * settings.deployment_pct,
        cash=capital - market_value,
        min_trade=min(settings.min_trade_notional, settings.min_trade_fraction * capital),
        deployment_pct=settings.deployment_pct,
        reserve=settings.cost_reserve_bps / 10_000,
    )


def _corridor_hold(book: _Book, threshold: float) -> str | None:
    """Return why the book stays put (no drift past ``threshold``), or None to rebalance."""
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"rebalance threshold must be a finite weight >= 0, was {threshold}")
    limit = to_decimal(threshold)
    drifts = {
        s: abs(book.value(s) / book.capital - book.weights.get(s, ZERO) * book.deployment_pct)
        for s in sorted(set(book.weights) | set(book.positions))
    }
    if not drifts:
        return f"nothing held or targeted (threshold {limit})"
    symbol = max(drifts, key=lambda s: drifts[s])
    if drifts[symbol] > limit:
        return None
    return (
        f"inside the rebalance corridor: largest drift {drifts[symbol]:.6f} ({symbol}) "
        f"<= threshold {limit}"
    )


def _check(book: _Book, symbol: str, side: OrderSide, qty: Decimal, wanted: Decimal) -> str | None:
    """Return why a non-exit trade is held (untradable, rounds to zero, too small), or None."""
    if not book.assets[symbol].tradable:
        return f"{symbol} is not tradable at the broker"
    if qty == 0:
        places = book.places(symbol)
        unit = "whole shares" if places == 0 else f"{places} decimal places"
        return f"{side.value} of ${to_cents(wanted)} rounds to 0 {unit} at ${book.prices[symbol]}"
    value = qty * book.prices[symbol]
    if value < book.min_trade:
        minimum = to_cents(book.min_trade)
        return f"{side.value} of ${to_cents(value)} is below the minimum trade ${minimum}"
    return None


def _trade(book: _Book, symbol: str, side: OrderSide, qty: Decimal, exit_: bool) -> BookTrade:
    price = book.prices[symbol]
    return BookTrade(
        book_id=book.book_id,
        symbol=symbol,
        side=side,
        qty=qty,
        price=price,
        notional=trade_notional(qty, price),
        exit=exit_,
    )


def _sells(book: _Book) -> tuple[list[BookTrade], list[HeldTrade]]:
    trades: list[BookTrade] = []
    held: list[HeldTrade] = []
    for symbol, qty_held in book.positions.items():
        excess = book.value(symbol) - book.target(symbol)
        if excess <= 0:
            continue
        exit_ = symbol not in book.weights
        if exit_:
            qty = qty_held
            reason = (
                None if book.assets[symbol].tradable else f"{symbol} is not tradable at the broker"
            )
        else:
            qty = min(round_down(excess / book.prices[symbol], book.places(symbol)), qty_held)
            reason = _check(book, symbol, OrderSide.SELL, qty, excess)
        if reason is None:
            trades.append(_trade(book, symbol, OrderSide.SELL, qty, exit_))
        else:
            held.append(HeldTrade(symbol=symbol, notional=to_cents(excess), reason=reason))
    return trades, held


def _budget(book: _Book, proceeds: Decimal) -> tuple[Decimal, Decimal, str]:
    """Return what the buys may cost at their reference prices, the cash and proceeds
    without the reserve, and how the budget was reckoned.

    With reserve r, buys filled r above their prices and sells r below theirs still fit:
    budget x (1 + r) = cash + proceeds x (1 - r).
    """
    available = book.cash + proceeds
    said = f"cash ${to_cents(book.cash)} + sell proceeds ${to_cents(proceeds)}"
    if book.reserve == 0:
        return available, available, f"{said} = ${to_cents(available)}"
    budget = (book.cash + proceeds * (1 - book.reserve)) / (1 + book.reserve)
    bps = f"{book.reserve * 10_000:f}".rstrip("0").rstrip(".")
    reckoned = f"{said}, less a {bps} bps reserve for execution costs = ${to_cents(budget)}"
    return budget, available, reckoned


def _buys(book: _Book, proceeds: Decimal) -> tuple[list[BookTrade], list[HeldTrade], str]:
    # A buy aims the reserve below the target (a sell only starts above it): the cash the
    # reserve leaves is not bought the next day, so a book on target stays put.
    wanted = {s: book.target(s) / (1 + book.reserve) - book.value(s) for s in book.weights}
    wanted = {s: v for s, v in wanted.items() if v > 0}
    untradable = [s for s in wanted if not book.assets[s].tradable]
    held = [
        HeldTrade(
            symbol=s, notional=to_cents(wanted.pop(s)), reason=f"{s} is not tradable at the broker"
        )
        for s in untradable
    ]
    budget, available, reckoned = _budget(book, proceeds)
    total = sum(wanted.values(), ZERO)
    scale, reason = Decimal(1), ""
    if total > budget and total > 0:
        scale = max(budget, ZERO) / total
    # Targets from float weights can exceed the budget by a fraction of a cent, and a
    # fully invested book's always exceed it by the cost reserve: that scaling applies
    # (never spend more than the cash), but it is no news, so it is said only when the
    # cash and proceeds themselves fall short, in cents.
    if to_cents(total) > to_cents(available):
        reason = (
            f"buys scaled to {scale:.2%} of their targets: {reckoned} < ${to_cents(total)} wanted"
        )
    none_left = f"no cash left to buy: {reckoned}"
    trades: list[BookTrade] = []
    for symbol, value in wanted.items():
        qty = round_down(value * scale / book.prices[symbol], book.places(symbol))
        why = _check(book, symbol, OrderSide.BUY, qty, value * scale) if scale > 0 else none_left
        if why is None:
            trades.append(_trade(book, symbol, OrderSide.BUY, qty, exit_=False))
        else:
            held.append(HeldTrade(symbol=symbol, notional=to_cents(value), reason=why))
    return trades, held, reason


def _plan(
    run_id: str,
    strategy: str,
    book: _Book,
    status: BookStatus,
    reason: str,
    trades: list[BookTrade] | None = None,
    held: list[HeldTrade] | None = None,
) -> BookPlan:
    return BookPlan(
        run_id=run_id,
        book_id=book.book_id,
        strategy=strategy,
        status=status,
        reason=reason,
        target_weights=book.weights,
        capital=book.capital,
        cash=book.cash,
        positions=book.positions,
        prices=book.prices,
        trades=trades or [],
        held=held or [],
    )


def plan_book_rebalance(
    *,
    run_id: str,
    book_id: str,
    strategy: str,
    target_weights: Mapping[str, float],
    capital: Decimal,
    positions: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    assets: Mapping[str, AssetInfo],
    threshold: float | None,
    scheduled_day: bool,
    settings: PlanningSettings | Settings | None = None,
) -> BookPlan:
    """Plan the trades that bring one book to its target weights (or say why it holds).

    ``scheduled_day``: today is a rebalance day of the symphony's frequency (the caller
    decides; a book's first day should count as one). ``threshold``: the symphony's
    corridor, or None. ``settings``: the planning limits (default: PlanningSettings()).
    """
    limits = (
        PlanningSettings.from_settings(settings) if isinstance(settings, Settings) else settings
    )
    book = _book(
        book_id, target_weights, capital, positions, prices, assets, limits or PlanningSettings()
    )
    if not scheduled_day:
        return _plan(run_id, strategy, book, BookStatus.HELD, "not a scheduled rebalance day")
    hold = None if threshold is None else _corridor_hold(book, threshold)
    if hold is not None:
        return _plan(run_id, strategy, book, BookStatus.HELD, hold)
    with decimal.localcontext(rounding=decimal.ROUND_DOWN):
        sells, held_sells = _sells(book)
        proceeds = sum((t.qty * t.price for t in sells), ZERO)
        buys, held_buys, reason = _buys(book, proceeds)
    return _plan(
        run_id, strategy, book, BookStatus.PLANNED, reason, sells + buys, held_sells + held_buys
    )
