"""alpaca-py's REST clients, made to send exactly one HTTP attempt per call, within limits.

alpaca-py's ``RESTClient`` sends every request through ``_one_request(method, url, opts,
retry)`` with no timeout, and ``_request`` loops on it, sleeping and re-sending on
429/504 (POSTs included). The clients here override that one method to:

1. wait for a token of the API's ``RequestBudget`` (the rate limit, ``rate_limit``);
2. add ``timeout=timeout_s`` to the ``requests`` call;
3. pass ``retry=0`` so the SDK never raises its internal RetryException: each SDK call
   is exactly one HTTP attempt, and the adapter decides what is retried.

A ``requests`` response hook shows every answer (429s included) to the budget, which
pauses when Alpaca says the account has no requests left.

The canary tests in tests/unit/test_broker_alpaca.py fail if an alpaca-py upgrade
moves that hook (they count HTTP calls and check the timeout of each one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alpaca.common.rest import RESTClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient
from requests import Response

from alchemiser.broker.rate_limit import RequestBudget


class OneAttemptClient(RESTClient):
    """Mixin over alpaca-py's RESTClient: one HTTP attempt per call, timed out and budgeted.

    A subclass sets ``_timeout_s``, and calls ``_limit`` to take a request budget; without
    one (``_budget`` None) requests are not paced.
    """

    _timeout_s: float
    _budget: RequestBudget | None = None
    _max_wait_s: float = 60.0
    _sleep: Callable[[float], None]
    _wall: Callable[[], float]

    def _limit(
        self,
        timeout_s: float,
        budget: RequestBudget,
        max_wait_s: float,
        sleep: Callable[[float], None],
        wall: Callable[[], float],
    ) -> None:
        self._timeout_s, self._budget, self._max_wait_s = timeout_s, budget, max_wait_s
        self._sleep, self._wall = sleep, wall
        self._session.hooks["response"].append(self._observe)

    def _one_request(self, method: str, url: str, opts: dict[str, Any], retry: int) -> Any:
        if self._budget is not None:
            wait = self._budget.reserve(self._max_wait_s, f"{method} {url}")
            if wait > 0:
                self._sleep(wait)
        # retry=0 keeps RESTClient from re-sending on 429/504; the adapter decides retries.
        return super()._one_request(method, url, {**opts, "timeout": self._timeout_s}, 0)

    def _observe(self, response: Response, *args: Any, **kwargs: Any) -> None:
        if self._budget is not None:
            self._budget.observe(response.status_code, response.headers, self._wall())


class TradingHttpClient(OneAttemptClient, TradingClient):
    """The trading API (account, clock, calendar, assets, orders)."""

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        paper: bool,
        timeout_s: float,
        budget: RequestBudget,
        max_wait_s: float,
        sleep: Callable[[float], None],
        wall: Callable[[], float],
    ) -> None:
        super().__init__(api_key=key_id, secret_key=secret_key, paper=paper)
        self._limit(timeout_s, budget, max_wait_s, sleep, wall)


class QuoteHttpClient(OneAttemptClient, StockHistoricalDataClient):
    """The market data API (latest quotes)."""

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        timeout_s: float,
        budget: RequestBudget,
        max_wait_s: float,
        sleep: Callable[[float], None],
        wall: Callable[[], float],
    ) -> None:
        super().__init__(api_key=key_id, secret_key=secret_key)
        self._limit(timeout_s, budget, max_wait_s, sleep, wall)
