"""PlanCycle's decisions that a full local run cannot reach: closed days, live-only rules."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from alchemiser.broker.simulated_market import trading_session
from alchemiser.cycle.artifacts import RunArtifacts
from alchemiser.cycle.faults import FaultPlan
from alchemiser.cycle.messages import CycleStart
from alchemiser.cycle.models import CycleOptions, CycleRequest
from alchemiser.cycle.plan_cycle import plan_cycle
from alchemiser.errors import ConfigurationError
from alchemiser.local.environment import books_of, build_local_dependencies, open_market
from alchemiser.runtime import Dependencies
from alchemiser.settings import Runtime
from tests.workflow.conftest import make_settings

DAY = date(2024, 3, 14)  # a Thursday


def deps_for(home: Path, now: datetime, **overrides: object) -> Dependencies:
    settings = make_settings(home, **overrides)
    market = open_market(settings, books_of(settings), DAY)
    return build_local_dependencies(settings, market, DAY, now, FaultPlan())


def request(day: date | None) -> CycleRequest:
    started = datetime(2024, 3, 14, 13, 0, tzinfo=UTC)
    return CycleRequest(
        execution_name="x", stage="dev", started_at=started, options=CycleOptions(trading_date=day)
    )


def test_a_weekend_day_is_closed_and_nothing_is_recorded(tmp_path: Path) -> None:
    deps = deps_for(tmp_path, trading_session(DAY).open)
    plan = plan_cycle(request(date(2024, 3, 16)), deps)
    assert (plan.proceed, plan.market_open) == (False, False)
    assert plan.reason == "the market is closed on 2024-03-16 (Saturday)"
    assert deps.ledger.runs("dev") == []


def test_an_open_day_plans_every_book_at_close_minus_the_set_minutes(tmp_path: Path) -> None:
    deps = deps_for(tmp_path, trading_session(DAY).open)
    start = plan_cycle(request(DAY), deps)
    assert start.proceed and start.run_id == "cycle-2024-03-14-dev"
    assert start.run_at == trading_session(DAY).close - timedelta(minutes=15)
    assert start.book_ids == ["nuclear", "tech-momentum", "klm-ensemble"]
    # and the day's plan is stored under the run, with the equity it is sized on
    day = RunArtifacts(deps.store, start.run_id).day()
    assert [b.book_id for b in day.books] == start.book_ids
    assert day.account_equity == 100_000


def test_a_live_run_cannot_replay_a_past_day(tmp_path: Path) -> None:
    deps = deps_for(tmp_path, trading_session(DAY).open, runtime=Runtime.AWS)
    with pytest.raises(ConfigurationError, match="only possible locally"):
        plan_cycle(request(date(2024, 3, 13)), deps)


def test_a_live_run_started_after_the_close_does_not_trade(tmp_path: Path) -> None:
    deps = deps_for(
        tmp_path, trading_session(DAY).close + timedelta(minutes=5), runtime=Runtime.AWS
    )
    plan = plan_cycle(request(None), deps)
    assert not plan.proceed
    assert plan.reason.startswith("too late: the market closed at")


class LiveExecutions:
    """The executions port as Step Functions answers it: these executions are running."""

    def __init__(self, running: set[str]) -> None:
        self.running = running

    def is_running(self, execution_arn: str) -> bool:
        return execution_arn in self.running

    def failed_state(self, execution_arn: str) -> str:
        return ""


def execution(name: str) -> CycleRequest:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:alchemiser-dev-daily-cycle:{name}"
    return request(DAY).model_copy(update={"execution_name": name, "execution_arn": arn})


def test_two_executions_started_together_claim_the_day_exactly_once(tmp_path: Path) -> None:
    # Given two executions of the same day, both alive, starting at the same moment
    first, second = execution("scheduled"), execution("by-hand")
    live = LiveExecutions({first.execution_arn, second.execution_arn})
    deps = replace(deps_for(tmp_path, trading_session(DAY).open), executions=live)
    barrier = threading.Barrier(2)
    results: dict[str, CycleStart] = {}

    def start(req: CycleRequest) -> None:
        barrier.wait(timeout=30)
        results[req.execution_name] = plan_cycle(req, deps)

    # When both plan the day on two threads
    threads = [threading.Thread(target=start, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then exactly one proceeds; the other is refused, says why, and plans nothing
    assert sorted(r.proceed for r in results.values()) == [False, True]
    refused = next(r for r in results.values() if not r.proceed)
    assert "places nothing" in refused.reason and refused.book_ids == []
    record = deps.ledger.get_run("cycle-2024-03-14-dev")
    winner = next(name for name, r in results.items() if r.proceed)
    assert record is not None and record.execution_name == winner and record.attempts == 1


@pytest.mark.parametrize("alive", [True, False])
def test_a_day_claimed_by_another_execution_is_refused_only_while_it_runs(
    alive: bool, tmp_path: Path
) -> None:
    # Given the day claimed by a scheduled execution, which is still running or has ended
    scheduled, by_hand = execution("scheduled"), execution("by-hand")
    live = LiveExecutions({scheduled.execution_arn} if alive else set())
    deps = replace(deps_for(tmp_path, trading_session(DAY).open), executions=live)
    assert plan_cycle(scheduled, deps).proceed
    # When another execution plans the same day
    start = plan_cycle(by_hand, deps)
    # Then it stands aside while the first runs, and takes the day over at once otherwise
    record = deps.ledger.get_run("cycle-2024-03-14-dev")
    assert record is not None
    if alive:
        assert not start.proceed
        assert "execution scheduled is already running" in start.reason
        assert record.execution_name == "scheduled"
    else:
        assert start.proceed
        assert (record.execution_name, record.attempts) == ("by-hand", 2)
        assert "took over from execution scheduled" in record.message
