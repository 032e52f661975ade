"""Deterministic broker client order ids (at most 48 characters, Alpaca's limit).

A redriven or re-run day must find the orders it already placed, so an id is a pure
function of what the order is: the run, the phase, the symbol and the side.

* Readable form, used whenever it fits: ``{run_id}-{phase[0]}-{symbol}-{side[0]}``,
  e.g. ``cycle-2026-11-20-prod-s-SPY-s``.
* Shortened form, for long run ids: ``{date}-{phase[0]}-{symbol}-{side[0]}-{hash12}``,
  where ``date`` is the first ``YYYY-MM-DD`` of the run id (or its first 10 characters)
  and ``hash12`` the first 12 hex digits of the SHA-256 of the readable form, so two
  runs that share a date still get different ids.
* Walk-the-book steps: ``{base}.{step}``; a base too long for the suffix keeps its head
  and a hash of the whole base: ``{head}~{hash10}.{step}``. Run ids never contain a
  dot, so a step id can never equal a base id.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from alchemiser.broker.models import CLIENT_ORDER_ID_MAX, OrderSide
from alchemiser.ledger.models import OrderPhase

SYMBOL_MAX: Final = 16  # the broker's symbol limit (see broker.models._OrderRequest)
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_RUN_HASH_LEN: Final = 12
_STEP_HASH_LEN: Final = 10
_STEP_LIMIT: Final = 1_000_000


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def client_order_id(run_id: str, phase: OrderPhase, symbol: str, side: OrderSide) -> str:
    """Return the client order id of the run's order in ``symbol`` for ``phase`` and ``side``."""
    if not run_id or any(c.isspace() for c in run_id):
        raise ValueError(f"run_id must be non-empty without whitespace, was {run_id!r}")
    if not 1 <= len(symbol) <= SYMBOL_MAX or any(c.isspace() for c in symbol):
        raise ValueError(
            f"symbol must be 1-{SYMBOL_MAX} characters without whitespace, was {symbol!r}"
        )
    tail = f"{OrderPhase(phase).value[0]}-{symbol}-{OrderSide(side).value[0]}"
    readable = f"{run_id}-{tail}"
    if len(readable) <= CLIENT_ORDER_ID_MAX:
        return readable
    found = _DATE.search(run_id)
    head = found.group(0) if found else run_id[:10]
    return f"{head}-{tail}-{_digest(readable, _RUN_HASH_LEN)}"


def step_client_order_id(base: str, step: int) -> str:
    """Return the client order id of walk-the-book ``step`` (0, 1, ...) of order ``base``."""
    if not 0 <= step < _STEP_LIMIT:
        raise ValueError(f"step must be in [0, {_STEP_LIMIT}), was {step}")
    if not base or len(base) > CLIENT_ORDER_ID_MAX:
        raise ValueError(
            f"base must be a client order id of 1-{CLIENT_ORDER_ID_MAX} chars, was {base!r}"
        )
    suffix = f".{step}"
    if len(base) + len(suffix) <= CLIENT_ORDER_ID_MAX:
        return base + suffix
    keep = CLIENT_ORDER_ID_MAX - len(suffix) - _STEP_HASH_LEN - 1
    return f"{base[:keep]}~{_digest(base, _STEP_HASH_LEN)}{suffix}"
