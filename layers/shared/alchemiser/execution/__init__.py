"""Order execution: walk the book over the Broker port, and the run's circuit breakers."""

from alchemiser.execution.clock import Clock, InstantClock, SystemClock
from alchemiser.execution.limits import apply_run_limits, gate_buys, kill_switch_reason, notional
from alchemiser.execution.walk import (
    MAX_QUOTE_AGE,
    execute_order,
    limit_price,
    quote_problem,
    walk_client_order_ids,
)

__all__ = [
    "MAX_QUOTE_AGE",
    "Clock",
    "InstantClock",
    "SystemClock",
    "apply_run_limits",
    "execute_order",
    "gate_buys",
    "kill_switch_reason",
    "limit_price",
    "notional",
    "quote_problem",
    "walk_client_order_ids",
]
