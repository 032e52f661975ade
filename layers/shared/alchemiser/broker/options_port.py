"""The options port: what the hedge needs from any options broker and its market data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from alchemiser.broker.options_models import (
    OptionContract,
    OptionOrder,
    OptionOrderRequest,
    OptionPosition,
    OptionRight,
    OptionSnapshot,
)


class OptionsBroker(Protocol):
    """Listed contracts, their quotes with IV and greeks, option orders and positions.

    Implementations: Alpaca (``AlpacaOptionsBroker``) and the simulated market
    (``SimulatedOptionsBroker``). Every call has a timeout; ``submit_option_order`` is
    never retried blindly: callers look the client order id up first.
    """

    def option_contracts(
        self,
        underlying: str,
        first_expiry: date,
        last_expiry: date,
        right: OptionRight,
        strikes: tuple[Decimal, Decimal] | None = None,
    ) -> list[OptionContract]:
        """Return every active contract in the expiry (and strike) range, all pages read."""
        ...

    def option_chain(
        self,
        underlying: str,
        first_expiry: date,
        last_expiry: date,
        right: OptionRight,
        strikes: tuple[Decimal, Decimal] | None = None,
    ) -> dict[str, OptionSnapshot]:
        """Return the latest quote, IV and greeks of each contract in the range, by symbol."""
        ...

    def option_snapshots(self, symbols: Sequence[str]) -> dict[str, OptionSnapshot]:
        """Return fresh snapshots of ``symbols`` (a symbol without data is left out)."""
        ...

    def option_positions(self) -> list[OptionPosition]: ...

    def submit_option_order(self, request: OptionOrderRequest) -> OptionOrder: ...

    def option_order_by_client_id(self, client_order_id: str) -> OptionOrder | None: ...

    def get_option_order(self, order_id: str) -> OptionOrder: ...

    def cancel_option_order(self, order_id: str) -> None: ...
