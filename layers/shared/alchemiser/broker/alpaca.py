"""The Alpaca adapter behind ``Broker`` (alpaca-py; paper trading unless told otherwise).

Timeouts, retries and the rate limit are decided here and in ``alpaca_http``, not by
alpaca-py: each SDK call is exactly one HTTP attempt, with a timeout, after a token of
the API's request budget (``rate_limit``). On top of that:

- reads (GET) are retried by ``_read`` up to ``read_attempts`` times on transient
  failures (429, 5xx, timeouts, connection errors), backing off ``retry_backoff_s`` x 2^n;
  a 429 that says how long to wait (``Retry-After`` / ``X-RateLimit-Reset``) pauses the
  budget instead, so the retry goes out when Alpaca allows it (at most
  ``max_wait_s`` later, else TransientBrokerError);
- an order POST and a cancel DELETE are attempted exactly once per call; a transient
  failure raises TransientBrokerError and the caller looks the client_order_id up
  before any new submit (the POST may have gone through);
- a cancel Alpaca refuses with 422 (the order filled or ended since it was last read)
  raises OrderNotCancelableError: the caller looks the order up;
- the account's non-trade activities are read page by page, each page a read like any
  other (``alpaca_activities``: alpaca-py's TradingClient has no call for them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.requests import StockLatestQuoteRequest
from alpaca.trading.models import Asset, Calendar, Clock, TradeAccount
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.requests import GetCalendarRequest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import ValidationError
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException, Timeout

from alchemiser.broker.alpaca_activities import ACTIVITIES_PATH, read_activities
from alchemiser.broker.alpaca_http import QuoteHttpClient, TradingHttpClient
from alchemiser.broker.alpaca_mapping import (
    account_from_alpaca,
    asset_from_alpaca,
    calendar_bounds,
    clock_from_alpaca,
    order_from_alpaca,
    order_matches,
    position_from_alpaca,
    quote_from_alpaca,
    session_from_alpaca,
    submit_body,
)
from alchemiser.broker.errors import (
    BrokerError,
    OrderNotCancelableError,
    OrderRejectedError,
    TransientBrokerError,
    UnknownSymbolError,
)
from alchemiser.broker.models import (
    Account,
    AssetInfo,
    CashActivity,
    MarketClock,
    Order,
    OrderRequest,
    OrderStatus,
    Position,
    Quote,
    TradingSession,
)
from alchemiser.broker.rate_limit import AlpacaBudgets, server_wait_s
from alchemiser.broker.ticks import PENNY, tick_for_price
from alchemiser.errors import ConfigurationError
from alchemiser.settings import Settings

SecretLoader = Callable[[str], Mapping[str, Any]]
DEFAULT_REQUESTS_PER_MINUTE = 22  # one process's share of the account's 200 (see Settings)
SDK_ERRORS = (APIError, RequestException)
ACTIVITY_DAYS = 31  # what cash_activities() reads when not told since when


class NotFoundError(BrokerError):
    """Alpaca answered 404 (callers turn it into None or UnknownSymbolError)."""


def load_secret_json(name: str) -> Mapping[str, Any]:
    """Return the JSON secret ``name`` from Secrets Manager (Powertools Parameters, cached 5 min)."""
    try:
        secret = parameters.get_secret(name, transform="json", max_age=300)
    except GetParameterError as exc:
        raise ConfigurationError(
            f"cannot read the Alpaca secret {name!r} from Secrets Manager: {exc}"
        ) from exc
    if not isinstance(secret, Mapping):
        raise ConfigurationError(
            f"secret {name} must hold a JSON object, was {type(secret).__name__}"
        )
    return secret


class AlpacaBroker:
    """``Broker`` on Alpaca's trading and market data APIs."""

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        paper: bool = True,
        timeout_s: float = 10,
        read_attempts: int = 3,
        retry_backoff_s: float = 0.5,
        data_feed: DataFeed | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
        budgets: AlpacaBudgets | None = None,
    ) -> None:
        """Build the adapter; ``budgets`` default to this adapter's own (``from_settings``
        shares the process's); ``sleep`` and ``wall`` (epoch seconds) are injectable."""
        if timeout_s <= 0 or read_attempts < 1 or retry_backoff_s < 0:
            raise ValueError(
                "expected timeout_s > 0, read_attempts >= 1 and retry_backoff_s >= 0, were "
                f"{timeout_s}, {read_attempts}, {retry_backoff_s}"
            )
        self.paper = paper
        self._timeout_s = timeout_s
        self._read_attempts = read_attempts
        self._retry_backoff_s = retry_backoff_s
        self._feed = data_feed
        self._sleep = sleep
        self._wall = wall
        limits = budgets or AlpacaBudgets.private(DEFAULT_REQUESTS_PER_MINUTE)
        self.budgets = limits  # subclasses' own clients (options data) share them
        self._trading = TradingHttpClient(
            key_id,
            secret_key,
            paper=paper,
            timeout_s=timeout_s,
            budget=limits.trading,
            max_wait_s=limits.max_wait_s,
            sleep=sleep,
            wall=wall,
        )
        self._quotes = QuoteHttpClient(
            key_id,
            secret_key,
            timeout_s=timeout_s,
            budget=limits.data,
            max_wait_s=limits.max_wait_s,
            sleep=sleep,
            wall=wall,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, secret_loader: SecretLoader = load_secret_json, **options: Any
    ) -> AlpacaBroker:
        """Build the adapter from settings: paper unless ``settings.live`` is explicitly True.

        Credentials come from ``alpaca_key_id``/``alpaca_secret_key`` when both are set,
        else from the JSON secret ``alpaca_secret_name`` ({"key_id": ..., "secret_key": ...})
        read by ``secret_loader``.
        """
        if settings.alpaca_key_id is not None and settings.alpaca_secret_key is not None:
            key_id = settings.alpaca_key_id.get_secret_value()
            secret_key = settings.alpaca_secret_key.get_secret_value()
        elif settings.alpaca_secret_name:
            secret = secret_loader(settings.alpaca_secret_name)
            key_id, secret_key = str(secret.get("key_id", "")), str(secret.get("secret_key", ""))
            if not key_id or not secret_key:
                raise ConfigurationError(
                    f"secret {settings.alpaca_secret_name} must hold key_id and secret_key, "
                    f"had keys {sorted(secret)}"
                )
        else:
            raise ConfigurationError(
                "Alpaca credentials missing: set ALCHEMISER_ALPACA_SECRET_NAME, or both "
                "ALCHEMISER_ALPACA_KEY_ID and ALCHEMISER_ALPACA_SECRET_KEY"
            )
        options.setdefault(
            "budgets",
            AlpacaBudgets.shared(
                settings.alpaca_requests_per_minute, settings.alpaca_max_rate_wait_s
            ),
        )
        return cls(
            key_id, secret_key, paper=settings.paper, timeout_s=settings.http_timeout_s, **options
        )

    # -- reads ----------------------------------------------------------------------------

    def account(self) -> Account:
        found = self._read("read the account", self._trading.get_account)
        return account_from_alpaca(parsed_model(found, TradeAccount, "account"))

    def positions(self) -> list[Position]:
        found = self._read("read positions", self._trading.get_all_positions)
        return [position_from_alpaca(parsed_model(p, AlpacaPosition, "position")) for p in found]

    def clock(self) -> MarketClock:
        found = self._read("read the market clock", self._trading.get_clock)
        return clock_from_alpaca(parsed_model(found, Clock, "clock"))

    def calendar(self, start: date, end: date) -> list[TradingSession]:
        calendar_bounds(start, end)
        days = self._read(
            f"read the calendar {start}..{end}",
            lambda: self._trading.get_calendar(GetCalendarRequest(start=start, end=end)),
        )
        return [session_from_alpaca(parsed_model(d, Calendar, "calendar day")) for d in days]

    def latest_quote(self, symbol: str) -> Quote:
        request = StockLatestQuoteRequest(symbol_or_symbols=symbol, feed=self._feed)
        try:
            quotes = self._read(
                f"read the latest quote of {symbol}",
                lambda: self._quotes.get_stock_latest_quote(request),
            )
        except NotFoundError as error:
            raise UnknownSymbolError(f"Alpaca has no quote for {symbol}: {error}") from error
        if symbol not in quotes:
            raise UnknownSymbolError(f"Alpaca has no latest quote for {symbol}")
        return quote_from_alpaca(symbol, quotes[symbol])

    def asset(self, symbol: str) -> AssetInfo:
        """Return the asset; its price tick comes from the latest ask (0.0001 under $1)."""
        try:
            asset = self._read(f"read asset {symbol}", lambda: self._trading.get_asset(symbol))
        except NotFoundError as error:
            raise UnknownSymbolError(f"Alpaca has no asset {symbol}: {error}") from error
        try:
            tick = tick_for_price(self.latest_quote(symbol).ask)
        except UnknownSymbolError:
            tick = PENNY  # a whole-cent limit is valid at any price
        return asset_from_alpaca(parsed_model(asset, Asset, f"asset {symbol}"), tick)

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        try:
            found = self._read(
                f"look up order {client_order_id}",
                lambda: self._trading.get_order_by_client_id(client_order_id),
            )
        except NotFoundError:
            return None
        return _order(found, f"order {client_order_id}")

    def get_order(self, order_id: str) -> Order:
        order_uuid = parse_order_uuid(order_id, "read")
        found = self._read(
            f"read order {order_id}", lambda: self._trading.get_order_by_id(order_uuid)
        )
        return _order(found, f"order {order_id}")

    # -- writes: one attempt each -----------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> Order:
        """POST the order once; on a duplicate client id return the order already placed."""
        cid = request.client_order_id
        try:
            raw = self._trading.post("/orders", submit_body(request))
        except SDK_ERRORS as error:
            status = http_status(error)
            if status == 403:
                raise OrderRejectedError(cid, error_message(error)) from error
            if status == 422:
                return self._existing_or_rejected(request, error_message(error))
            raise translate_error(error, f"submit order {cid}", self._timeout_s) from error
        order = _order(raw, f"order {cid}")
        if order.status is OrderStatus.REJECTED:
            raise OrderRejectedError(cid, "Alpaca accepted the request but rejected the order")
        return order

    def cancel_order(self, order_id: str) -> None:
        """DELETE the order once; Alpaca's 422 (it can no longer be canceled) is typed."""
        order_uuid = parse_order_uuid(order_id, "cancel")
        try:
            self._trading.cancel_order_by_id(order_uuid)
        except SDK_ERRORS as error:
            if http_status(error) == 422:
                raise OrderNotCancelableError(order_id, error_message(error)) from error
            raise translate_error(error, f"cancel order {order_id}", self._timeout_s) from error

    def cash_activities(self, since: date | None = None) -> list[CashActivity]:
        """Return the account's non-trade cash moves dated ``since`` or later (``alpaca_activities``).

        None reads the last ``ACTIVITY_DAYS`` days of the adapter's clock. Each page is
        one budgeted GET, retried like every read.
        """
        start = since or datetime.fromtimestamp(self._wall(), UTC).date() - timedelta(
            days=ACTIVITY_DAYS
        )
        return read_activities(self._activities_page, start)

    # -- plumbing ---------------------------------------------------------------------------

    def _activities_page(self, query: dict[str, str]) -> object:
        where = query.get("page_token", "the first page")
        return self._read(
            f"read account activities after {query['after']} ({where})",
            lambda: self._trading.get(ACTIVITIES_PATH, query),
        )

    def _existing_or_rejected(self, request: OrderRequest, message: str) -> Order:
        # A 422 may be a duplicate client_order_id (the order exists) or a validation
        # failure (it does not): the lookup tells which, without parsing the message.
        existing = self.order_by_client_id(request.client_order_id)
        if existing is None:
            raise OrderRejectedError(request.client_order_id, message)
        if not order_matches(existing, request):
            raise BrokerError(
                f"client_order_id {request.client_order_id!r} already names a different order "
                f"({existing.side.value} {existing.qty} {existing.symbol} {existing.type.value})"
            )
        if existing.status is OrderStatus.REJECTED:
            raise OrderRejectedError(request.client_order_id, "Alpaca rejected this order earlier")
        return existing

    def _read[T](self, action: str, call: Callable[[], T]) -> T:
        """Run one GET-backed SDK call, retrying transient failures a bounded number of times.

        A 429 that says when to come back has paused the request budget (the response
        hook saw it): the retry waits there instead of backing off.
        """
        for attempt in range(1, self._read_attempts + 1):
            try:
                return call()
            except SDK_ERRORS as error:
                failure = translate_error(error, action, self._timeout_s)
                if not isinstance(failure, TransientBrokerError) or attempt == self._read_attempts:
                    raise failure from error
                told_when = (
                    http_status(error) == 429 and _server_wait(error, self._wall()) is not None
                )
            if not told_when:
                self._sleep(self._retry_backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")


def _order(raw: AlpacaOrder | Mapping[str, Any] | Any, what: str) -> Order:
    try:
        order = raw if isinstance(raw, AlpacaOrder) else AlpacaOrder(**raw)
    except (ValidationError, TypeError) as error:
        raise BrokerError(f"{what}: Alpaca sent an order that does not parse: {error}") from error
    return order_from_alpaca(order)


def parse_order_uuid(order_id: str, action: str) -> UUID:
    try:
        return UUID(order_id)
    except ValueError as error:
        raise BrokerError(
            f"cannot {action} order {order_id!r}: Alpaca order ids are UUIDs"
        ) from error


def parsed_model[M](value: object, kind: type[M], what: str) -> M:
    if not isinstance(value, kind):
        raise BrokerError(
            f"{what}: expected an alpaca-py {kind.__name__}, got {type(value).__name__}"
        )
    return value


def translate_error(
    error: APIError | RequestException, action: str, timeout_s: float
) -> BrokerError:
    if isinstance(error, Timeout):
        return TransientBrokerError(
            f"{action}: no answer from Alpaca within {timeout_s}s ({error})"
        )
    if isinstance(error, RequestsConnectionError):
        return TransientBrokerError(f"{action}: could not reach Alpaca ({error})")
    status = http_status(error)
    message = error_message(error)
    if status is None:
        return BrokerError(f"{action}: request to Alpaca failed: {message}")
    if status == 429 or status >= 500:
        return TransientBrokerError(
            f"{action}: Alpaca answered HTTP {status} ({message}); retry later"
        )
    if status == 404:
        return NotFoundError(f"{action}: Alpaca answered HTTP 404 ({message})")
    return BrokerError(f"{action}: Alpaca answered HTTP {status}: {message}")


def _server_wait(error: APIError | RequestException, wall_now: float) -> float | None:
    response = error.response
    return None if response is None else server_wait_s(response.headers, wall_now)


def http_status(error: APIError | RequestException) -> int | None:
    status = error.status_code if isinstance(error, APIError) else None
    return int(status) if status is not None else None


def error_message(error: APIError | RequestException) -> str:
    """Return Alpaca's error message (its JSON ``message``), else the raw body."""
    text = str(error)
    try:
        body = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return text[:300]
