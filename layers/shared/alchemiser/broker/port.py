"""The broker port: what the cycle needs from any broker."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from alchemiser.broker.models import (
    Account,
    AssetInfo,
    CashActivity,
    MarketClock,
    Order,
    OrderRequest,
    Position,
    Quote,
    TradingSession,
)


class Broker(Protocol):
    """Account, market clock/calendar, quotes and orders.

    Implementations: Alpaca (paper by default) and the simulated broker. Every call
    has a timeout; ``submit_order`` is never retried blindly by an adapter.
    """

    def account(self) -> Account: ...

    def positions(self) -> list[Position]: ...

    def clock(self) -> MarketClock: ...

    def calendar(self, start: date, end: date) -> list[TradingSession]: ...

    def latest_quote(self, symbol: str) -> Quote: ...

    def asset(self, symbol: str) -> AssetInfo: ...

    def submit_order(self, request: OrderRequest) -> Order: ...

    def order_by_client_id(self, client_order_id: str) -> Order | None: ...

    def get_order(self, order_id: str) -> Order: ...

    def cancel_order(self, order_id: str) -> None: ...

    def cash_activities(self, since: date | None = None) -> list[CashActivity]:
        """Return the account's non-trade cash moves (deposits, withdrawals, fees, ...).

        ``since``: only those dated on or after it (None: every one the broker keeps; a
        real broker may bound that). Each activity's id is its idempotency key.
        """
        ...
