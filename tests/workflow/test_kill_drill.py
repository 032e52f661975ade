"""Kill -9 drills: a real ``alchemiser run`` child process is killed mid-run, and an
immediate re-run of the day ends it exactly as an uninterrupted run would.

"Exactly" is every broker order by client order id (with what filled), the broker's
holdings, every ledger fill and every book's lots. The drill day sells and buys; the
kill moments are seeded and spread over the run as measured on this machine (from the
moment the child holds its home's lock to its exit), so they land in every step.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from alchemiser.broker.simulated import SimulatedBroker
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.summary import summarize
from tests.conftest import PRICES_DIR, REPO_ROOT
from tests.workflow.conftest import all_prices, book_positions, broker_orders, make_settings

FIRST, DAY = date(2024, 3, 13), date(2024, 3, 14)
KILLS = 20
SEED = 20260731
CHILD = "import sys; from alchemiser.cli import main; sys.exit(main(sys.argv[1:]))"
DEADLINE_S = 120.0


@dataclass(frozen=True)
class Drill:
    first_day: Path  # a home after FIRST, copied for every drill
    uninterrupted: tuple[object, ...]
    window_s: float  # from a child holding its home's lock to its email being written


def outcome(home: Path) -> tuple[object, ...]:
    """What must be identical: broker orders and holdings, ledger fills, every book's lots."""
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    fills = sorted(
        (f.fill_id, f.book_id, f.symbol, f.side.value, f.qty, f.price)
        for r in ledger.runs("dev")
        for f in ledger.fills(r.run_id)
    )
    holdings = sorted(
        (p.symbol, p.qty)
        for p in SimulatedBroker(home / "broker.sqlite3", all_prices()).positions()
    )
    return broker_orders(home), holdings, fills, book_positions(home)


def run_here(home: Path, day: date) -> dict[str, object]:
    return summarize(run_cycle(make_settings(home), REPO_ROOT, day=day))


def spawn(home: Path, *extra: str) -> subprocess.Popen[str]:
    argv = ["run", "--date", DAY.isoformat(), "--data", str(PRICES_DIR), "--home", str(home)]
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *argv, *extra],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lock(child: subprocess.Popen[str], home: Path) -> float:
    """Return when the child holds its home's lock (it has loaded and starts the run)."""
    deadline = time.monotonic() + DEADLINE_S
    lock = home / ".lock"
    while time.monotonic() < deadline:
        if lock.exists() and f"pid {child.pid}," in lock.read_text():
            return time.monotonic()
        if child.poll() is not None:
            pytest.fail(f"the child ended ({child.returncode}) before taking its home's lock")
        time.sleep(0.005)
    child.kill()
    pytest.fail("the child did not take its home's lock in time")


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Drill:
    first_day = tmp_path_factory.mktemp("first-day")
    run_here(first_day, FIRST)
    baseline = tmp_path_factory.mktemp("uninterrupted")
    shutil.copytree(first_day, baseline, dirs_exist_ok=True)
    summary = run_here(baseline, DAY)
    assert summary["status"] == "SUCCEEDED"
    assert {o["side"] for o in summary["orders"]} == {"buy", "sell"}  # both phases run
    # Measure one undisturbed child, from holding the lock to Notify's email (after it
    # the child only saves its history and exits)
    timed = tmp_path_factory.mktemp("timed")
    shutil.copytree(first_day, timed, dirs_exist_ok=True)
    child = spawn(timed)
    started = wait_for_lock(child, timed)
    email = timed / "outbox" / f"cycle-{DAY}-dev.eml"
    while not email.exists() and child.poll() is None:
        time.sleep(0.005)
    window = time.monotonic() - started
    assert child.wait(timeout=DEADLINE_S) == 0
    assert outcome(timed) == outcome(baseline)
    return Drill(first_day, outcome(baseline), window)


def where(home: Path) -> str:
    """Say how far the killed run got (for the report of the drill)."""
    orders = [o for o in broker_orders(home) if o[0].startswith(f"cycle-{DAY}")]
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    if (home / "outbox" / f"cycle-{DAY}-dev.eml").exists():
        return "after Notify"
    if ledger.fills(f"cycle-{DAY}-dev"):
        return "after Reconcile booked fills"
    if orders:
        return f"walking orders ({len(orders)} at the broker)"
    if ledger.orders(f"cycle-{DAY}-dev"):
        return "orders planned, none placed"
    plans = len(list((home / "runs" / f"cycle-{DAY}-dev" / "books").glob("*.json")))
    return f"evaluating books ({plans} of 3 plans stored)" if plans else "in PlanCycle"


