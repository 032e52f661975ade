"""PlanCycle's decisions that a full local run cannot reach: closed days, live-only rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from alchemiser.broker.simulated_market import trading_session
from alchemiser.cycle.faults import FaultPlan
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
    plan = plan_cycle(request(DAY), deps)
    assert plan.proceed and plan.run_id == "cycle-2024-03-14-dev"
    assert plan.run_at == trading_session(DAY).close - timedelta(minutes=15)
    assert [b.book_id for b in plan.books] == ["nuclear", "tech-momentum", "klm-ensemble"]
    assert plan.account_equity == 100_000


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
