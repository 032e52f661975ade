"""The run's email and HTML report, built from the daily cycle's state models.

The report is one ``Document`` (title, alerts, facts, sections) rendered twice: as
HTML, where every value is escaped (book names, reasons and error messages are user or
third-party text), and as plain text, so the two parts of the email say the same.

A book's failure reason may be the JSON a Lambda error leaves in a Step Functions
Catch (``{"errorMessage": ..., "errorType": ...}``, possibly wrapped in
``{"Error": ..., "Cause": ...}``); it is shown as ``<type>: <message>``. A data source
whose description says "synthetic" is flagged in the subject and at the top, because
the demo market's prices are not market data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from alchemiser.cycle.models import (
    BookOutcome,
    BookStatus,
    CyclePlan,
    FailureNotice,
    NetOrder,
    OrderPlan,
    OrderResult,
    ReconcileResult,
)
from alchemiser.hedge.summary import HedgeSummary
from alchemiser.ledger.models import OrderState, RunRecord
from alchemiser.notify.port import Message
from alchemiser.reporting.document import (
    NONE,
    Document,
    Section,
    Table,
    money,
    positions,
    quantity,
    render_html,
    render_text,
    signed_money,
    weights,
)
from alchemiser.reporting.hedge_section import hedge_sections
from alchemiser.reporting.wording import order_outcome

_FAILED_BOOK = BookStatus.FAILED.value.upper()
_UNFILLED = (OrderState.FAILED, OrderState.SKIPPED)
_NOTHING_FILLED_WORDS = ("failed", "skipped")  # how order_outcome says these states
_STACK_LINES = 8
_ENDED = {"FAILED": "FAILED", "TIMED_OUT": "TIMED OUT", "ABORTED": "was ABORTED"}
_SUBJECT_SUMMARY_MAX = 120


class RunReport(BaseModel):
    """The rendered report: an email subject, its plain-text part and its HTML part."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    subject: str
    text: str
    html: str

    def message(self) -> Message:
        """Return the report as the notifier's Message."""
        return Message(subject=self.subject, text=self.text, html=self.html, run_id=self.run_id)


@dataclass(frozen=True)
class _Run:
    """Everything known about one run, as the report reads it."""

    plan: CyclePlan
    orders: OrderPlan | None
    reconcile: ReconcileResult | None
    failed: FailureNotice | None
    source: str

    @property
    def books(self) -> list[BookOutcome]:
        return self.reconcile.books if self.reconcile is not None else []

    @property
    def failed_books(self) -> list[BookOutcome]:
        return [b for b in self.books if b.status == BookStatus.FAILED]

    @property
    def planned_orders(self) -> list[NetOrder]:
        return [*self.orders.sell_orders, *self.orders.buy_orders] if self.orders else []

    @property
    def results(self) -> list[OrderResult]:
        return self.reconcile.orders if self.reconcile is not None else []

    @property
    def unfilled(self) -> list[OrderResult]:
        return [r for r in self.results if r.state in _UNFILLED]

    @property
    def blocked(self) -> list[str]:
        reasons = (self.plan.blocked_reason, self.orders.blocked_reason if self.orders else "")
        return list(dict.fromkeys(r for r in reasons if r))

    @property
    def status(self) -> str:
        if self.failed is not None:
            return "FAILED"
        if not self.plan.proceed:
            return "nothing to do"
        drift = self.reconcile is not None and bool(self.reconcile.drift)
        if self.failed_books or self.unfilled or drift or self.blocked:
            return "ATTENTION"
        return "OK"


