"""``OptionsBroker`` on Alpaca: contracts, chain snapshots, option orders and positions.

Built on ``AlpacaBroker`` (the same clients, timeouts and retry rules: reads retried a
bounded number of times on transient failures, an order POST or a cancel attempted
once), plus alpaca-py's ``OptionHistoricalDataClient`` for the market data:

* contracts: ``TradingClient.get_option_contracts(GetOptionContractsRequest(...))``,
  one page per call, followed through ``next_page_token`` up to ``max_pages``;
* quotes, IV and greeks: ``OptionHistoricalDataClient.get_option_chain(
  OptionChainRequest(...))`` (the SDK follows the pages) and ``get_option_snapshot``
  in batches of ``SNAPSHOT_BATCH`` symbols;
* orders: one ``POST /v2/orders`` per submit, a simple limit for one leg and one
  ``order_class: mleg`` order with a net limit for several; a 422 is answered by
  looking the client order id up (duplicate: the order is returned; else rejected).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from alpaca.data.enums import OptionsFeed
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.models.snapshots import OptionsSnapshot
from alpaca.data.requests import OptionChainRequest, OptionSnapshotRequest
from alpaca.trading.enums import AssetStatus, ContractType
from alpaca.trading.models import OptionContractsResponse
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.requests import GetOptionContractsRequest
from pydantic import ValidationError

from alchemiser.broker.alpaca import (
    SDK_ERRORS,
    AlpacaBroker,
    NotFoundError,
    error_message,
    http_status,
    parse_order_uuid,
    parsed_model,
    translate_error,
)
from alchemiser.broker.alpaca_http import OneAttemptClient
from alchemiser.broker.alpaca_options_mapping import (
    contract_from_alpaca,
    option_order_body,
    option_order_from_alpaca,
    option_position_from_alpaca,
    snapshot_from_alpaca,
)
from alchemiser.broker.errors import BrokerError, OrderRejectedError
from alchemiser.broker.models import OrderStatus
from alchemiser.broker.options_models import (
    OptionContract,
    OptionOrder,
    OptionOrderRequest,
    OptionPosition,
    OptionRight,
    OptionSnapshot,
)

SNAPSHOT_BATCH = 100  # symbols per snapshot request (Alpaca's limit)
CONTRACTS_PAGE = 1000


class _OptionDataClient(OneAttemptClient, OptionHistoricalDataClient):
    """The options market data API: one attempt per call, paced by the data API's budget."""

    def __init__(self, key_id: str, secret_key: str, *, timeout_s: float) -> None:
        super().__init__(api_key=key_id, secret_key=secret_key)
        self._timeout_s = timeout_s


