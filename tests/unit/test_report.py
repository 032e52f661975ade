"""The run report: what a person reads after each run, in HTML and in plain text."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from alchemiser.broker.models import OrderSide
from alchemiser.cycle.models import (
    AccountOutcome,
    BookOutcome,
    BookStatus,
    BookTask,
    Cross,
    CyclePlan,
    DriftLine,
    FailureNotice,
    NetOrder,
    NettingSummary,
    OrderPlan,
    OrderResult,
    Pnl,
    ReconcileResult,
)
from alchemiser.ledger.models import (
    BookAllocation,
    HedgeBookDay,
    OrderPhase,
    OrderState,
    RunRecord,
    RunStatus,
)
from alchemiser.notify.local import build_email
from alchemiser.reporting import RunReport, render_failure_report, render_report
from alchemiser.reporting.document import money, positions, quantity, signed_money, weights
from alchemiser.reporting.report import readable_error

RUN = "cycle-2026-07-31-dev"
DAY = date(2026, 7, 31)
DATA = "prices from /data/prices"
DEMO = "SYNTHETIC demo market (not market data): 54 tickers, weekdays 2019-01-02 to 2026-07-31"
LAMBDA_ERROR = json.dumps(
    {
        "errorMessage": "SPY 2026-07-30: stale: expected a close on 2026-07-31, latest close "
        "is 2026-07-30",
        "errorType": "DataError",
        "requestId": "6f1c0d5e",
        "stackTrace": ['  File "/var/task/app.py", line 31, in lambda_handler\n'],
    }
)


def plain(html: str) -> str:
    """Return the report's HTML without the phone layout's column labels on each cell."""
    return re.sub(r' data-label="[^"]*"', "", html)


def task(book_id: str, strategy: str, share: str) -> BookTask:
    return BookTask(
        run_id=RUN, stage="dev", trading_date=DAY, book_id=book_id, strategy=strategy,
        share=Decimal(share), account_equity=Decimal("100000"),
    )  # fmt: skip


def cycle_plan(**changes: object) -> CyclePlan:
    plan = CyclePlan(
        run_id=RUN,
        stage="dev",
        trading_date=DAY,
        market_open=True,
        proceed=True,
        run_at=datetime(2026, 7, 31, 19, 45, tzinfo=UTC),
        account_equity=Decimal("100000"),
        books=[
            task("tech", "tech_momentum_guarded.clj", "0.5"),
            task("nuclear", "nuclear_energy_rotation.clj", "0.3"),
            task("klm", "klm_ensemble.clj", "0.2"),
        ],
        data_source=DATA,
    )
    return plan.model_copy(update=changes)


def net_order(symbol: str, side: OrderSide, qty: str, price: str) -> NetOrder:
    phase = OrderPhase.SELL if side == OrderSide.SELL else OrderPhase.BUY
    return NetOrder(
        client_order_id=f"{RUN}-{phase.value}-{symbol}-{side.value}",
        run_id=RUN, trading_date=DAY, phase=phase, symbol=symbol, side=side,
        qty=Decimal(qty), ref_price=Decimal(price),
        allocations=[BookAllocation(book_id="tech", side=side, qty=Decimal(qty))],
    )  # fmt: skip


def order_plan(**changes: object) -> OrderPlan:
    plan = OrderPlan(
        run_id=RUN,
        trading_date=DAY,
        sell_orders=[net_order("TLT", OrderSide.SELL, "20", "88.10")],
        buy_orders=[net_order("TQQQ", OrderSide.BUY, "35.5", "74.20")],
        crosses=[Cross(symbol="SPY", qty=Decimal("3"), seller="nuclear", buyer="tech")],
        netting=NettingSummary(book_trades=5, orders=2, notional_saved=Decimal("1893.45")),
    )
    return plan.model_copy(update=changes)


def result(
    symbol: str, side: OrderSide, state: OrderState, filled: str, reason: str = ""
) -> OrderResult:
    return OrderResult(
        client_order_id=f"{RUN}-{side.value}-{symbol}", run_id=RUN,
        phase=OrderPhase.SELL if side == OrderSide.SELL else OrderPhase.BUY,
        symbol=symbol, side=side, requested_qty=Decimal("20"), filled_qty=Decimal(filled),
        avg_price=Decimal("88.07") if Decimal(filled) else None, state=state, reason=reason,
    )  # fmt: skip


def book(book_id: str, status: BookStatus, reason: str = "", **values: object) -> BookOutcome:
    return BookOutcome(
        book_id=book_id,
        strategy=f"{book_id}.clj",
        status=status,
        reason=reason,
        **values,
    )


def reconciled(books: list[BookOutcome], **changes: object) -> ReconcileResult:
    outcome = ReconcileResult(
        run_id=RUN,
        trading_date=DAY,
        books=books,
        orders=[
            result("TLT", OrderSide.SELL, OrderState.FILLED, "20"),
            result("TQQQ", OrderSide.BUY, OrderState.PARTIALLY_FILLED, "12.25", "walked the book"),
        ],
        account_pnl=Pnl(
            realised=Decimal("120.50"), unrealised=Decimal("-45.25"), total=Decimal("75.25")
        ),
    )
    return outcome.model_copy(update=changes)


TECH = book(
    "tech",
    BookStatus.PLANNED,
    target_weights={"TQQQ": Decimal("0.6"), "SPY": Decimal("0.4")},
    positions={"TQQQ": Decimal("35.50"), "SPY": Decimal("3")},
    cash=Decimal("12.34"),
    equity=Decimal("50012.34"),
    pnl=Pnl(realised=Decimal("100"), unrealised=Decimal("-20"), total=Decimal("80")),
)
NUCLEAR_FAILED = book("nuclear", BookStatus.FAILED, LAMBDA_ERROR)
KLM_HELD = book("klm", BookStatus.HELD, "inside the rebalance corridor")


def full_report(**kwargs: object) -> RunReport:
    return render_report(
        cycle_plan(),
        order_plan(),
        reconciled([TECH, NUCLEAR_FAILED, KLM_HELD]),
        data_source=str(kwargs.pop("data_source", DATA)),
        **kwargs,  # type: ignore[arg-type]
    )


# -- a normal day with one failed book -------------------------------------------------


def test_failed_book_appears_with_its_lambda_error_shown_as_type_and_message() -> None:
    # Given a run where one book's evaluation failed with a Lambda error JSON as reason
    # When the report is rendered
    report = full_report()

    # Then the book is named as failed with its error type and message, in both parts
    readable = (
        "DataError: SPY 2026-07-30: stale: expected a close on 2026-07-31, latest close is "
        "2026-07-30"
    )
    for part in (report.text, report.html):
        assert f"nuclear (nuclear.clj): {readable}" in part
        assert "1 book(s) failed and did not trade: nuclear." in part
        assert '"errorType"' not in part and "&quot;errorType&quot;" not in part
    assert '<td class="loud">FAILED</td>' in plain(report.html)
    # And the subject says the run needs attention
    assert report.subject == (
        "[Alchemiser dev] 2026-07-31 ATTENTION: 3 book(s) (1 failed), 2 order(s), P&L +$75.25"
    )


def test_books_table_shows_weights_positions_cash_equity_and_pnl() -> None:
    # Given a planned book holding TQQQ and SPY
    # When the report is rendered
    report = full_report()

    # Then its row carries every figure, formatted for people
    cells = [
        "tech", "tech.clj", "planned", "TQQQ 60.0%, SPY 40.0%", "SPY 3, TQQQ 35.5",
        "$12.34", "$50,012.34", "+$100.00", "-$20.00", "+$80.00",
    ]  # fmt: skip
    row = plain(report.html).split("<td>tech</td>", 1)[1].split("</tr>", 1)[0]
    for cell in cells[1:]:
        assert f"<td>{cell}</td>" in row
    # And the text part, too wide for columns, has one block per book with the same values
    assert "* tech\n    Strategy: tech.clj\n    Status: planned\n" in report.text
    assert "    Target weights: TQQQ 60.0%, SPY 40.0%\n" in report.text
    assert "    P&L total: +$80.00\n" in report.text


def test_orders_netting_and_account_pnl_are_reported() -> None:
    # Given executed orders, a netting summary with a cross, and the account's P&L
    report = full_report()

    # Then each order shows symbol, side, quantities, price, state and reason
    assert "<td>TQQQ</td><td>buy</td><td>20</td><td>12.25</td><td>$88.07</td>" in plain(report.html)
    assert "<td>61.2 % filled</td><td>walked the book</td>" in plain(report.html)
    text_orders = report.text.split("Orders\n------\n", 1)[1]
    assert text_orders.startswith("Symbol  Side  Qty  Filled  Avg price  State")
    assert "TLT     sell  20   20      $88.07     filled" in text_orders
    # And netting and account P&L are summarised in both parts
    for part in (report.text, report.html):
        assert (
            "5 book trade(s) became 2 broker order(s); notional saved by netting: $1,893.45" in part
        )
        assert "Crossed inside the account: 3 SPY from nuclear to tech" in part
        assert "Broker positions match the sum of the books." in part
    assert "<td>+$120.50</td><td>-$45.25</td><td>+$75.25</td>" in plain(report.html)


def test_drift_warnings_and_unfilled_orders_raise_attention() -> None:
    # Given drift between broker and books, warnings, and a skipped order
    skipped = result(
        "SOXL", OrderSide.BUY, OrderState.SKIPPED, "0", "circuit breaker: 2 sells failed"
    )
    outcome = reconciled(
        [TECH],
        orders=[skipped],
        drift=[
            DriftLine(
                symbol="SPY",
                broker_qty=Decimal("13"),
                books_qty=Decimal("10"),
                notional=Decimal("1920.00"),
            )
        ],
        warnings=["SVXY 2026-07-31: suspicious move"],
    )
    plan = cycle_plan(warnings=["SVXY 2026-07-31: suspicious move", "kill switch is off"])

    # When the report is rendered
    report = render_report(plan, order_plan(), outcome, data_source=DATA)

    # Then drift is a table, warnings are listed once, and the skipped order is called out
    assert "<td>SPY</td><td>13</td><td>10</td><td>3</td><td>$1,920.00</td>" in plain(report.html)
    assert report.text.count("- SVXY 2026-07-31: suspicious move") == 1
    assert "- kill switch is off" in report.text
    assert "1 order(s) failed or were skipped: buy SOXL (skipped)." in report.text
    assert "ATTENTION" in report.subject


def test_clean_day_is_ok_and_says_nothing_alarming() -> None:
    # Given every book planned, every order filled, no drift
    report = render_report(cycle_plan(), order_plan(), reconciled([TECH]), data_source=DATA)

    # Then the run is OK and no alert is shown
    assert report.subject.startswith("[Alchemiser dev] 2026-07-31 OK: 1 book(s), 2 order(s)")
    assert "!!" not in report.text
    assert 'class="alert"' not in report.html


# -- data source ------------------------------------------------------------------------


def test_synthetic_data_source_is_flagged_in_subject_and_at_the_top() -> None:
    # Given a run on the synthetic demo market
    # When the report is rendered
    report = full_report(data_source=DEMO)

    # Then the subject and the first alert say the prices are not market data
    assert report.subject.startswith("[SYNTHETIC DATA] [Alchemiser dev] 2026-07-31")
    first_alert = report.text.split("!! ", 1)[1].split("\n", 1)[0]
    assert first_alert.startswith(f"SYNTHETIC DATA: the prices come from {DEMO}.")
    assert '<div class="alert">SYNTHETIC DATA: the prices come from' in report.html
    assert f"Data source:    {DEMO}" in report.text


def test_real_data_source_is_not_flagged() -> None:
    report = full_report()
    assert "SYNTHETIC" not in report.subject + report.text + report.html
    assert f"Data source:    {DATA}" in report.text


def test_plan_data_source_is_used_when_none_is_given() -> None:
    report = render_report(cycle_plan(data_source=DEMO), None, None, data_source="")
    assert report.subject.startswith("[SYNTHETIC DATA]")


# -- escaping -----------------------------------------------------------------------------


def test_malicious_book_name_and_reason_are_escaped_in_html_and_kept_in_text() -> None:
    # Given a book whose name and reason carry markup
    evil = '<script>alert("x")</script>'
    hostile = book(evil, BookStatus.FAILED, "<img src=x onerror=alert(1)> & more")

    # When the report is rendered
    report = render_report(cycle_plan(), None, reconciled([hostile]), data_source=DATA)

    # Then the HTML holds no markup from the data, only its escaped text
    assert "<script>" not in report.html and "<img" not in report.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in report.html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in report.html
    # And the plain text keeps the text as it is
    assert f"{evil} ({evil}.clj): <img src=x onerror=alert(1)> & more" in report.text


def test_newline_in_a_reason_never_reaches_the_subject_as_a_header_break() -> None:
    failure = FailureNotice(run_id=RUN, stage="dev", error="DataError", cause="line one\nBcc: x@y")
    report = render_failure_report(failure)
    assert "\n" not in report.subject
    assert report.subject == f"[Alchemiser dev] {RUN} FAILED: line one Bcc: x@y"


# -- partial runs and failures ------------------------------------------------------------


def test_day_with_nothing_to_do_reports_the_reason() -> None:
    plan = cycle_plan(proceed=False, market_open=False, reason="market closed (holiday)", books=[])
    report = render_report(plan, None, None, data_source=DATA)
    assert report.subject == "[Alchemiser dev] 2026-07-31 nothing to do: market closed (holiday)"
    assert "Outcome:        nothing to do: market closed (holiday)" in report.text
    assert "No book was planned for this run." in report.text


def test_blocked_run_lists_books_as_not_evaluated_and_orders_as_planned() -> None:
    # Given a plan blocked by the kill switch, and an order plan without execution
    plan = cycle_plan(blocked_reason="kill switch on: broker maintenance")
    report = render_report(plan, order_plan(), None, data_source=DATA)

    # Then the block is loud, and books and orders are shown as not (yet) done
    assert "Trading blocked: kill switch on: broker maintenance." in report.text
    assert report.text.count("Trading blocked:") == 1
    assert "<td>tech</td><td>tech_momentum_guarded.clj</td><td>not evaluated</td>" in plain(
        report.html
    )
    assert "<td>TQQQ</td><td>buy</td><td>35.5</td><td>-</td><td>-</td><td>planned</td>" in plain(
        report.html
    )


def test_run_report_with_failure_shows_the_failure_section() -> None:
    failure = FailureNotice(run_id=RUN, stage="dev", error="States.TaskFailed", cause=LAMBDA_ERROR)
    report = render_report(cycle_plan(), order_plan(), None, data_source=DATA, failed=failure)
    assert report.subject.startswith("[Alchemiser dev] 2026-07-31 FAILED: DataError: SPY")
    assert "- Error: States.TaskFailed" in report.text
    assert "- Cause: DataError: SPY 2026-07-30: stale" in report.text


def test_failure_report_names_the_error_and_the_stack_trace_end() -> None:
    # Given the NotifyFailure input for a run stopped by an uncaught Lambda error
    failure = FailureNotice(run_id=RUN, stage="prod", error="DataError", cause=LAMBDA_ERROR)

    # When the failure report is rendered
    run = RunRecord(
        run_id=RUN, stage="prod", trading_date=DAY, status=RunStatus.STARTED, attempts=2,
        started_at=datetime(2026, 7, 31, 13, 0, tzinfo=UTC),
        updated_at=datetime(2026, 7, 31, 19, 46, tzinfo=UTC),
    )  # fmt: skip
    report = render_failure_report(failure, data_source=DATA, run=run)

    # Then it says the run failed, with the error readable and where it happened
    assert report.subject.startswith("[Alchemiser prod] 2026-07-31 FAILED: DataError: SPY")
    assert report.run_id == RUN
    assert "Attempts:     2\n" in report.text
    for part in (report.text, report.html):
        assert "The daily cycle FAILED and stopped" in part
        assert "Cause: DataError: SPY 2026-07-30: stale" in part
    assert '- File "/var/task/app.py", line 31, in lambda_handler\n' in report.text
    assert "<li>File &quot;/var/task/app.py&quot;, line 31, in lambda_handler</li>" in report.html


def test_report_becomes_the_notifier_message_of_its_run() -> None:
    report = full_report()
    message = report.message()
    assert (message.run_id, message.subject, message.text, message.html) == (
        RUN, report.subject, report.text, report.html,
    )  # fmt: skip


def test_report_html_is_a_valid_email_part() -> None:
    # Given a rendered report carried in a MIME email
    email = build_email(full_report().message(), "a@example.com", ["b@example.com"])
    parsed = message_from_bytes(email.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    [html_part] = [p for p in parsed.walk() if p.get_content_type() == "text/html"]
    # Then the HTML survives the round trip as UTF-8
    assert isinstance(html_part, EmailMessage)
    assert "nuclear (nuclear.clj): DataError" in html_part.get_content()


# -- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (LAMBDA_ERROR, "DataError: SPY 2026-07-30: stale: expected a close on 2026-07-31, "
                       "latest close is 2026-07-30"),
        (json.dumps({"Error": "DataError", "Cause": LAMBDA_ERROR}),
         "DataError: SPY 2026-07-30: stale: expected a close on 2026-07-31, latest close is 2026-07-30"),
        (json.dumps({"Error": "States.Timeout", "Cause": "Task timed out after 60 s"}),
         "States.Timeout: Task timed out after 60 s"),
        (json.dumps({"errorType": "KeyError"}), "KeyError"),
        ("{not json", "{not json"),
        ('{"other": 1}', '{"other": 1}'),
        ("inside the rebalance corridor", "inside the rebalance corridor"),
        ("", ""),
    ],
)  # fmt: skip
def test_readable_error_shows_type_and_message(raw: str, shown: str) -> None:
    assert readable_error(raw) == shown


def test_values_are_formatted_for_people() -> None:
    assert money(Decimal("-1234.5")) == "-$1,234.50"
    assert signed_money(Decimal("0")) == "+$0.00"
    assert quantity(Decimal("10.000")) == "10"
    assert quantity(Decimal("1E+2")) == "100"
    assert quantity(Decimal("0.000")) == "0"
    assert weights({"B": Decimal("0.25"), "A": Decimal("0.25"), "C": Decimal("0.5")}) == (
        "C 50.0%, A 25.0%, B 25.0%"
    )
    assert positions({}) == "-"


def test_each_cell_carries_its_columns_name_for_the_phone_layout() -> None:
    # On a narrow screen a table turns into cards: each cell shows its column's name
    report = full_report()
    assert '<td data-label="Symbol">TQQQ</td><td data-label="Side">buy</td>' in report.html
    assert "@media (max-width:600px)" in report.html


def test_the_hedge_book_is_reported_beside_the_pool_and_the_books() -> None:
    # Given a day whose account holds a hedge book
    hedge = HedgeBookDay(
        cash=Decimal("61.00"), options=Decimal("433.50"), nav=Decimal("494.50"),
        transfers=Decimal("500.00"), premium_month=Decimal("439.00"),
        premium_year=Decimal("439.00"), twr_day=Decimal("-0.011"), twr_inception=Decimal("-0.011"),
    )  # fmt: skip
    account = AccountOutcome(
        pool=Decimal(0), nav=Decimal("99973.67"), broker_equity=Decimal("99973.67"),
        unexplained=Decimal(0), hedge=hedge,
    )  # fmt: skip
    outcome = reconciled([TECH], account=account)
    report = render_report(cycle_plan(), order_plan(), outcome, data_source=DATA)
    # Then both parts show its NAV, cash, options, funding, premium and returns
    for part in (report.text, plain(report.html)):
        assert "Hedge book" in part and "NAV (pool + books + hedge)" in part
    row = "<td>$494.50</td><td>$61.00</td><td>$433.50</td><td>+$500.00</td><td>$439.00</td>"
    assert row in plain(report.html)
