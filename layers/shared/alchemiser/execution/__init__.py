"""Order execution: walk the book over the Broker port, and the run's circuit breakers."""

from alchemiser.execution.clock import Clock, InstantClock, SystemClock
from alchemiser.execution.deadline import Deadline, walk_deadline
from alchemiser.execution.limits import apply_run_limits, gate_buys, kill_switch_reason, notional
from alchemiser.execution.quotes import MAX_QUOTE_AGE, QuoteRules, limit_price, quote_problem
from alchemiser.execution.walk import execute_order, walk_client_order_ids

__all__ = [
    "MAX_QUOTE_AGE",
    "Clock",
    "Deadline",
    "InstantClock",
    "QuoteRules",
    "SystemClock",
    "apply_run_limits",
    "execute_order",
    "gate_buys",
    "kill_switch_reason",
    "limit_price",
    "notional",
    "quote_problem",
    "walk_client_order_ids",
    "walk_deadline",
]
