"""The Hedge step's view of the account: NAV, the underlying, its spot and the books' delta.

Each live book of the run (``runs/<run>/day.json``) is evaluated over its whole price
history with the engine, so its target-allocation return stream is what its targets
earned day by day (``hedge.exposure``); a book's NAV is its own (its latest snapshot,
plus the capital moved in today; a book funded today: its cash). Shadow books hold
nothing at the broker and retired books are being sold today: neither is hedged. A
live book that cannot be evaluated (its symphony, its data) leaves the exposure
unknown, so the hedge refuses the day (a ``DataError`` naming the book) rather than
hedge a part of the account. The estimate is fixed once per day, under the day's first
run (``runs/<first run>/hedge-exposure.json``): a retry, re-run, redrive or retry run
hedges the same exposure even if today's last price has moved. A book's NAV is the one
it had before today's trades whenever it is read, so an estimate made after the first
run's Reconcile (its hedge failed before estimating) is the one the first run would
have made.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from alchemiser.cycle.artifacts import get_model, put_model
from alchemiser.cycle.hedge_models import BookBeta, RunExposure, exposure_key
from alchemiser.cycle.models import BookMode, BookTask
from alchemiser.dsl.engine import evaluate_history
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import Program, compile_symphony
from alchemiser.dsl.source import SymphonyError
from alchemiser.errors import DataError
from alchemiser.hedge.exposure import allocation_stream, daily_returns, estimate_exposure
from alchemiser.hedge.policy import CANDIDATE_UNDERLYINGS, HedgeUnderlying
from alchemiser.market.history import MissingTickersError
from alchemiser.money import to_decimal
from alchemiser.runtime import Dependencies


def run_exposure(
    deps: Dependencies,
    run_id: str,
    day: date,
    books: list[BookTask],
    nav: Decimal,
    policy: HedgeUnderlying,
    current: str | None,
) -> RunExposure:
    """Return the run's fixed exposure, estimating (and storing) it on the first call."""
    key = exposure_key(run_id)
    try:
        return get_model(deps.store, key, RunExposure)
    except FileNotFoundError:
        pass
    exposure = estimate_run_exposure(deps, run_id, day, books, nav, policy, current)
    put_model(deps.store, key, exposure)
    return exposure


def estimate_run_exposure(
    deps: Dependencies,
    run_id: str,
    day: date,
    books: list[BookTask],
    nav: Decimal,
    policy: HedgeUnderlying,
    current: str | None,
) -> RunExposure:
    """Estimate the books' dollar delta to the hedge underlying from their return streams."""
    books = [b for b in books if b.mode is BookMode.LIVE]
    if not books:
        raise DataError(f"run {run_id} has no live books: nothing to hedge")
    programs = {b.book_id: _program(deps, b) for b in books}
    tickers = sorted({t for p in programs.values() for t in p.tickers} | set(CANDIDATE_UNDERLYINGS))
    try:
        history = deps.market.history(tickers, day)
    except MissingTickersError as error:
        raise DataError(f"the books' prices are incomplete: {error}") from error
    if len(history.dates) == 0 or history.dates[-1] != np.datetime64(day, "D"):
        raise DataError(f"no prices for {day}: the hedge cannot estimate today's exposure")
    streams = {
        book_id: allocation_stream(evaluate_history(program, history), history)
        for book_id, program in programs.items()
    }
    navs = {b.book_id: _book_nav(deps, b) for b in books}
    underlyings = {u: daily_returns(history.column(u)) for u in CANDIDATE_UNDERLYINGS}
    row = len(history.dates) - 1
    estimate = estimate_exposure(streams, navs, underlyings, row, policy, current=current)
    spot = to_decimal(float(history.column(estimate.underlying)[row])).quantize(Decimal("0.0001"))
    return RunExposure(
        run_id=run_id, day=day, nav=nav, underlying=estimate.underlying, spot=spot,
        equity_delta=estimate.equity_delta,
        books=[
            BookBeta(book_id=b.book_id, nav=b.nav, beta=b.fit.beta, r2=b.fit.r2, days=b.fit.days,
                     delta=b.delta)
            for b in estimate.books
        ],
        r2={u: _finite(f.r2) for u, f in estimate.account_fits.items()},
    )  # fmt: skip


def _program(deps: Dependencies, book: BookTask) -> Program:
    """Return the book's compiled symphony; a DataError naming the book if it cannot be."""
    try:
        return compile_symphony(load_symphony(deps.strategies_dir / book.strategy))
    except (SymphonyError, OSError) as error:
        raise DataError(f"book {book.book_id} ({book.strategy}): {error}") from error


def _book_nav(deps: Dependencies, book: BookTask) -> Decimal:
    """Return the book's own NAV before today's trades: its last snapshot and today's transfers.

    The last snapshot before today, even when today's Reconcile has written one (a retry
    run's hedge): today's is after today's trades. A book with no snapshot before today
    (funded today) holds only its cash.
    """
    last = deps.ledger.latest_snapshot(book.book_id, book.trading_date - timedelta(days=1))
    if last is None:
        return book.cash
    moved = sum(
        (
            (t.amount if t.destination == book.book_id else -t.amount)
            for t in deps.ledger.transfers_on(book.trading_date)
            if book.book_id in (t.source, t.destination)
        ),
        Decimal(0),
    )
    return last.equity + moved


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


__all__ = ["BookBeta", "RunExposure", "estimate_run_exposure", "exposure_key", "run_exposure"]
