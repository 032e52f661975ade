"""Named broker errors. Step Functions Retry/Catch match on these class names."""

from __future__ import annotations

from alchemiser.errors import TransientError


class BrokerError(Exception):
    """A broker call failed in a way that retrying will not fix."""


class TransientBrokerError(BrokerError, TransientError):
    """A timeout, rate limit (429) or server error (5xx): safe to retry the *step*.

    Never retry an order POST blindly on this: look the client_order_id up first.
    """


class OrderRejectedError(BrokerError):
    """The broker refused an order (insufficient buying power, not tradable, ...)."""

    def __init__(self, client_order_id: str, reason: str) -> None:
        self.client_order_id = client_order_id
        self.reason = reason
        super().__init__(f"order {client_order_id} rejected: {reason}")


class OrderNotCancelableError(BrokerError):
    """The broker refused a cancel: the order can no longer be canceled (Alpaca: HTTP 422).

    Almost always the order filled, or was canceled or expired, after it was last read:
    look it up and count what it filled. Never a reason to fail the run by itself.
    """

    def __init__(self, order_id: str, detail: str) -> None:
        self.order_id = order_id
        self.detail = detail
        super().__init__(f"cannot cancel order {order_id}: {detail}")


class UnknownSymbolError(BrokerError):
    """The broker has no asset (or no quote) for a symbol."""
