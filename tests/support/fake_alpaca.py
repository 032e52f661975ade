"""A stateful stand-in for Alpaca's REST endpoints, answering in its documented shapes.

``responses`` callbacks keep orders in a dict and answer with templates from
tests/fixtures/alpaca: a market order fills at once, a limit order rests, a duplicate
client_order_id is a 422, an unknown one a 404, canceling a filled order a 422.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alpaca"
PAPER = "https://paper-api.alpaca.markets/v2"
DATA = "https://data.alpaca.markets/v2"
Reply = tuple[int, dict[str, str], str]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class FakeAlpacaOrders:
    """A stateful stand-in for Alpaca's order endpoints (answers only; no trading logic).

    ``fill_on_cancel``: client ids whose resting order fills completely just before a
    cancel reaches it (the cancel race): Alpaca then refuses the cancel with its 422.
    """

    FILL_PRICE = "677.92"

    def __init__(self, http: responses.RequestsMock) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.fill_on_cancel: set[str] = set()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call, in order
        http.add_callback(responses.POST, f"{PAPER}/orders", callback=self.submit)
        http.add_callback(
            responses.GET, f"{PAPER}/orders:by_client_order_id", callback=self.by_client_id
        )
        order_url = re.compile(re.escape(f"{PAPER}/orders/") + r"[^/?]+")
        http.add_callback(responses.GET, order_url, callback=self.get)
        http.add_callback(responses.DELETE, order_url, callback=self.cancel)
        http.get(f"{PAPER}/account", json=fixture("account"))
        http.get(f"{PAPER}/positions", json=fixture("positions"))
        http.get(f"{PAPER}/clock", json=fixture("clock"))
        http.get(f"{PAPER}/calendar", json=fixture("calendar"))
        http.get(f"{PAPER}/assets/SPY", json=fixture("asset_fractionable"))
        http.get(f"{PAPER}/assets/ZZZZ", status=404, json=fixture("error_asset_not_found"))
        http.add_callback(responses.GET, f"{DATA}/stocks/quotes/latest", callback=self.quote)

    def submit(self, request: requests.PreparedRequest) -> Reply:
        body = json.loads(cast(bytes, request.body))
        if any(o["client_order_id"] == body["client_order_id"] for o in self.orders.values()):
            return _json(422, fixture("error_duplicate_client_order_id"))
        market = body["type"] == "market"
        order = fixture("order_filled" if market else "order_new") | {
            "id": str(uuid.uuid4()),
            "client_order_id": body["client_order_id"],
            "symbol": body["symbol"],
            "side": body["side"],
            "qty": body["qty"],
            "limit_price": body.get("limit_price"),
            "filled_qty": body["qty"] if market else "0",
            "filled_avg_price": self.FILL_PRICE if market else None,
        }
        self.orders[order["id"]] = order
        return _json(200, order)

    def by_client_id(self, request: requests.PreparedRequest) -> Reply:
        wanted = dict(_query(request))["client_order_id"]
        found = [o for o in self.orders.values() if o["client_order_id"] == wanted]
        return _json(200, found[0]) if found else _json(404, fixture("error_order_not_found"))

    def get(self, request: requests.PreparedRequest) -> Reply:
        order = self.orders.get(_last_segment(request))
        return _json(200, order) if order else _json(404, fixture("error_order_not_found"))

    def cancel(self, request: requests.PreparedRequest) -> Reply:
        order = self.orders.get(_last_segment(request))
        if order is None:
            return _json(404, fixture("error_order_not_found"))
        if order["client_order_id"] in self.fill_on_cancel:
            order |= {
                "status": "filled",
                "filled_qty": order["qty"],
                "filled_avg_price": order["limit_price"] or self.FILL_PRICE,
            }
        if order["status"] in {"filled", "canceled", "expired", "rejected"}:
            return _json(422, fixture("error_not_cancelable"))
        order["status"] = "canceled"
        return 204, {}, ""

    def quote(self, request: requests.PreparedRequest) -> Reply:
        symbol = dict(_query(request))["symbols"]
        return _json(
            200, fixture("latest_quote_spy") if symbol == "SPY" else fixture("latest_quote_empty")
        )


def _json(status: int, body: object) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _query(request: requests.PreparedRequest) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(request.url or "").query)


def _last_segment(request: requests.PreparedRequest) -> str:
    return (request.path_url or "").split("?")[0].rsplit("/", 1)[-1]
