"""The Ledger contract, run unchanged against both adapters.

``ledger`` is parametrised: SQLite in ``tmp_path`` and DynamoDB under moto (the table
created with the documented key schema, and queries capped at 2 items a page so
every listing below spans several pages). Adapter-specific behaviour (threads for
SQLite; pagination counts, retries and error mapping for DynamoDB) follows at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from alchemiser.broker.models import OrderSide
from alchemiser.errors import TransientError
from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.lots import FillConflictError, OversellError
from alchemiser.ledger.models import (
    BookAllocation,
    BookSnapshot,
    FillRecord,
    FillSource,
    KillSwitch,
    Lot,
    OrderPhase,
    OrderRecord,
    OrderState,
    RunRecord,
    RunStatus,
)
from alchemiser.ledger.port import Ledger
from alchemiser.ledger.sqlite import SQLiteLedger

TABLE = "alchemiser-ledger-test"
REGION = "us-east-1"
PAGE_SIZE = 2
DAY = date(2024, 3, 4)
RUN = "cycle-2024-03-04-dev"
NOW = datetime(2024, 3, 4, 20, 45, tzinfo=UTC)


def create_ledger_table(client: Any, name: str = TABLE) -> None:
    """Create the ledger table exactly as documented: pk/sk, gsi1 (ALL), TTL on ``ttl``."""
    strings = ("pk", "sk", "gsi1pk", "gsi1sk")
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in strings],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )


def dynamodb_client() -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def run(
    run_id: str = RUN, *, stage: str = "dev", day: date = DAY, status: RunStatus = RunStatus.STARTED
) -> RunRecord:
    return RunRecord(
        run_id=run_id, stage=stage, trading_date=day, status=status, started_at=NOW, updated_at=NOW
    )


def order(client_order_id: str, run_id: str = RUN) -> OrderRecord:
    return OrderRecord(
        client_order_id=client_order_id,
        run_id=run_id,
        trading_date=DAY,
        phase=OrderPhase.BUY,
        symbol="GLD",
        side=OrderSide.BUY,
        qty=Decimal("12.345678901"),
        ref_price=Decimal("187.23"),
        state=OrderState.FILLED,
        filled_qty=Decimal("12.345678901"),
        avg_fill_price=Decimal("187.2299999"),
        broker_order_ids=("b-1", "b-2"),
        allocations=(
            BookAllocation(book_id="gold", side=OrderSide.BUY, qty=Decimal("10.345678901")),
            BookAllocation(book_id="tech", side=OrderSide.BUY, qty=Decimal(2)),
        ),
    )


def fill(
    fill_id: str,
    side: OrderSide,
    qty: str,
    price: str,
    *,
    book: str = "gold",
    symbol: str = "GLD",
    day: date = DAY,
    run_id: str = RUN,
) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        run_id=run_id,
        trading_date=day,
        book_id=book,
        symbol=symbol,
        side=side,
        qty=Decimal(qty),
        price=Decimal(price),
        source=FillSource.MARKET,
        client_order_id=f"{run_id}-{symbol}",
    )


def snapshot(book: str, day: date, equity: str = "1000") -> BookSnapshot:
    return BookSnapshot(
        book_id=book,
        trading_date=day,
        run_id=f"cycle-{day}-dev",
        capital=Decimal(1000),
        cash=Decimal("100.01"),
        positions={"GLD": Decimal("4.5")},
        prices={"GLD": Decimal("199.9978")},
        market_value=Decimal("899.9901"),
        equity=Decimal(equity),
        cost_basis=Decimal(900),
        realised_pnl=Decimal(0),
        unrealised_pnl=Decimal("-0.0099"),
    )


# -- runs, orders, kill switch -----------------------------------------------------------


def test_a_run_round_trips_and_an_update_replaces_it(ledger: Ledger) -> None:
    # Given no run / When one is stored, then stored again as completed
    assert ledger.get_run(RUN) is None
    ledger.put_run(run())
    completed = run(status=RunStatus.COMPLETED).model_copy(update={"attempts": 2, "message": "ok"})
    ledger.put_run(completed)

    # Then the latest version comes back, equal field for field
    assert ledger.get_run(RUN) == completed


def claim(execution: str, attempts: int = 1) -> RunRecord:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:cycle:{execution}"
    return run().model_copy(
        update={"execution_name": execution, "execution_arn": arn, "attempts": attempts}
    )


def test_claiming_a_run_is_one_conditional_write_on_the_attempts_read(
    make_ledger: Callable[[], Ledger],
) -> None:
    # Given two executions that both read "no run yet" for the day
    first, second = make_ledger(), make_ledger()
    assert first.get_run(RUN) is None and second.get_run(RUN) is None
    # When both claim it, each conditioned on what it read
    won = first.claim_run(claim("a"), expected_attempts=0)
    lost = second.claim_run(claim("b"), expected_attempts=0)
    # Then exactly the first write lands; the second changes nothing
    assert (won, lost) == (True, False)
    stored = second.get_run(RUN)
    assert stored is not None and (stored.execution_name, stored.attempts) == ("a", 1)
    # And a later claim must name the attempts it read: a stale read loses
    assert not second.claim_run(claim("c", attempts=3), expected_attempts=2)
    assert second.claim_run(claim("c", attempts=2), expected_attempts=1)
    stored = first.get_run(RUN)
    assert stored is not None and (stored.execution_name, stored.attempts) == ("c", 2)


def test_only_the_owning_execution_settles_a_run(ledger: Ledger) -> None:
    # Given a run claimed by execution "b"
    assert ledger.claim_run(claim("b"), expected_attempts=0)
    later = NOW + timedelta(hours=1)
    # When an execution that lost the day reports, then the owner does
    stray = ledger.finish_run(RUN, claim("a").execution_arn, RunStatus.FAILED, "late", later)
    owner = ledger.finish_run(RUN, claim("b").execution_arn, RunStatus.BLOCKED, "kill", later)
    # Then only the owner's word counts
    assert (stray, owner) == (False, True)
    stored = ledger.get_run(RUN)
    assert stored is not None
    assert (stored.status, stored.message, stored.updated_at) == (RunStatus.BLOCKED, "kill", later)
    assert (stored.execution_name, stored.attempts) == ("b", 1)
    # And a run that was never claimed is not created by a report
    assert not ledger.finish_run("cycle-2024-03-05-dev", "", RunStatus.FAILED, "x", later)
    assert ledger.get_run("cycle-2024-03-05-dev") is None


def test_runs_of_a_stage_come_back_all_pages_in_date_order(ledger: Ledger) -> None:
    # Given five dev runs stored out of order and one prod run
    days = [DAY + timedelta(days=n) for n in (3, 0, 4, 1, 2)]
    for day in days:
        ledger.put_run(run(f"cycle-{day}-dev", day=day))
    ledger.put_run(run("cycle-2024-03-04-prod", stage="prod"))

    # When the dev runs are listed
    listed = ledger.runs("dev")

    # Then all five come back (three pages of two), oldest first, and no prod run
    assert [r.trading_date for r in listed] == sorted(days)
    assert [r.run_id for r in ledger.runs("prod")] == ["cycle-2024-03-04-prod"]
    assert ledger.runs("staging") == []


def test_orders_round_trip_exactly_and_list_per_run(ledger: Ledger) -> None:
    # Given five orders of one run and one of another
    ids = [f"{RUN}-buy-{symbol}" for symbol in ("SPY", "GLD", "TLT", "QQQ", "IWM")]
    for client_order_id in ids:
        ledger.put_order(order(client_order_id))
    ledger.put_order(order("other-run-buy-GLD", run_id="other-run"))

    # Then each comes back equal (Decimals exact, allocations kept) and the run lists its five
    assert ledger.get_order(RUN, ids[0]) == order(ids[0])
    assert ledger.get_order(RUN, "missing") is None
    assert [o.client_order_id for o in ledger.orders(RUN)] == sorted(ids)
    assert ledger.orders("no-such-run") == []


def test_the_kill_switch_is_absent_until_set_and_then_replaced(ledger: Ledger) -> None:
    # Given no switch
    assert ledger.kill_switch() is None

    # When it is set, then cleared
    on = KillSwitch(enabled=True, reason="drill", updated_at=NOW, updated_by="ops")
    ledger.set_kill_switch(on)
    assert ledger.kill_switch() == on
    off = KillSwitch(enabled=False, updated_at=NOW + timedelta(hours=1))
    ledger.set_kill_switch(off)

    # Then the latest state is read back
    assert ledger.kill_switch() == off


# -- fills, lots and realised P&L ---------------------------------------------------------


def test_fills_open_and_consume_fifo_lots_and_accumulate_realised_pnl(ledger: Ledger) -> None:
    # Given buys of 10 @ 100 (day 1) and 10 @ 110 (day 2)
    day2, day3 = DAY + timedelta(days=1), DAY + timedelta(days=2)
    ledger.record_fills([fill("f1", OrderSide.BUY, "10", "100")])
    ledger.record_fills([fill("f2", OrderSide.BUY, "10", "110", day=day2)])

    # When 15 are sold at 120 on day 3
    recorded = ledger.record_fills([fill("f3", OrderSide.SELL, "15", "120", day=day3)])

    # Then the oldest lot is gone, 5 remain from day 2, and 20*10 + 10*5 = 250 is realised
    assert [f.fill_id for f in recorded] == ["f3"]
    assert ledger.open_lots("gold") == [
        Lot(
            book_id="gold",
            symbol="GLD",
            lot_id="f2",
            opened_on=day2,
            qty=Decimal(5),
            cost_price=Decimal(110),
        )
    ]
    assert ledger.realised_pnl("gold") == Decimal(250)


def test_recording_the_same_fills_twice_changes_nothing(make_ledger: Callable[[], Ledger]) -> None:
    # Given five fills recorded once
    fills = [
        fill("f1", OrderSide.BUY, "3.3333", "10.01"),
        fill("f2", OrderSide.BUY, "1.5", "20", symbol="SPY"),
        fill("f3", OrderSide.SELL, "1.1111", "10.50"),
        fill("f4", OrderSide.BUY, "7", "30", book="tech", symbol="QQQ"),
        fill("f5", OrderSide.BUY, "2", "40", book="bonds", symbol="TLT"),
    ]
    first = make_ledger()
    assert first.record_fills(fills) == fills
    before = (first.fills(RUN), first.open_lots("gold"), first.realised_pnl("gold"))

    # When a fresh ledger on the same store records them again (a redrive)
    again = make_ledger().record_fills(fills)

    # Then nothing new is recorded and nothing changed
    assert again == []
    assert (first.fills(RUN), first.open_lots("gold"), first.realised_pnl("gold")) == before
    assert [f.fill_id for f in first.fills(RUN)] == ["f1", "f2", "f3", "f4", "f5"]
    assert first.realised_pnl("gold") == (Decimal("10.50") - Decimal("10.01")) * Decimal("1.1111")


def test_a_fill_repeated_inside_one_call_is_applied_once(ledger: Ledger) -> None:
    # Given a call carrying the same buy twice
    buy = fill("f1", OrderSide.BUY, "4", "100")

    # When it is recorded
    recorded = ledger.record_fills([buy, buy])

    # Then one lot of 4 is open
    assert recorded == [buy]
    assert [lot.qty for lot in ledger.open_lots("gold")] == [Decimal(4)]


def test_an_oversell_is_refused_and_nothing_of_its_call_is_recorded(ledger: Ledger) -> None:
    # Given gold holds 5 GLD and tech holds 100 GLD
    ledger.record_fills(
        [
            fill("f1", OrderSide.BUY, "5", "100"),
            fill("t1", OrderSide.BUY, "100", "100", book="tech"),
        ]
    )
    lots_before = ledger.open_lots("gold")

    # When a call buys SPY and sells 6 GLD for gold
    with pytest.raises(OversellError) as raised:
        ledger.record_fills(
            [
                fill("f2", OrderSide.BUY, "1", "500", symbol="SPY"),
                fill("f3", OrderSide.SELL, "6", "101"),
            ]
        )

    # Then the error names gold, GLD, 5 held and 6 asked, and the call left no trace
    assert (raised.value.book_id, raised.value.symbol, raised.value.held, raised.value.asked) == (
        "gold",
        "GLD",
        Decimal(5),
        Decimal(6),
    )
    assert [f.fill_id for f in ledger.fills(RUN)] == ["f1", "t1"]
    assert ledger.open_lots("gold") == lots_before
    assert ledger.realised_pnl("gold") == 0


def test_a_different_fill_under_a_recorded_id_is_refused(ledger: Ledger) -> None:
    # Given a recorded fill
    ledger.record_fills([fill("f1", OrderSide.BUY, "5", "100")])

    # When another fill reuses its id
    # Then it is refused and the original stays
    with pytest.raises(FillConflictError, match="'f1'"):
        ledger.record_fills([fill("f1", OrderSide.BUY, "6", "100")])
    assert [lot.qty for lot in ledger.open_lots("gold")] == [Decimal(5)]


def test_open_lots_span_pages_and_come_back_in_fifo_order(ledger: Ledger) -> None:
    # Given gold buys five symbols, two lots of GLD, across two days
    day2 = DAY + timedelta(days=1)
    ledger.record_fills(
        [
            fill("f9", OrderSide.BUY, "1", "10", symbol="TLT"),
            fill("f8", OrderSide.BUY, "2", "20", day=day2),
            fill("f7", OrderSide.BUY, "3", "30"),
            fill("f6", OrderSide.BUY, "4", "40", symbol="SPY"),
            fill("f5", OrderSide.BUY, "5", "50", symbol="IWM"),
            fill("f4", OrderSide.BUY, "6", "60", symbol="QQQ"),
        ]
    )

    # When its lots are listed
    lots = ledger.open_lots("gold")

    # Then every lot comes back, by symbol, oldest first
    assert [(lot.symbol, lot.lot_id) for lot in lots] == [
        ("GLD", "f7"),
        ("GLD", "f8"),
        ("IWM", "f5"),
        ("QQQ", "f4"),
        ("SPY", "f6"),
        ("TLT", "f9"),
    ]
    assert ledger.open_lots("nobody") == []


def test_a_book_never_consumes_another_books_lots(ledger: Ledger) -> None:
    # Given gold and tech each bought GLD at different prices
    ledger.record_fills(
        [fill("g1", OrderSide.BUY, "5", "100"), fill("t1", OrderSide.BUY, "5", "90", book="tech")]
    )

    # When gold sells all of its GLD
    ledger.record_fills([fill("g2", OrderSide.SELL, "5", "95")])

    # Then gold is flat with a loss, and tech's lot is untouched
    assert ledger.open_lots("gold") == []
    assert ledger.realised_pnl("gold") == Decimal(-25)
    assert [(lot.lot_id, lot.qty) for lot in ledger.open_lots("tech")] == [("t1", Decimal(5))]
    assert ledger.realised_pnl("tech") == 0


def test_decimals_survive_storage_exactly(ledger: Ledger) -> None:
    # Given a fill with many decimal places
    ledger.record_fills([fill("f1", OrderSide.BUY, "0.123456789012", "1234.56789012345")])
    ledger.record_fills([fill("f2", OrderSide.SELL, "0.000000000001", "1234.56789012346")])

    # Then quantities, prices and P&L come back exact
    (lot,) = ledger.open_lots("gold")
    assert lot.qty == Decimal("0.123456789011")
    assert lot.cost_price == Decimal("1234.56789012345")
    assert ledger.realised_pnl("gold") == Decimal("1E-23")
    assert ledger.fills(RUN)[0].price == Decimal("1234.56789012345")


# -- books and snapshots --------------------------------------------------------------


def test_book_ids_list_every_book_with_a_fill_or_a_snapshot(ledger: Ledger) -> None:
    # Given three books with fills and two with only a snapshot
    ledger.record_fills(
        [
            fill(f"f-{book}", OrderSide.BUY, "1", "10", book=book)
            for book in ("tech", "gold", "bonds")
        ]
    )
    ledger.put_snapshot(snapshot("zeta", DAY))
    ledger.put_snapshot(snapshot("alpha", DAY))
    ledger.put_snapshot(snapshot("gold", DAY))

    # Then all five are listed once, alphabetically, across pages
    assert ledger.book_ids() == ["alpha", "bonds", "gold", "tech", "zeta"]
    assert ledger.realised_pnl("zeta") == 0


def test_latest_snapshot_is_the_last_on_or_before_the_day(ledger: Ledger) -> None:
    # Given snapshots of gold on days 0, 2, 4 (day 2 written twice) and of tech on day 3
    for offset in (0, 2, 4):
        ledger.put_snapshot(snapshot("gold", DAY + timedelta(days=offset)))
    ledger.put_snapshot(snapshot("gold", DAY + timedelta(days=2), equity="1234.5678"))
    ledger.put_snapshot(snapshot("tech", DAY + timedelta(days=3)))

    # Then the day-3 query finds the rewritten day-2 snapshot, and nothing precedes day 0
    found = ledger.latest_snapshot("gold", DAY + timedelta(days=3))
    assert found == snapshot("gold", DAY + timedelta(days=2), equity="1234.5678")
    assert ledger.latest_snapshot("gold", DAY + timedelta(days=4)) == snapshot(
        "gold", DAY + timedelta(days=4)
    )
    assert ledger.latest_snapshot("gold", DAY - timedelta(days=1)) is None
    assert ledger.latest_snapshot("nobody", DAY) is None


# -- SQLite: threads ----------------------------------------------------------------------


def test_sqlite_threads_recording_the_same_fills_apply_them_once(tmp_path: Path) -> None:
    # Given eight threads, each with its own view of one ledger file
    path = tmp_path / "ledger.sqlite3"
    fills = [fill(f"f{n}", OrderSide.BUY, "1", "100", symbol=f"S{n % 3}") for n in range(12)]
    start = threading.Barrier(8)

    def record() -> list[FillRecord]:
        start.wait(timeout=10)
        return SQLiteLedger(path).record_fills(fills)

    # When all record the same twelve fills at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [future.result(timeout=60) for future in [pool.submit(record) for _ in range(8)]]

    # Then each fill was recorded by exactly one thread and applied once
    recorded = sorted(f.fill_id for result in results for f in result)
    assert recorded == sorted(f.fill_id for f in fills)
    assert len(SQLiteLedger(path).open_lots("gold")) == 12


def test_sqlite_threads_claiming_the_same_day_together_leave_exactly_one_owner(
    tmp_path: Path,
) -> None:
    # Given eight executions that read the day's run (none yet) and claim it at once
    path = tmp_path / "ledger.sqlite3"
    SQLiteLedger(path).runs("dev")  # the schema exists before the race
    barrier = threading.Barrier(8)

    def race(n: int) -> bool:
        ledger = SQLiteLedger(path)
        current = ledger.get_run(RUN)
        barrier.wait(timeout=30)
        return ledger.claim_run(claim(f"e{n}"), current.attempts if current else 0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(race, range(8)))
    # Then exactly one claim landed, and it is the one stored
    assert won.count(True) == 1
    stored = SQLiteLedger(path).get_run(RUN)
    assert stored is not None and stored.execution_name == f"e{won.index(True)}"


def test_sqlite_creates_its_schema_and_directory_on_first_use(tmp_path: Path) -> None:
    # Given a path in a directory that does not exist yet
    path = tmp_path / "nested" / "ledger.sqlite3"

    # When a ledger there is first used
    SQLiteLedger(path).put_run(run())

    # Then the file exists and another instance reads the run back
    assert SQLiteLedger(path).get_run(RUN) == run()


# -- DynamoDB: pagination, concurrency, errors ------------------------------------------------


def count_queries(client: Any) -> list[dict[str, Any]]:
    """Record every Query request the client sends."""
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: sent.append(dict(params))
    )
    return sent


def test_dynamodb_listings_follow_every_page(aws: Any) -> None:
    # Given seven orders and a ledger reading two items a page
    ledger = DynamoDBLedger(TABLE, aws, page_size=2)
    for n in range(7):
        ledger.put_order(order(f"{RUN}-sell-S{n}"))
    queries = count_queries(aws)

    # When the orders are listed
    listed = ledger.orders(RUN)

    # Then all seven come back through four pages, each after the previous page's key
    assert len(listed) == 7
    assert len(queries) == 4
    assert [("ExclusiveStartKey" in q) for q in queries] == [False, True, True, True]
    assert all(q["Limit"] == 2 for q in queries)


def test_dynamodb_uses_the_documented_keys(aws: Any) -> None:
    # Given a run, a fill and a snapshot written through the adapter
    ledger = DynamoDBLedger(TABLE, aws)
    ledger.put_run(run())
    ledger.record_fills([fill("f1", OrderSide.BUY, "2", "100.5")])
    ledger.put_snapshot(snapshot("gold", DAY))
    ledger.set_kill_switch(KillSwitch(enabled=False, updated_at=NOW))

    # Then the table holds exactly the documented keys, with numbers as numbers
    items = aws.scan(TableName=TABLE)["Items"]
    keys = {
        (i["pk"]["S"], i["sk"]["S"], i.get("gsi1pk", {}).get("S"), i.get("gsi1sk", {}).get("S"))
        for i in items
    }
    assert keys == {
        (f"RUN#{RUN}", "META", "STAGE#dev", f"{DAY}#{RUN}"),
        (f"RUN#{RUN}", "FILL#f1", None, None),
        ("BOOK#gold", "LOTS#GLD", None, None),
        ("BOOK#gold", "PNL", "BOOKS", "gold"),
        ("BOOK#gold", f"SNAP#{DAY}", None, None),
        ("CONTROL", "KILLSWITCH", None, None),
    }
    (fill_item,) = [i for i in items if i["sk"]["S"] == "FILL#f1"]
    assert fill_item["price"] == {"N": "100.5"}
    assert not any("ttl" in i for i in items)


def test_dynamodb_retries_when_the_lots_change_between_read_and_write(aws: Any) -> None:
    # Given gold holds 10 GLD, and a concurrent writer that sells 4 of them just before
    # this ledger's first transaction
    ledger = DynamoDBLedger(TABLE, aws)
    ledger.record_fills([fill("f1", OrderSide.BUY, "10", "100")])
    other = DynamoDBLedger(TABLE, dynamodb_client())
    interfered: list[bool] = []

    def sell_first(**_: Any) -> None:
        if not interfered:
            interfered.append(True)
            other.record_fills([fill("o1", OrderSide.SELL, "4", "110")])

    aws.meta.events.register("before-call.dynamodb.TransactWriteItems", sell_first)

    # When this ledger sells 5
    recorded = ledger.record_fills([fill("f2", OrderSide.SELL, "5", "120")])

    # Then its first attempt is refused, it re-reads the lots, and both sells count once
    assert [f.fill_id for f in recorded] == ["f2"]
    assert [lot.qty for lot in ledger.open_lots("gold")] == [Decimal(1)]
    assert ledger.realised_pnl("gold") == Decimal(4 * 10 + 5 * 20)


def test_dynamodb_skips_a_fill_recorded_while_its_transaction_was_in_flight(aws: Any) -> None:
    # Given a concurrent writer that records the same buy just before this ledger's transaction
    ledger = DynamoDBLedger(TABLE, aws)
    other = DynamoDBLedger(TABLE, dynamodb_client())
    buy = fill("f1", OrderSide.BUY, "10", "100")

    def record_first(**_: Any) -> None:
        other.record_fills([buy])

    aws.meta.events.register("before-call.dynamodb.TransactWriteItems", record_first)

    # When this ledger records it
    recorded = ledger.record_fills([buy])

    # Then it is skipped: one lot, applied once
    assert recorded == []
    assert [lot.qty for lot in ledger.open_lots("gold")] == [Decimal(10)]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_dynamodb_throttling_and_5xx_become_transient_errors(code: str, status: int) -> None:
    # Given a client whose next Query fails with a throttling or server error
    client = dynamodb_client()
    with Stubber(client) as stub:
        stub.add_client_error("query", service_error_code=code, http_status_code=status)

        # When the ledger lists orders
        # Then a TransientError names the operation and the table
        with pytest.raises(TransientError, match=rf"Query on table '{TABLE}'.*{code}"):
            DynamoDBLedger(TABLE, client).orders(RUN)


def test_dynamodb_other_errors_propagate_unchanged() -> None:
    # Given a client whose next GetItem fails validation
    client = dynamodb_client()
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_item", service_error_code="ValidationException", http_status_code=400
        )

        # Then the ClientError itself reaches the caller
        with pytest.raises(ClientError) as raised:
            DynamoDBLedger(TABLE, client).get_run(RUN)
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_dynamodb_a_transaction_cancelled_by_throttling_is_transient() -> None:
    # Given a client whose fill transaction is cancelled for throttling
    client = dynamodb_client()
    with Stubber(client) as stub:
        stub.add_response("get_item", {})  # the fill is new
        stub.add_response("get_item", {})  # no GLD lots yet (batch check)
        stub.add_response("get_item", {})  # no GLD lots yet (transaction)
        cancel_transaction(stub, "None", "ThrottlingError", "None")

        # Then recording the fill raises TransientError
        with pytest.raises(TransientError, match="cancelled transiently"):
            DynamoDBLedger(TABLE, client).record_fills([fill("f1", OrderSide.BUY, "1", "10")])


def cancel_transaction(stub: Stubber, *codes: str) -> None:
    """Queue one TransactWriteItems cancellation with these per-item reasons."""
    stub.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        http_status_code=400,
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def test_dynamodb_a_conflicting_transaction_is_retried_after_a_fresh_read() -> None:
    # Given a fill whose first transaction collides with another transaction on its lots
    client = dynamodb_client()
    with Stubber(client) as stub:
        stub.add_response("get_item", {})  # the fill is new
        stub.add_response("get_item", {})  # no GLD lots yet (batch check)
        stub.add_response("get_item", {})  # first attempt reads the lots
        cancel_transaction(stub, "None", "TransactionConflict", "None")
        stub.add_response("get_item", {})  # second attempt reads them again
        stub.add_response("transact_write_items", {})

        # When it is recorded
        recorded = DynamoDBLedger(TABLE, client).record_fills(
            [fill("f1", OrderSide.BUY, "1", "10")]
        )

        # Then the second attempt records it
        stub.assert_no_pending_responses()
    assert [f.fill_id for f in recorded] == ["f1"]


def test_dynamodb_lots_that_keep_changing_end_in_a_transient_error() -> None:
    # Given lots that change under each of two attempts
    client = dynamodb_client()
    with Stubber(client) as stub:
        stub.add_response("get_item", {})
        stub.add_response("get_item", {})
        for _ in range(2):
            stub.add_response("get_item", {})
            cancel_transaction(stub, "None", "ConditionalCheckFailed", "None")

        # Then recording gives up with a TransientError naming the book, symbol and fill
        with pytest.raises(TransientError, match=r"'gold' in GLD changed .* 2 attempts .* 'f1'"):
            DynamoDBLedger(TABLE, client, max_attempts=2).record_fills(
                [fill("f1", OrderSide.BUY, "1", "10")]
            )


def test_dynamodb_creates_no_client_until_first_use() -> None:
    # Given a ledger built without a client, outside any AWS mock
    # When nothing is called
    ledger = DynamoDBLedger(TABLE)

    # Then no client exists yet
    assert ledger._client is None
