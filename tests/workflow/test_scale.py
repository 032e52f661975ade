"""A thousand books through the real state machine: states stay small, the history bounded.

The symphonies here are trivial synthetic ones (two real tickers each, equal weight):
the values do not matter, only how much travels between states and how many history
events the execution takes. Prices are the real ones.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.summary import summarize
from tests.conftest import REPO_ROOT
from tests.workflow.conftest import make_settings

BOOKS = 1_000
STATE_LIMIT = 64 * 1024  # far below Step Functions' 256 KiB per state input or output
HISTORY_LIMIT = 25_000  # Step Functions' events per standard execution
TICKERS = "AGG BIL BND BSV EEM GLD IEF IWM LQD QQQ SHY SPY TLT XLE XLF XLK XLP XLU XLY VTV"


def thousand_books(folder: Path) -> Path:
    """Write 10 two-asset symphonies and a dev stage of 1,000 books running them."""
    tickers = TICKERS.split()
    for n in range(10):
        pair = " ".join(f'(asset "{t}")' for t in tickers[2 * n : 2 * n + 2])
        (folder / f"s{n}.clj").write_text(
            f'(defsymphony "S{n}" {{:rebalance-frequency :daily}} (weight-equal [{pair}]))\n'
        )
    books = "".join(
        f"      - {{id: book-{n:04d}, strategy: s{n % 10}.clj, share: 0.0009}}\n"
        for n in range(BOOKS)
    )
    (folder / "books.yaml").write_text(f"stages:\n  dev:\n    books:\n{books}")
    return folder


@pytest.mark.slow
def test_a_thousand_books_keep_every_state_small_and_the_history_bounded(
    tmp_path: Path,
) -> None:
    # Given a thousand books
    strategies = thousand_books(tmp_path)
    settings = make_settings(tmp_path / "home", strategies_dir=strategies)
    # When the day runs through the deployed state machine
    local = run_cycle(settings, REPO_ROOT, day=date(2024, 3, 14))
    summary = summarize(local)
    # Then it trades every book (moto refuses any state above 256 KiB, as AWS does)
    assert summary["status"] == "SUCCEEDED", summary["message"]
    assert len(summary["books"]) == BOOKS
    assert {b["status"] for b in summary["books"]} == {"traded"}
    assert summary["orders"] and {o["status"] for o in summary["orders"]} == {"filled"}
    # And no state's input or output comes near the payload limit
    sizes = [
        len(json.dumps(value, separators=(",", ":")))
        for event in local.execution.history
        for value in (event.input, event.output)
        if value is not None
    ]
    assert max(sizes) < STATE_LIMIT, max(sizes)
    # And the history stays inside the standard workflow's 25,000 events (about 7 per
    # Map item: the README gives the measured count and the ceiling it implies)
    events = len(local.execution.history)
    assert events < HISTORY_LIMIT
    print(
        f"\n{BOOKS} books, {len(summary['orders'])} orders: {events} history events, "
        f"largest state {max(sizes)} bytes"
    )
