"""What held option contracts are worth: the one rule the account and the hedge book share.

A contract is marked at its quote's mid, ``(bid + ask) / 2`` per share, times its
multiplier of 100 shares, rounded to the cent per contract symbol (as a position's
market value). The simulated account's equity (``SimulatedBroker.account``) and the
ledger's hedge book NAV (``alchemiser.cycle.hedge_book``) both value options so, which
is what lets Reconcile check ``broker equity = books + hedge + pool`` to the cent.
A contract past its expiry that the broker has not settled yet is worth what it will
settle for: its intrinsic value at its expiry day's close.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from alchemiser.broker.options_models import CONTRACT_MULTIPLIER
from alchemiser.money import ZERO, to_cents


def quote_mid(bid: Decimal, ask: Decimal) -> Decimal:
    """Return a quote's mid per share (exact: half a cent at most)."""
    return (bid + ask) / 2


def contract_value(qty: int, price: Decimal) -> Decimal:
    """Return ``qty`` contracts (signed) at ``price`` per share, in cents."""
    return to_cents(Decimal(qty) * CONTRACT_MULTIPLIER * price)


def options_value(contracts: Mapping[str, int], prices: Mapping[str, Decimal]) -> Decimal:
    """Return the value of every held contract at its price per share, in cents."""
    return sum((contract_value(q, prices[s]) for s, q in contracts.items() if q), ZERO)