def render_report(
    plan: CyclePlan,
    orders: OrderPlan | None,
    reconcile: ReconcileResult | None,
    *,
    data_source: str,
    failed: FailureNotice | None = None,
    hedge: HedgeSummary | None = None,
) -> RunReport:
    """Render the run's report from its plan, order plan and reconciliation (any may be partial)."""
    run = _Run(plan, orders, reconcile, failed, data_source or plan.data_source or "unknown")
    outcome = run.status if plan.proceed else f"{run.status}: {plan.reason or 'no reason given'}"
    facts = [
        ("Run", plan.run_id),
        ("Stage", plan.stage),
        ("Trading date", plan.trading_date.isoformat()),
        ("Data source", run.source),
        ("Outcome", outcome),
        ("Market", "open" if plan.market_open else "closed"),
        ("Account equity", money(plan.account_equity)),
    ]
    if plan.already_traded:
        facts.append(("Already traded", "yes: this re-run places no new orders"))
    sections = [
        _books_section(run),
        *_lines_section("Failed books", [_failed_book_line(b) for b in run.failed_books]),
        _orders_section(run),
        *_netting_section(run.orders),
        *hedge_sections(hedge),
        *_drift_section(run.reconcile),
        *_lines_section("Warnings", _warnings(run)),
        *_account_section(run.reconcile),
        *(_failure_sections(failed) if failed is not None else []),
    ]
    document = Document(
        title=f"Alchemiser {plan.stage} {plan.trading_date}: {run.status}",
        alerts=_alerts(run),
        facts=facts,
        sections=sections,
    )
    day = plan.trading_date.isoformat()
    subject = _subject(plan.stage, day, run.status, _summary(run), run.source)
    return _rendered(plan.run_id, subject, document)


def render_failure_report(
    failure: FailureNotice, *, data_source: str = "", run: RunRecord | None = None
) -> RunReport:
    """Render the email for a run the state machine stopped (NotifyFailure).

    ``run`` is the run's ledger record when there is one (a run can fail before it is
    recorded, e.g. on a bad configuration): it adds the trading date and attempts.
    """
    stage = failure.stage or (run.stage if run is not None else "")
    facts = [("Run", failure.run_id), ("Stage", stage or NONE)]
    if run is not None:
        facts += [
            ("Trading date", run.trading_date.isoformat()),
            ("Started", run.started_at.isoformat(timespec="seconds")),
            ("Attempts", str(run.attempts)),
        ]
    if data_source:
        facts.append(("Data source", data_source))
    alerts = [_synthetic_alert(data_source)] if is_synthetic_source(data_source) else []
    where = f" at {failure.failed_state}" if failure.failed_state else ""
    alerts.insert(
        0,
        f"The daily cycle {_ENDED.get(failure.status, 'FAILED')}{where} and stopped: the steps "
        "after it did not run. Orders already placed are in the ledger; fix the cause, then "
        "redrive the execution (it re-runs the failed step) or run the day again.",
    )
    document = Document(
        title=f"Alchemiser{f' {stage}' if stage else ''} run {failure.run_id}: FAILED",
        alerts=alerts,
        facts=facts,
        sections=_failure_sections(failure),
    )
    day = run.trading_date.isoformat() if run is not None else failure.run_id
    subject = _subject(stage, day, "FAILED", _headline(failure), data_source)
    return _rendered(failure.run_id, subject, document)


# -- sections --------------------------------------------------------------------------


def _books_section(run: _Run) -> Section:
    headers = ("Book", "Strategy", "Status", "Reason", "Target weights", "Positions", "Cash",
               "Equity", "P&L realised", "P&L unrealised", "P&L total")  # fmt: skip
    rows = [_book_row(b) for b in run.books] or [
        # Not reconciled (yet): the books the plan meant to evaluate.
        (t.book_id, t.strategy, "not evaluated", t.blocked_reason or NONE, *[NONE] * 7)
        for t in run.plan.books
    ]
    if not rows:
        return Section("Books", lines=["No book was planned for this run."])
    return Section("Books", table=Table(headers, rows, loud=frozenset({_FAILED_BOOK})))


