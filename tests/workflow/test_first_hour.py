"""A newcomer's first hour, through the command line: the README's commands in order,
a books file of one's own from any directory, the kill switch before the first trade,
and run summaries whose words agree with their numbers (real prices).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alchemiser.cli import main
from tests.conftest import PRICES_DIR

PRICES = str(PRICES_DIR)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """Run ``alchemiser run --json``; stdout must be exactly one JSON document."""
    code = main(["run", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def books(summary: dict[str, Any]) -> dict[str, str]:
    return {b["book_id"]: b["status"] for b in summary["books"]}


def test_the_readme_commands_in_order_then_three_real_days_say_what_happened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh working directory (not the project's)
    monkeypatch.chdir(tmp_path)
    # When the README's two commands run in the order written
    assert main(["run"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    code, first = run_json(capsys, "--date", "2024-03-14", "--data", PRICES)
    # Then both succeed, each in its own home
    assert code == 0 and first["status"] == "SUCCEEDED"
    homes = sorted(p.name for p in (tmp_path / ".alchemiser").iterdir())
    assert homes[0] == "demo" and homes[1].startswith("prices-") and len(homes) == 2
    # And the first real day bought every book's targets: traded, no "$X < $X wanted"
    assert books(first) == {
        "nuclear": "traded",
        "tech-momentum": "traded",
        "klm-ensemble": "traded",
    }
    assert all(b["reason"] == "" for b in first["books"])
    assert {o["status"] for o in first["orders"]} == {"filled"}

    # When the next two days rotate some books (each book buys with its own cash only,
    # so no BUY gate has to scale a buy: the books own their capital)
    # (on the 18th nuclear's drift is inside its cost reserve: it stays on target)
    for day, nuclear in (("2024-03-15", "traded"), ("2024-03-18", "on_target")):
        _, later = run_json(capsys, "--date", day, "--data", PRICES)
        # Then each book says what happened, every order filled, and the books, the
        # hedge book and the pool add up to the broker's equity
        assert books(later) == {
            "nuclear": nuclear, "tech-momentum": "on_target", "klm-ensemble": "held",
        }  # fmt: skip
        assert {o["status"] for o in later["orders"]} <= {"filled"}
        assert later["account"]["unexplained"] == "0.00"

    # When an earlier day is replayed in that home, the error names the option that helps
    assert main(["run", "--date", "2024-03-13", "--data", PRICES]) == 1
    err = capsys.readouterr().err
    assert "already traded on 2024-03-15" in err and "--home DIR" in err
    assert err.count("\n") == 1


def test_a_books_file_elsewhere_with_120_books_gives_one_json_document_and_its_cash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 120 trivial books in a folder of their own, run from yet another directory
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "spy.clj").write_text('(defsymphony "SPY only" {} (asset "SPY"))\n')
    entries = "".join(
        f"      - {{id: b{i:03d}, strategy: spy.clj, share: 0.008}}\n" for i in range(120)
    )
    (folder / "many.yaml").write_text(f"stages:\n  dev:\n    books:\n{entries}")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    # When a new home is opened with $50,000 and the day runs with --json
    code, summary = run_json(
        capsys, "--books", str(folder / "many.yaml"), "--cash", "50000",
        "--date", "2024-03-14", "--data", PRICES, "--home", str(tmp_path / "home"),
    )  # fmt: skip
    # Then stdout held exactly the summary (no metrics line), for all 120 books
    assert code == 0 and summary["status"] == "SUCCEEDED"
    assert len(summary["books"]) == 120
    assert {b["capital"] for b in summary["books"]} == {"400.00"}  # 0.8 % of $50,000
    # And the metrics the handlers printed were kept beside the execution history
    assert Path(summary["history"]).with_suffix(".log").read_text().startswith('{"_aws"')
    # And that home's opening cash cannot change any more
    refused = ["run", "--home", str(tmp_path / "home"), "--data", PRICES, "--cash", "60000"]
    assert main(refused) == 1
    assert "opened with $50,000.00" in capsys.readouterr().err


def test_the_kill_switch_armed_before_the_first_run_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fresh directory: no home, no ledger yet
    monkeypatch.chdir(tmp_path)
    # When the switch is armed for the real data's home, then that data's day runs
    assert (
        main(["kill-switch", "on", "--reason", "not before I read the code", "--data", PRICES]) == 0
    )
    assert "kill switch: ON" in capsys.readouterr().out
    _, summary = run_json(capsys, "--date", "2024-03-14", "--data", PRICES, "--stage", "DEV")
    # Then the books are evaluated, nothing is sent, and the run says why
    assert summary["orders"] == []
    assert "not before I read the code" in summary["message"]
    assert set(books(summary).values()) <= {"not_traded", "held", "on_target"}
