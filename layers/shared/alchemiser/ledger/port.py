"""The ledger port. Adapters: DynamoDB single table (AWS) and SQLite (local)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from alchemiser.ledger.models import (
    AccountSnapshot,
    BookSnapshot,
    FillRecord,
    KillSwitch,
    Lot,
    OrderRecord,
    RunRecord,
    RunStatus,
    Transfer,
)


class Ledger(Protocol):
    """Durable record of runs, orders, fills, lots and book snapshots.

    Every list method returns *all* matching items (adapters paginate internally).
    ``record_fills`` is idempotent by ``fill_id`` and applies each new fill to the
    book's FIFO lots in the same transaction, accumulating realised P&L and, when the
    fill carries its cash, the book's cash. ``record_transfers`` is idempotent by
    ``transfer_id`` and moves the cash of both sides in the same transaction.
    """

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def put_run(self, run: RunRecord) -> None: ...

    def runs(self, stage: str) -> list[RunRecord]: ...

    def claim_run(self, run: RunRecord, expected_attempts: int) -> bool:
        """Write ``run`` in one conditional write: only if the stored record of its run id
        still has ``expected_attempts`` attempts (0: no record yet). Return whether it did.

        Every claim counts one more attempt, so of two executions that read the same
        record and claim together, exactly one succeeds.
        """
        ...

    def finish_run(
        self, run_id: str, execution_arn: str, status: RunStatus, message: str, at: datetime
    ) -> bool:
        """Set the run's status, message and time if ``execution_arn`` still owns it (one
        conditional write); return whether it did. A late report of an execution that lost
        the day to another one changes nothing."""
        ...

    def put_order(self, order: OrderRecord) -> None: ...

    def get_order(self, run_id: str, client_order_id: str) -> OrderRecord | None: ...

    def orders(self, run_id: str) -> list[OrderRecord]: ...

    def record_fills(self, fills: Sequence[FillRecord]) -> list[FillRecord]:
        """Record fills not seen before (by fill_id); return the newly recorded ones."""
        ...

    def fills(self, run_id: str) -> list[FillRecord]: ...

    def open_lots(self, book_id: str) -> list[Lot]:
        """Return the book's open lots, oldest first (FIFO order) per symbol."""
        ...

    def realised_pnl(self, book_id: str) -> Decimal: ...

    def book_ids(self) -> list[str]:
        """Return every book that ever had a fill or a snapshot."""
        ...

    def put_snapshot(self, snapshot: BookSnapshot) -> None: ...

    def snapshots(self, book_id: str) -> list[BookSnapshot]:
        """Return every snapshot of the book, oldest first."""
        ...

    def record_transfers(self, transfers: Sequence[Transfer]) -> list[Transfer]:
        """Record the transfers not seen before (by transfer_id); return the new ones."""
        ...

    def transfers_on(self, day: date) -> list[Transfer]:
        """Return the transfers of one trading day, by transfer id."""
        ...

    def cash_accounts(self) -> dict[str, Decimal]:
        """Return the cash of every account that has one (books and ``POOL``).

        Empty until books keep their own cash (``alchemiser.books.opening``).
        """
        ...

    def put_account_snapshot(self, snapshot: AccountSnapshot) -> None: ...

    def account_snapshots(self) -> list[AccountSnapshot]:
        """Return every account snapshot, oldest first."""
        ...

    def latest_snapshot(self, book_id: str, on_or_before: date) -> BookSnapshot | None: ...

    def kill_switch(self) -> KillSwitch | None: ...

    def set_kill_switch(self, switch: KillSwitch) -> None: ...