def _book_row(book: BookOutcome) -> tuple[str, ...]:
    pnl = book.pnl
    return (
        book.book_id,
        book.strategy,
        _FAILED_BOOK if book.status == BookStatus.FAILED else book.status.value.replace("_", " "),
        readable_error(book.reason) or NONE,
        weights(book.target_weights),
        positions(book.positions),
        money(book.cash),
        money(book.equity),
        signed_money(pnl.realised) if pnl else NONE,
        signed_money(pnl.unrealised) if pnl else NONE,
        signed_money(pnl.total) if pnl else NONE,
    )


def _failed_book_line(book: BookOutcome) -> str:
    return f"{book.book_id} ({book.strategy}): {readable_error(book.reason) or 'no reason given'}"


def _orders_section(run: _Run) -> Section:
    headers = ("Symbol", "Side", "Qty", "Filled", "Avg price", "State", "Reason")
    planned = {o.client_order_id: o for o in run.planned_orders}
    rows = [
        (r.symbol, r.side.value, quantity(r.requested_qty), quantity(r.filled_qty),
         money(r.avg_price) if r.avg_price is not None else NONE, _order_words(r, planned),
         readable_error(r.reason) or NONE)
        for r in run.results
    ]  # fmt: skip
    if not rows and run.orders is not None:  # planned; not executed, or not reconciled
        rows = [
            (o.symbol, o.side.value, quantity(o.qty), NONE, NONE, OrderState.PLANNED.value, NONE)
            for o in run.planned_orders
        ]
    if not rows:
        return Section("Orders", lines=["No order."])
    loud = frozenset(_NOTHING_FILLED_WORDS)
    return Section("Orders", table=Table(headers, rows, loud=loud))


def _order_words(result: OrderResult, planned: dict[str, NetOrder]) -> str:
    order = planned.get(result.client_order_id)
    return order_outcome(
        result.side,
        result.requested_qty,
        order.ref_price if order is not None else None,
        result.filled_qty,
        result.avg_price,
        result.state,
    )


def _netting_section(orders: OrderPlan | None) -> list[Section]:
    if orders is None:
        return []
    netting = orders.netting
    lines = [
        f"{netting.book_trades} book trade(s) became {netting.orders} broker order(s); "
        f"notional saved by netting: {money(netting.notional_saved)}",
        *(
            f"Crossed inside the account: {quantity(c.qty)} {c.symbol} from {c.seller} to {c.buyer}"
            for c in orders.crosses
        ),
    ]
    return [Section("Netting", lines=lines)]


def _drift_section(reconcile: ReconcileResult | None) -> list[Section]:
    if reconcile is None:
        return []
    if not reconcile.drift:
        return [Section("Drift", lines=["Broker positions match the sum of the books."])]
    headers = ("Symbol", "Broker qty", "Books qty", "Difference", "Notional")
    rows = [
        (d.symbol, quantity(d.broker_qty), quantity(d.books_qty),
         quantity(d.broker_qty - d.books_qty), money(d.notional))
        for d in reconcile.drift
    ]  # fmt: skip
    return [Section("Drift", table=Table(headers, rows))]


def _account_section(reconcile: ReconcileResult | None) -> list[Section]:
    if reconcile is None:
        return []
    pnl = reconcile.account_pnl
    headers = ("P&L realised", "P&L unrealised", "P&L total")
    row = (signed_money(pnl.realised), signed_money(pnl.unrealised), signed_money(pnl.total))
    return [Section("Account", table=Table(headers, [row]))]


def _failure_sections(failure: FailureNotice) -> list[Section]:
    lines = [
        f"Execution: {failure.execution_name or NONE} ({failure.status})",
        f"Stopped at: {failure.failed_state or 'unknown'}",
        f"Error: {readable_error(failure.error) or 'unknown'}",
        f"Cause: {readable_error(failure.cause) or NONE}",
    ]
    cause = _json_object(failure.cause)
    stack = cause.get("stackTrace") if cause is not None else None
    if isinstance(stack, list) and stack:
        lines.append("Where (the last lines of the stack trace):")
        lines += [" ".join(str(frame).split()) for frame in stack[-_STACK_LINES:]]
    return [Section("Failure", lines=lines)]


