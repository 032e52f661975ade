"""What the Hedge branch's two steps store and pass: the day's exposure and the hedge plan.

HedgePlan (``cycle.hedge_plan``) needs the engine and the price history: it fixes the
day's exposure and reads the closes the hedge may need, and stores them with the policy
as ``runs/<run>/hedge-plan.json``. HedgeExecute (``cycle.hedge_step``) walks the option
orders with none of that loaded: it reads this plan. The models live here, apart from
both, so HedgeExecute imports neither numpy nor the engine.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from alchemiser.cycle.artifacts import RunArtifacts
from alchemiser.cycle.days import run_id_for
from alchemiser.cycle.models import CyclePlan
from alchemiser.hedge.policy import HedgePolicy
from alchemiser.storage.port import ObjectStore


class BookBeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    book_id: str
    nav: Decimal
    beta: float
    r2: float
    days: int
    delta: Decimal


class RunExposure(BaseModel):
    """The account's exposure as the hedge estimated it for one day (its first run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    day: date
    nav: Decimal
    underlying: str
    spot: Decimal
    equity_delta: Decimal
    books: list[BookBeta]
    r2: dict[str, float | None]  # per candidate underlying, of the NAV-weighted stream


class HedgePlanned(BaseModel):
    """HedgePlan's output for one run: the policy, the exposure or why there is none, closes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    policy: HedgePolicy | None  # None: hedging is off for the stage
    exposure: RunExposure | None = None
    refusal: str = ""  # why there is no exposure (a book's data, its symphony)
    halted: str = ""  # a kill switch was on when planned: no exposure was estimated
    closes: dict[str, dict[date, Decimal]] = {}  # underlying -> day -> close


def exposure_key(run_id: str) -> str:
    return f"runs/{run_id}/hedge-exposure.json"


def hedge_plan_key(run_id: str) -> str:
    return f"runs/{run_id}/hedge-plan.json"


def days_first_run(store: ObjectStore, run_id: str) -> CyclePlan:
    """Return the plan of the day's first run, whose books and equity the hedge works with.

    The hedge is the day's, not the run's: a retry run hedges under the first run's id.
    """
    day = RunArtifacts(store, run_id).day()
    first = run_id_for(day.stage, day.trading_date)
    return day if first == run_id else RunArtifacts(store, first).day()