class AlpacaOptionsBroker(AlpacaBroker):
    """``Broker`` and ``OptionsBroker`` on one Alpaca account (paper unless told otherwise)."""

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        options_feed: OptionsFeed | None = None,
        max_pages: int = 50,
        **options: Any,
    ) -> None:
        super().__init__(key_id, secret_key, **options)
        if max_pages < 1:
            raise ValueError(f"max_pages must be >= 1, was {max_pages}")
        self._options_feed = options_feed
        self._max_pages = max_pages
        self._option_data = _OptionDataClient(key_id, secret_key, timeout_s=self._timeout_s)
        # The same budget as the equity quotes: both are Alpaca's market data API
        self._option_data._limit(
            self._timeout_s, self.budgets.data, self.budgets.max_wait_s, self._sleep, self._wall
        )

    # -- market data ------------------------------------------------------------------------

    def option_contracts(
        self,
        underlying: str,
        first_expiry: date,
        last_expiry: date,
        right: OptionRight,
        strikes: tuple[Decimal, Decimal] | None = None,
    ) -> list[OptionContract]:
        contracts: list[OptionContract] = []
        token: str | None = None
        for page in range(1, self._max_pages + 1):
            request = GetOptionContractsRequest(
                underlying_symbols=[underlying], status=AssetStatus.ACTIVE,
                expiration_date_gte=first_expiry, expiration_date_lte=last_expiry,
                type=ContractType(right.value), limit=CONTRACTS_PAGE, page_token=token,
                strike_price_gte=format(strikes[0], "f") if strikes else None,
                strike_price_lte=format(strikes[1], "f") if strikes else None,
            )  # fmt: skip
            found = self._read(
                f"read {underlying} option contracts (page {page})",
                partial(self._trading.get_option_contracts, request),
            )
            response = parsed_model(found, OptionContractsResponse, "option contracts")
            contracts += [contract_from_alpaca(c) for c in response.option_contracts or []]
            token = response.next_page_token
            if not token:
                return contracts
        raise BrokerError(
            f"{underlying} option contracts run past {self._max_pages} pages of "
            f"{CONTRACTS_PAGE}: narrow the expiry or strike range"
        )

    def option_chain(
        self,
        underlying: str,
        first_expiry: date,
        last_expiry: date,
        right: OptionRight,
        strikes: tuple[Decimal, Decimal] | None = None,
    ) -> dict[str, OptionSnapshot]:
        request = OptionChainRequest(
            underlying_symbol=underlying, feed=self._options_feed, type=ContractType(right.value),
            expiration_date_gte=first_expiry, expiration_date_lte=last_expiry,
            strike_price_gte=float(strikes[0]) if strikes else None,
            strike_price_lte=float(strikes[1]) if strikes else None,
        )  # fmt: skip
        found = self._read(
            f"read the {underlying} option chain",
            lambda: self._option_data.get_option_chain(request),
        )
        return _snapshots(found, f"{underlying} option chain")

    def option_snapshots(self, symbols: Sequence[str]) -> dict[str, OptionSnapshot]:
        snapshots: dict[str, OptionSnapshot] = {}
        wanted = list(dict.fromkeys(symbols))
        for start in range(0, len(wanted), SNAPSHOT_BATCH):
            batch = wanted[start : start + SNAPSHOT_BATCH]
            request = OptionSnapshotRequest(symbol_or_symbols=batch, feed=self._options_feed)
            found = self._read(
                f"read option snapshots of {', '.join(batch[:3])}...",
                partial(self._option_data.get_option_snapshot, request),
            )
            snapshots |= _snapshots(found, "option snapshots")
        return snapshots

    def option_positions(self) -> list[OptionPosition]:
        found = self._read("read positions", self._trading.get_all_positions)
        mapped = (
            option_position_from_alpaca(parsed_model(p, AlpacaPosition, "position")) for p in found
        )
        return [p for p in mapped if p is not None]

    # -- orders -----------------------------------------------------------------------------

    def submit_option_order(self, request: OptionOrderRequest) -> OptionOrder:
        """POST the order once; on a duplicate client id return the order already placed."""
        cid = request.client_order_id
        try:
            raw = self._trading.post("/orders", dict(option_order_body(request)))
        except SDK_ERRORS as error:
            status = http_status(error)
            if status == 403:
                raise OrderRejectedError(cid, error_message(error)) from error
            if status == 422:
                return self._existing_option_order(request, error_message(error))
            raise translate_error(error, f"submit option order {cid}", self._timeout_s) from error
        order = _option_order(raw, f"option order {cid}")
        if order.status is OrderStatus.REJECTED:
            raise OrderRejectedError(cid, "Alpaca accepted the request but rejected the order")
        return order

    def option_order_by_client_id(self, client_order_id: str) -> OptionOrder | None:
        try:
            found = self._read(
                f"look up option order {client_order_id}",
                lambda: self._trading.get_order_by_client_id(client_order_id),
            )
        except NotFoundError:
            return None
        return _option_order(found, f"option order {client_order_id}")

    def get_option_order(self, order_id: str) -> OptionOrder:
        order_uuid = parse_order_uuid(order_id, "read")
        found = self._read(
            f"read option order {order_id}", lambda: self._trading.get_order_by_id(order_uuid)
        )
        return _option_order(found, f"option order {order_id}")

    def cancel_option_order(self, order_id: str) -> None:
        self.cancel_order(order_id)

    def _existing_option_order(self, request: OptionOrderRequest, message: str) -> OptionOrder:
        existing = self.option_order_by_client_id(request.client_order_id)
        if existing is None:
            raise OrderRejectedError(request.client_order_id, message)
        if not existing.matches(request):
            raise BrokerError(
                f"client_order_id {request.client_order_id!r} already names a different option "
                f"order ({', '.join(leg.symbol for leg in existing.legs)}, qty {existing.qty}, "
                f"limit {existing.limit_price})"
            )
        if existing.status is OrderStatus.REJECTED:
            raise OrderRejectedError(request.client_order_id, "Alpaca rejected this order earlier")
        return existing


def _snapshots(found: object, what: str) -> dict[str, OptionSnapshot]:
    if not isinstance(found, dict):
        raise BrokerError(f"{what}: expected snapshots by symbol, got {type(found).__name__}")
    mapped = {
        symbol: snapshot_from_alpaca(
            symbol, parsed_model(snapshot, OptionsSnapshot, f"{what} {symbol}")
        )
        for symbol, snapshot in found.items()
    }
    return {symbol: snap for symbol, snap in mapped.items() if snap is not None}


def _option_order(raw: object, what: str) -> OptionOrder:
    try:
        order = raw if isinstance(raw, AlpacaOrder) else AlpacaOrder(**_mapping(raw, what))
    except (ValidationError, TypeError) as error:
        raise BrokerError(f"{what}: Alpaca sent an order that does not parse: {error}") from error
    return option_order_from_alpaca(order)


def _mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise BrokerError(f"{what}: expected an order object, got {type(raw).__name__}")
    return raw