def _lines_section(title: str, lines: list[str]) -> list[Section]:
    return [Section(title, lines=lines)] if lines else []


def _warnings(run: _Run) -> list[str]:
    found = [*run.plan.warnings, *(run.orders.warnings if run.orders else [])]
    found += run.reconcile.warnings if run.reconcile else []
    return list(dict.fromkeys(found))


def _alerts(run: _Run) -> list[str]:
    alerts = [_synthetic_alert(run.source)] if is_synthetic_source(run.source) else []
    if run.failed is not None:
        alerts.append(f"The run FAILED: {_headline(run.failed)}. See Failure below.")
    alerts += [
        f"Trading blocked: {reason}. The books were evaluated; nothing was traded."
        for reason in run.blocked
    ]
    if run.failed_books:
        names = ", ".join(b.book_id for b in run.failed_books)
        alerts.append(f"{len(run.failed_books)} book(s) failed and did not trade: {names}.")
    if run.unfilled:
        listed = ", ".join(f"{r.side.value} {r.symbol} ({r.state.value})" for r in run.unfilled)
        alerts.append(f"{len(run.unfilled)} order(s) failed or were skipped: {listed}.")
    return alerts


def _synthetic_alert(source: str) -> str:
    return (
        f"SYNTHETIC DATA: the prices come from {source}. They are not market data: the "
        "signals, orders and P&L in this report say nothing about real markets."
    )


def _summary(run: _Run) -> str:
    if run.failed is not None:
        return _headline(run.failed)
    if not run.plan.proceed:
        return run.plan.reason or "no trading today"
    failed = f" ({len(run.failed_books)} failed)" if run.failed_books else ""
    parts = [f"{len(run.books) or len(run.plan.books)} book(s){failed}"]
    planned = len(run.orders.sell_orders) + len(run.orders.buy_orders) if run.orders else 0
    parts.append(f"{len(run.results) or planned} order(s)")
    if run.reconcile is not None:
        parts.append(f"P&L {signed_money(run.reconcile.account_pnl.total)}")
    return ", ".join(parts)


def _headline(failure: FailureNotice) -> str:
    return readable_error(failure.cause) or readable_error(failure.error) or "unknown error"


def _subject(stage: str, day: str, status: str, summary: str, source: str) -> str:
    if len(summary) > _SUBJECT_SUMMARY_MAX:
        summary = summary[: _SUBJECT_SUMMARY_MAX - 3] + "..."
    flag = "[SYNTHETIC DATA] " if is_synthetic_source(source) else ""
    # One line: a newline in a header value would start a new header.
    return " ".join(f"{flag}[Alchemiser {stage}] {day} {status}: {summary}".split())


def _rendered(run_id: str, subject: str, document: Document) -> RunReport:
    return RunReport(
        run_id=run_id, subject=subject, text=render_text(document), html=render_html(document)
    )


# -- values ----------------------------------------------------------------------------


def is_synthetic_source(data_source: str) -> bool:
    """Say whether a data source description declares synthetic (not market) prices."""
    return "synthetic" in data_source.lower()


def readable_error(text: str) -> str:
    """Return ``<type>: <message>`` for a Lambda error JSON or a Catch's Error/Cause, else ``text``."""
    parsed = _json_object(text)
    if parsed is None:
        return " ".join(text.split())
    if "errorMessage" in parsed or "errorType" in parsed:
        kind = str(parsed.get("errorType") or "Error")
        message = " ".join(str(parsed.get("errorMessage") or "").split())
        return f"{kind}: {message}" if message else kind
    if "Error" in parsed or "Cause" in parsed:
        error = str(parsed.get("Error") or "")
        cause = readable_error(str(parsed.get("Cause") or ""))
        if not cause or not error or cause.startswith(f"{error}:"):
            return cause or error
        return f"{error}: {cause}"
    return " ".join(text.split())


def _json_object(text: str) -> dict[str, object] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None
