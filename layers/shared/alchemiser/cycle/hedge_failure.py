"""A hedge that failed: counted towards the hedge kill switch once per run, stored for the report.

The Hedge branch of the ExecuteAndHedge Parallel catches every error that outlasts its
retries (the step's own, a Lambda timeout, out of memory) in HedgeFailed, so the equity
branch is never stopped by the hedge. Reconcile receives the caught error and calls
``record_hedge_failure``: the run's ``hedge.json`` says "failed" with the reason, and the
failure counts towards ``hedge_trip_failures`` (failures in 24 hours switch the hedge
off). A run counts at most once, however many attempts failed or were retried, and a
refusal of the same run already counted is not counted again.

A run whose hedge failed does not end the day: the next ``alchemiser run`` of that day
starts a retry run (``alchemiser.cycle.retry``) that runs the hedge again.
"""

from __future__ import annotations

import json
from datetime import timedelta

from alchemiser.cycle.artifacts import RunArtifacts, hedge_key, put_model
from alchemiser.cycle.messages import HedgeBranchOutcome
from alchemiser.hedge.summary import HedgeSummary
from alchemiser.ledger.hedge_store import HedgeFailure, HedgeStore
from alchemiser.reporting.report import readable_error
from alchemiser.runtime import Dependencies

FAILURE_WINDOW = timedelta(hours=24)
FAILED = "failed"


def hedge_failed(deps: Dependencies, run_id: str) -> bool:
    """Return True when ``run_id``'s hedge failed (its stored outcome says so)."""
    summary = RunArtifacts(deps.store, run_id).hedge()
    return summary is not None and summary.decision == FAILED


def record_hedge_failure(deps: Dependencies, run_id: str, outcome: HedgeBranchOutcome) -> str:
    """Store and count the failure the hedge branch caught; return its reason.

    The reason is "ErrorType: message", read from the Catch's ``{"Error", "Cause"}`` by the
    report's one reader of Lambda errors.
    """
    reason = readable_error(json.dumps(outcome.error or {})) or "the hedge failed"
    day = RunArtifacts(deps.store, run_id).day()
    summary = HedgeSummary(
        run_id=run_id,
        day=day.trading_date,
        decision=FAILED,
        reasons=[
            f"the hedge failed: {reason}",
            "no option order is lost: the hedge book's journal is settled by the next run "
            "(re-run the day to retry the hedge)",
        ],
    )
    put_model(deps.store, hedge_key(run_id), summary)
    if deps.hedge_store is not None:
        count_failure(deps, deps.hedge_store, run_id, reason)
    return reason


def count_failure(deps: Dependencies, store: HedgeStore, run_id: str, reason: str) -> None:
    """Record one hedge failure of ``run_id`` (once); trip the switch at the count in 24 h."""
    now = deps.clock.now()
    switch = store.hedge_switch()
    if any(f.run_id == run_id for f in switch.failures):
        return  # a run fails at most once, however many of its attempts did
    recent = tuple(f for f in switch.failures if now - f.at < FAILURE_WINDOW)
    failures = (*recent, HedgeFailure(at=now, run_id=run_id, reason=reason))
    limit = deps.settings.hedge_trip_failures
    if not switch.enabled and len(failures) >= limit:
        switch = switch.model_copy(
            update={
                "enabled": True,
                "reason": f"tripped by {len(failures)} hedge failures in 24 h "
                f"(hedge_trip_failures={limit}); last: {reason}",
                "updated_at": now,
                "updated_by": "alchemiser (automatic)",
            }
        )
    store.save_hedge_switch(switch.model_copy(update={"failures": failures}))
