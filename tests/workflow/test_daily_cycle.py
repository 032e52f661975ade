"""The whole daily cycle, run locally: the deployed state machine on moto, real handlers,
the simulated broker and the SQLite ledger, on real prices."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.cli import main
from alchemiser.ledger.models import RunStatus
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.conftest import PRICES_DIR
from tests.workflow.conftest import RunCycle, all_prices, book_positions, broker_orders

DAY = date(2024, 3, 14)
MAIN_STATES = [
    "PlanCycle",
    "ShouldTrade",
    "WaitForRunTime",
    "EvaluateBooks",
    "PlanOrders",
    "ExecuteAndHedge",
    "Reconcile",
    "Notify",
    "Done",
]
EXECUTION_BRANCH = ["ExecuteSells", "CheckSells", "BuysAllowed", "ExecuteBuys", "ExecutionDone"]


def broker_positions(home: Path) -> dict[str, Decimal]:
    broker = SimulatedBroker(home / "broker.sqlite3", all_prices())
    return {p.symbol: p.qty for p in broker.positions()}


def total_of(books: dict[str, dict[str, Decimal]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for positions in books.values():
        for symbol, qty in positions.items():
            out[symbol] = out.get(symbol, Decimal(0)) + qty
    return out


def in_order(entered: list[str], expected: list[str]) -> bool:
    positions = [entered.index(state) for state in expected]
    return positions == sorted(positions)


def test_a_past_day_runs_every_state_in_order_and_the_books_add_up_to_the_broker(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given a fresh simulated account and real prices
    # When the cycle runs for a past trading day
    run, summary = cycle(DAY)

    # Then the execution succeeded, entering every state in the order of the state machine
    entered = run.execution.states_entered()
    assert run.execution.status == "SUCCEEDED", summary["message"]
    assert in_order(entered, MAIN_STATES)
    assert in_order(entered, EXECUTION_BRANCH)
    assert entered.count("EvaluateBook") == 3
    walks = entered.count("ExecuteSellOrder") + entered.count("ExecuteBuyOrder")
    assert walks == len(summary["orders"]) > 0
    assert {"HedgePlan", "HedgeExecute"} <= set(entered) and "HedgeFailed" not in entered
    # And every planned order filled, and the ledger's books add up to the broker exactly
    home = tmp_path / "home"
    assert {o["status"] for o in summary["orders"]} == {"filled"}
    assert (
        summary["warnings"] == []
    )  # a filled order's note (e.g. capped by its cash) is no warning
    books = book_positions(home)
    assert set(books) == {"nuclear", "tech-momentum", "klm-ensemble"}
    assert total_of(books) == broker_positions(home)
    # And each book holds its own targets, sized to its share of the account (within costs)
    for book in summary["books"]:
        held = set(books[book["book_id"]])
        assert held == set(book["target_weights"]), book["book_id"]
        assert Decimal(book["equity"]) == pytest.approx(
            Decimal(book["capital"]), rel=Decimal("0.002")
        )
    # And the run is recorded as completed, with its report, email and history on disk
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    record = ledger.get_run(run.run_id)
    assert record is not None and record.status is RunStatus.COMPLETED
    assert Path(summary["report"]).is_file()
    assert (home / "outbox" / f"{run.run_id}.eml").is_file()
    saved = json.loads(run.history_path.read_text())
    assert saved["states_entered"] == entered


def test_running_the_same_day_again_places_no_new_orders(cycle: RunCycle, tmp_path: Path) -> None:
    # Given a day already traded
    cycle(DAY)
    before = broker_orders(tmp_path / "home")
    # When the same day is run again
    run, summary = cycle(DAY)
    # Then it succeeds without trading, and says the day was already traded
    assert summary["status"] == "SUCCEEDED"
    assert summary["orders"] == []
    assert summary["already_traded"] is True
    assert "already traded" in summary["message"]
    assert run.execution.states_entered() == ["PlanCycle", "ShouldTrade", "NothingToDo"]
    assert broker_orders(tmp_path / "home") == before


def test_consecutive_days_carry_each_books_positions_forward(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given three consecutive trading days run in order
    home = tmp_path / "home"
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    previous: dict[str, dict[str, Decimal]] = {}
    for day in (date(2024, 3, 13), date(2024, 3, 14), date(2024, 3, 15)):
        run, summary = cycle(day)
        assert summary["status"] == "SUCCEEDED", summary["message"]
        # Then each day's positions are the previous day's plus that day's fills, per book
        expected = {book: dict(positions) for book, positions in previous.items()}
        for fill in ledger.fills(run.run_id):
            book = expected.setdefault(fill.book_id, {})
            signed = fill.qty if fill.side.value == "buy" else -fill.qty
            book[fill.symbol] = book.get(fill.symbol, Decimal(0)) + signed
        expected = {b: {s: q for s, q in p.items() if q != 0} for b, p in expected.items()}
        now = book_positions(home)
        assert now == expected, day
        assert total_of(now) == broker_positions(home)
        previous = now


def test_a_failing_book_is_reported_and_the_other_books_still_trade(
    cycle: RunCycle, tmp_path: Path
) -> None:
    # Given the house books plus one whose strategy needs a ticker without any data
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    house = Path(__file__).resolve().parents[2] / "strategies"
    for name in ("nuclear_energy_rotation.clj", "tech_momentum_guarded.clj"):
        (strategies / name).write_text((house / name).read_text())
    (strategies / "broken.clj").write_text(
        '(defsymphony "Needs missing data" {} (weight-equal [(asset "SPY") (asset "NODATA")]))'
    )
    (strategies / "books.yaml").write_text(
        "stages:\n  dev:\n    books:\n"
        "      - {id: nuclear, strategy: nuclear_energy_rotation.clj, share: 0.4}\n"
        "      - {id: broken, strategy: broken.clj, share: 0.2}\n"
        "      - {id: tech-momentum, strategy: tech_momentum_guarded.clj, share: 0.4}\n"
    )
    # When the cycle runs
    run, summary = cycle(DAY, strategies_dir=strategies)
    # Then the run succeeds; the broken book failed, the others planned and traded
    assert summary["status"] == "SUCCEEDED"
    status = {b["book_id"]: b for b in summary["books"]}
    assert status["broken"]["status"] == "failed"
    assert "NODATA" in status["broken"]["reason"]
    assert status["nuclear"]["status"] == status["tech-momentum"]["status"] == "traded"
    traded = {o["symbol"] for o in summary["orders"] if o["status"] == "filled"}
    assert traded >= set(status["nuclear"]["target_weights"]) | set(
        status["tech-momentum"]["target_weights"]
    )
    assert "SPY" not in traded
    # And the notification names the failed book and why
    email = (tmp_path / "home" / "outbox" / f"{run.run_id}.eml").read_text()
    assert "broken" in email and "NODATA" in email


def test_the_cli_prints_the_documented_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the project directory as the working directory
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    # When `alchemiser run --json` replays a day on real prices
    code = main(
        [
            "run",
            "--date",
            DAY.isoformat(),
            "--data",
            str(PRICES_DIR),
            "--home",
            str(tmp_path / "h"),
            "--json",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    # Then it prints the documented object
    assert code == 0
    assert payload["status"] == "SUCCEEDED"
    assert payload["run_id"] == "cycle-2024-03-14-dev"
    assert payload["trading_date"] == "2024-03-14"
    assert {"books", "orders", "report", "netting"} <= set(payload)
    assert set(payload["netting"]) == {"book_trades", "orders", "notional_saved"}
    order_keys = {
        "symbol",
        "side",
        "qty",
        "notional",
        "client_order_id",
        "status",
        "filled_qty",
        "avg_price",
    }
    assert payload["orders"] and all(order_keys <= set(o) for o in payload["orders"])
    assert all(set(b["pnl"]) == {"realised", "unrealised", "total"} for b in payload["books"])


def test_without_data_the_cycle_runs_on_the_synthetic_demo_market_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    code = main(["run", "--home", str(tmp_path / "demo")])
    out = capsys.readouterr().out
    assert code == 0
    assert "SYNTHETIC demo market" in out
    report = next((tmp_path / "demo" / "reports").glob("*.html")).read_text()
    assert "SYNTHETIC" in report


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--stage", "nosuch"],
            "stage 'nosuch' is not configured; configured stages: dev, prod, staging",
        ),
        (["--fail-at", "Nope"], "unknown state 'Nope'"),
        (["--data", "no-such-dir"], "no-such-dir: does not exist (expected a directory"),
        (
            ["--date", "2024-03-16", "--data", str(PRICES_DIR)],
            "2024-03-16 is not a trading day in the data",
        ),
    ],
)
def test_a_bad_run_request_is_one_clear_error_line(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    code = main(["run", "--home", str(tmp_path / "h"), *argv])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err