@pytest.mark.parametrize("kill", range(KILLS))
def test_a_run_killed_at_any_moment_is_finished_exactly_by_an_immediate_rerun(
    kill: int, drill: Drill, tmp_path: Path
) -> None:
    # Given the first day traded, and a child process running the drill day
    home = tmp_path / "home"
    shutil.copytree(drill.first_day, home)
    moment = random.Random(SEED + kill).uniform(0.02, 1.02) * drill.window_s
    child = spawn(home)
    started = wait_for_lock(child, home)
    # When it is killed (SIGKILL: nothing of it runs after) at a seeded moment of its run
    time.sleep(max(0.0, started + moment - time.monotonic()))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=DEADLINE_S)
    landed = where(home) if child.returncode == -signal.SIGKILL else "after the run ended"
    # Then an immediate re-run of the day ends it exactly as an uninterrupted run
    again = run_here(home, DAY)
    assert again["status"] == "SUCCEEDED", (landed, again["message"])
    assert outcome(home) == drill.uninterrupted, landed
    print(f"\nkill {kill}: at {moment:.2f} s of {drill.window_s:.2f} s, {landed}")


def read_until(child: subprocess.Popen[str], text: str) -> list[str]:
    """Read the child's stderr until a line holds ``text`` (or fail at the deadline)."""
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            seen.append(line)
            if text in line:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(timeout=DEADLINE_S):
        child.kill()
        pytest.fail(f"the child never said {text!r}; stderr: {''.join(seen)[-2000:]}")
    return seen


@pytest.mark.parametrize("step", ["EvaluateBook", "PlanOrders"])
def test_a_process_killed_inside_a_run_once_step_does_not_block_the_rerun(
    step: str, drill: Drill, tmp_path: Path
) -> None:
    # Given a child that stops inside STEP, its idempotency record IN PROGRESS
    home = tmp_path / "home"
    shutil.copytree(drill.first_day, home)
    child = spawn(home, "--hang-at", step)
    read_until(child, f"drill: {step} is hanging")
    # When it is killed there
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=DEADLINE_S)
    # Then the very next run expires the dead run's record, says so, and ends the day
    # exactly as an uninterrupted run (without the lock, Powertools would refuse the step
    # until the dead invocation's deadline: IdempotencyAlreadyInProgressError)
    again = run_here(home, DAY)
    assert again["status"] == "SUCCEEDED", again["message"]
    assert {b["status"] for b in again["books"]} <= {"traded", "on_target", "held"}
    assert outcome(home) == drill.uninterrupted
    recovered = [w for w in again["warnings"] if "ended without finishing" in str(w)]
    assert recovered and f"({step})" in str(recovered[0]), again["warnings"]


def test_a_second_run_on_a_home_in_use_is_refused_and_places_nothing(
    drill: Drill, tmp_path: Path
) -> None:
    # Given a child holding a home (it hangs before its first order)
    home = tmp_path / "home"
    shutil.copytree(drill.first_day, home)
    child = spawn(home, "--hang-at", "PlanOrders")
    read_until(child, "drill: PlanOrders is hanging")
    before = broker_orders(home)
    try:
        # When another run starts on the same home
        second = subprocess.run(
            [sys.executable, "-c", CHILD, "run", "--date", DAY.isoformat(),
             "--data", str(PRICES_DIR), "--home", str(home)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=DEADLINE_S,
        )  # fmt: skip
    finally:
        child.kill()
        child.wait(timeout=DEADLINE_S)
    # Then it is refused at once, naming the holder, and nothing reaches the broker
    assert second.returncode == 1
    assert f"is in use by another alchemiser run (pid {child.pid}" in second.stderr
    assert broker_orders(home) == before


def test_a_walk_killed_between_the_brokers_fill_and_its_ledger_write_is_finished(
    drill: Drill, tmp_path: Path
) -> None:
    # Given a child killed after the SELL phase (hung in CheckSells)
    home = tmp_path / "home"
    shutil.copytree(drill.first_day, home)
    child = spawn(home, "--hang-at", "CheckSells")
    read_until(child, "drill: CheckSells is hanging")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=DEADLINE_S)
    # and a sell that filled at the broker whose walk never recorded it: the ledger still
    # says planned (what a kill right after the broker's fill leaves)
    ledger = SQLiteLedger(home / "ledger.sqlite3")
    sold = next(o for o in ledger.orders(f"cycle-{DAY}-dev") if o.filled_qty > 0)
    ledger.put_order(
        sold.model_copy(
            update={
                "state": "planned",
                "filled_qty": 0,
                "avg_fill_price": None,
                "broker_order_ids": (),
            }
        )
    )
    # When the day runs again
    again = run_here(home, DAY)
    # Then its drift check counts the broker's fill (no false drift), and the day ends
    # exactly as an uninterrupted run
    assert again["status"] == "SUCCEEDED", again["message"]
    assert "disagree" not in str(again["message"])
    assert outcome(home) == drill.uninterrupted
