"""Which run of a day an execution works on, and the retry of a day's failed books.

A day's first run is ``cycle-<day>-<stage>``. While it is not COMPLETED (started,
failed, blocked by the kill switch, drift or a limit) every execution continues that
same run: nothing is planned twice, no order repeated. A COMPLETED run whose books all
planned ends the day: a re-run places nothing.

A COMPLETED run with **failed books** (their strategy, their data: the others traded)
can be retried the same day once the cause is fixed: the next execution starts a
**retry run** ``<first run>-r2`` (then ``-r3`` ...) with only those books. It plans and
trades only them, under its own run id, so its client order ids never collide with
the first run's orders; the books that traded keep their stored plans, orders and
fills. A retry moves no capital (the policy ran once that day); it still credits the
broker's new cash activities to the pool. Its reconciliation rewrites the day's
snapshots of the retried books and the account's.

A COMPLETED run whose **hedge failed** (``cycle.hedge_failure``) is retried the same
way, with its failed books if it has any, else with none: the retry run trades no
book and runs the hedge again, which settles what the failed attempt journaled and
works under the first run's id (``cycle.hedge_step``), so it places nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from alchemiser.cycle.artifacts import RunArtifacts
from alchemiser.cycle.days import run_id_for
from alchemiser.cycle.hedge_failure import hedge_failed
from alchemiser.cycle.models import BookStatus
from alchemiser.ledger.models import RunRecord, RunStatus
from alchemiser.runtime import Dependencies

_RETRY = re.compile(r"-r(\d+)$")


@dataclass(frozen=True)
class DayRun:
    """The run an execution works on; ``done``: the completed run that ended the day."""

    run_id: str
    retry_books: tuple[str, ...] = ()  # a new retry run: the books it retries
    done: RunRecord | None = None


def retry_number(run_id: str) -> int:
    """Return 1 for a day's first run, n for its ``-rn`` retry."""
    found = _RETRY.search(run_id)
    return int(found.group(1)) if found else 1


def day_runs(stage: str, day: date, deps: Dependencies) -> list[RunRecord]:
    """Return the day's runs, the first run first, then its retries in order."""
    runs = [r for r in deps.ledger.runs(stage) if r.trading_date == day]
    return sorted(runs, key=lambda r: retry_number(r.run_id))


def failed_books(run_id: str, deps: Dependencies) -> list[str]:
    """Return the books of a run that did not plan (failed, or never evaluated)."""
    artifacts = RunArtifacts(deps.store, run_id)
    day = artifacts.find_day()
    if day is None:
        return []
    ids = [t.book_id for t in day.books]
    planned = {p.book_id for p in artifacts.book_plans(ids) if p.status is not BookStatus.FAILED}
    return [b for b in ids if b not in planned]


def run_for_day(stage: str, day: date, deps: Dependencies) -> DayRun:
    """Return the run this execution works on (see the module docstring)."""
    runs = day_runs(stage, day, deps)
    if not runs:
        return DayRun(run_id_for(stage, day))
    latest = runs[-1]
    if latest.status is not RunStatus.COMPLETED:
        return DayRun(latest.run_id)
    failed = failed_books(latest.run_id, deps)
    if not failed and not hedge_failed(deps, latest.run_id):
        return DayRun(latest.run_id, done=latest)
    retry = f"{run_id_for(stage, day)}-r{retry_number(latest.run_id) + 1}"
    return DayRun(retry, retry_books=tuple(failed))


def run_of_execution(stage: str, day: date, execution_arn: str, deps: Dependencies) -> str:
    """Return the run of ``day`` that ``execution_arn`` claimed (the first run when none).

    Reads the day's run records by id (the first run, then each retry until one is
    missing): NotifyFailure may only get items, not query the table.
    """
    first = run_id_for(stage, day)
    run_id, number = first, 1
    while (run := deps.ledger.get_run(run_id)) is not None:
        if execution_arn and run.execution_arn == execution_arn:
            return run_id
        number += 1
        run_id = f"{first}-r{number}"
    return first
