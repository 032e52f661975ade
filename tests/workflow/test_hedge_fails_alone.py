"""A hedge that fails is the hedge's failure only (issue 10, item 11).

Each Task of the Hedge branch (HedgePlan, HedgeExecute) catches every error that outlasts
its retries (HedgeFailed), so the ExecuteAndHedge Parallel never stops the equity branch: the execution succeeds with the
books' orders filled, the run reports the hedge "failed" with the reason, the failure
counts once towards the hedge kill switch, and a re-run of the day (a retry run,
``-r2``) runs the hedge again and ends the day as an uninterrupted run would.
"""

from __future__ import annotations

import html
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alchemiser.ledger.hedge_store import SQLiteHedgeStore
from alchemiser.ledger.sqlite import SQLiteLedger
from tests.conftest import PRICES_DIR, REPO_ROOT
from tests.workflow.test_drills import FIRST, outcome, run
from tests.workflow.test_kill_drill import CHILD, DEADLINE_S, read_until

FIRST_RUN = f"cycle-{FIRST}-dev"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    """The first day run once: its books trade and its hedge is bought."""
    home = tmp_path_factory.mktemp("hedge-baseline")
    summary = run(home, FIRST)
    assert summary["status"] == "SUCCEEDED", summary["message"]
    assert summary["hedge"]["decision"] == "hedged", summary["hedge"]["reasons"]
    assert summary["account"]["unexplained"] == "0.00"
    return (*outcome(home), summary["account"]["nav"])


def failures(home: Path) -> list[str]:
    return [f.run_id for f in SQLiteHedgeStore(home / "ledger.sqlite3").hedge_switch().failures]


HEDGE_STATES = ("HedgePlan", "HedgeExecute")


@pytest.mark.parametrize("state", HEDGE_STATES)
def test_a_crash_in_the_hedge_leaves_the_books_trading_and_a_rerun_hedges_the_day(
    state: str, tmp_path: Path, uninterrupted: tuple[object, ...]
) -> None:
    # When a hedge state crashes (not retryable) on the day the hedge would be bought
    summary = run(tmp_path, FIRST, crash_at=[state])
    # Then the execution succeeds: the books' orders filled, the hedge is reported failed
    assert summary["status"] == "SUCCEEDED", summary["message"]
    assert "HedgeFailed" in summary["states"]
    assert summary["orders"] and all(o["status"] == "filled" for o in summary["orders"])
    hedge = summary["hedge"]
    assert hedge["decision"] == "failed"
    assert hedge["reasons"][0] == (
        f"the hedge failed: InjectedCrashError: drill: {state} crashed on its first attempt "
        f"(--crash-at {state})"
    )
    assert failures(tmp_path) == [FIRST_RUN]
    email = html.unescape((tmp_path / "outbox" / f"{FIRST_RUN}.html").read_text())
    assert "Decision: FAILED: the hedge step stopped with an error" in email
    assert f"Why: the hedge failed: InjectedCrashError: drill: {state} crashed" in email
    record = SQLiteLedger(tmp_path / "ledger.sqlite3").get_run(FIRST_RUN)
    assert record is not None and record.status.value == "completed"
    # When the day is run again
    again = run(tmp_path, FIRST)
    # Then a retry run trades no book and hedges: the day ends as if nothing had happened
    assert again["status"] == "SUCCEEDED", again["message"]
    assert again["run_id"] == f"{FIRST_RUN}-r2"
    assert again["books"] == [] and again["orders"] == []
    assert again["hedge"]["decision"] == "hedged", again["hedge"]["reasons"]
    assert again["account"]["unexplained"] == "0.00"  # books + hedge + pool = broker
    assert (*outcome(tmp_path), again["account"]["nav"]) == uninterrupted
    # And a third run finds the day done
    third = run(tmp_path, FIRST)
    assert third["already_traded"], third["message"]
    assert outcome(tmp_path) == uninterrupted[:-1]
    assert failures(tmp_path) == [FIRST_RUN]


@pytest.mark.parametrize("state", HEDGE_STATES)
def test_a_hedge_error_that_outlasts_its_retries_counts_once(state: str, tmp_path: Path) -> None:
    # When a hedge state fails transiently on its first attempt and on every retry
    summary = run(tmp_path, FIRST, fail_at=[f"{state}:9"])
    # Then the retries are spent, the branch catches the error, the books trade
    assert summary["status"] == "SUCCEEDED", summary["message"]
    assert summary["states"].count(state) == 1 and "HedgeFailed" in summary["states"]
    assert summary["orders"] and all(o["status"] == "filled" for o in summary["orders"])
    assert summary["hedge"]["decision"] == "failed"
    assert summary["hedge"]["reasons"][0].startswith(
        f"the hedge failed: TransientError: drill: {state} failed transiently on attempt 4 of 9"
    )
    # And the four failed attempts are one failure of the run
    assert failures(tmp_path) == [FIRST_RUN]
    # And no option order went out
    assert outcome(tmp_path)[3] == []


@pytest.mark.parametrize("state", HEDGE_STATES)
def test_a_process_killed_inside_a_hedge_state_is_finished_by_the_rerun(
    state: str, tmp_path: Path, uninterrupted: tuple[object, ...]
) -> None:
    # Given a real `alchemiser run` child that stops inside STATE on the day the hedge
    # is bought (the equity branch runs beside it), and is killed there (SIGKILL)
    home = tmp_path / "home"
    argv = ["run", "--date", FIRST.isoformat(), "--data", str(PRICES_DIR), "--home", str(home)]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *argv, "--hang-at", state],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    read_until(child, f"drill: {state} is hanging")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=DEADLINE_S)
    # When the day is run again
    again = run(home, FIRST)
    # Then the same run is finished: the hedge bought once, the day as if uninterrupted
    assert again["status"] == "SUCCEEDED", again["message"]
    assert again["run_id"] == FIRST_RUN
    assert again["hedge"]["decision"] == "hedged", again["hedge"]["reasons"]
    assert again["account"]["unexplained"] == "0.00"
    assert (*outcome(home), again["account"]["nav"]) == uninterrupted
    assert failures(home) == []
