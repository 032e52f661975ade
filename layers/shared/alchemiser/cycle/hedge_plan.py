"""HedgePlan: the first state of the Hedge branch, everything the option walks must not wait on.

In order:

1. the stage's ``hedge:`` policy (none: hedging is off, nothing else is read);
2. a kill switch that is on (the global one or the hedge's): nothing is estimated;
3. the account's exposure, fixed once per day (``cycle.hedge_exposure``: every live
   book's symphony evaluated over its history with the engine); a book that cannot be
   evaluated is a refusal with its reason, not an error;
4. the closes HedgeExecute may need: today's close of each candidate and held
   underlying, and the close on each expiry a held or journaled hedge has passed (it is
   settled at intrinsic value).

The plan is stored as ``runs/<run>/hedge-plan.json`` (every attempt: it is the same
exposure, read back) and its key returned. HedgeExecute (``cycle.hedge_step``) trades on
it in a function of its own, with its own timeout, that loads neither the engine nor the
price history.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aws_lambda_powertools.utilities.typing import LambdaContext

from alchemiser.books.config import load_hedge_policy
from alchemiser.broker.options_models import parse_occ
from alchemiser.cycle.artifacts import put_model
from alchemiser.cycle.hedge_exposure import run_exposure
from alchemiser.cycle.hedge_models import HedgePlanned, days_first_run, hedge_plan_key
from alchemiser.cycle.hedge_step import halt_reason
from alchemiser.cycle.messages import HedgePlanRef, RunRef
from alchemiser.cycle.models import CyclePlan
from alchemiser.errors import ConfigurationError, DataError
from alchemiser.hedge.policy import CANDIDATE_UNDERLYINGS, HedgePolicy
from alchemiser.ledger.hedge_store import HedgeBookRecord
from alchemiser.market.history import MissingTickersError
from alchemiser.money import to_decimal
from alchemiser.runtime import Dependencies


def plan_hedge(
    ref: RunRef, deps: Dependencies, context: LambdaContext | None = None
) -> HedgePlanRef:
    """Fix what the hedge of ``ref``'s run trades on; store it; return its key."""
    deps.faults.enter("HedgePlan")
    day = days_first_run(deps.store, ref.run_id)
    policy = load_hedge_policy(deps.strategies_dir / deps.settings.books_file, day.stage)
    planned = HedgePlanned(run_id=ref.run_id, policy=policy)
    if policy is not None:
        planned = _planned(deps, ref.run_id, day, policy)
    key = hedge_plan_key(ref.run_id)
    put_model(deps.store, key, planned)
    return HedgePlanRef(run_id=ref.run_id, hedge_plan_key=key)


def _planned(deps: Dependencies, run_id: str, day: CyclePlan, policy: HedgePolicy) -> HedgePlanned:
    store = deps.hedge_store
    if store is None or deps.options is None:
        raise ConfigurationError(
            f"stage {day.stage} has a hedge policy but this runtime has no options broker "
            "or hedge store"
        )
    deps.faults.inside("HedgePlan")
    book = store.load_book()
    closes = _closes(deps, book, day.trading_date)
    halt = halt_reason(deps, store.hedge_switch())
    if halt:
        return HedgePlanned(run_id=run_id, policy=policy, halted=halt, closes=closes)
    held = book.state.hedges[0].underlying if book.state.hedges else None
    try:
        exposure = run_exposure(
            deps, day.run_id, day.trading_date, list(day.books), day.account_equity,
            policy.underlying, held,
        )  # fmt: skip
    except DataError as error:
        return HedgePlanned(
            run_id=run_id, policy=policy, refusal=f"no exposure estimate: {error}", closes=closes
        )
    return HedgePlanned(run_id=run_id, policy=policy, exposure=exposure, closes=closes)


def _closes(
    deps: Dependencies, book: HedgeBookRecord, today: date
) -> dict[str, dict[date, Decimal]]:
    """Return the closes the hedge may need: today's, and each passed expiry's, per underlying."""
    symbols = [leg.symbol for h in book.state.hedges for leg in h.legs]
    symbols += [leg.symbol for intent in book.pending for leg in intent.legs]
    contracts = [parse_occ(s) for s in symbols]
    wanted: dict[str, set[date]] = {u: {today} for u in CANDIDATE_UNDERLYINGS}
    for contract in contracts:
        days = wanted.setdefault(contract.underlying, {today})
        if contract.expiry < today:
            days.add(contract.expiry)
    closes: dict[str, dict[date, Decimal]] = {}
    for underlying, days in wanted.items():
        found = {d: c for d in sorted(days) if (c := _close_of(deps, underlying, d)) is not None}
        if found:
            closes[underlying] = found
    return closes


def _close_of(deps: Dependencies, underlying: str, day: date) -> Decimal | None:
    """Return ``underlying``'s close on ``day``, None when the data has none that day."""
    try:
        history = deps.market.history([underlying], day)
    except MissingTickersError:
        return None
    if len(history.dates) == 0 or history.day(len(history.dates) - 1) != day:
        return None
    return to_decimal(float(history.column(underlying)[-1])).quantize(Decimal("0.0001"))
