"""``eval``, ``backtest`` and ``validate --data`` run the cycle's data-quality check.

On the shared data, SOXS steps from 1146.15 to 62.18 on 2026-05-26 (-94.6 % while its
inverse twin SOXL rose 18.5 %: a split the data never adjusted). ``soxl_growth.clj``
holds SOXS through that close.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alchemiser.cli import main
from tests.conftest import PRICES_DIR, SYMPHONIES_DIR

SOXL_GROWTH = SYMPHONIES_DIR / "soxl_growth.clj"
# Decides on SOXS's 60-day return, which spans the unadjusted split.
READS_SOXS = """(defsymphony "reads SOXS" {}
  (if (> (cumulative-return "SOXS" {:window 60}) -80) [(asset "SOXL")] [(asset "TQQQ")]))
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_backtest_reports_the_soxs_day_and_the_allocation_held_through_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When soxl_growth is backtested on the shared data
    code, out, _ = run(capsys, "backtest", str(SOXL_GROWTH), "--data", str(PRICES_DIR))

    # Then the metrics come with what the check found: the day, the kind, the close,
    # the allocation that held SOXS through it, and the figures without it
    assert code == 0
    assert "max drawdown              99.19 %" in out
    assert "SOXS 2026-05-26 suspicious 62.1757: expected a move its peers explain" in out
    assert "2026-05-26 held SOXS 100% through a flagged -94.6%" in out
    assert "without the flagged closes: total return" in out
    assert "max drawdown 85.06 %" in out


def test_a_backtest_json_carries_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "backtest", str(SOXL_GROWTH), "--data", str(PRICES_DIR), "--json")
    printed = json.loads(out)
    quality = printed["data_quality"]
    assert code == 0
    [issue] = quality["issues"]
    assert (issue["ticker"], issue["date"], issue["kind"]) == ("SOXS", "2026-05-26", "suspicious")
    assert issue["value"] == pytest.approx(62.1757, rel=1e-5)
    assert issue["move"] == pytest.approx(-0.9458, abs=1e-4)
    assert quality["held_through"] == [
        {"date": "2026-05-26", "ticker": "SOXS", "weight": 1.0, "move": issue["move"]}
    ]
    assert quality["decided_days"] == []
    assert quality["without_flagged"]["max_drawdown"] < printed["max_drawdown"]


@pytest.mark.parametrize("command", ["backtest", "eval"])
def test_strict_refuses_to_go_on_and_says_why(
    capsys: pytest.CaptureFixture[str], command: str, tmp_path: Path
) -> None:
    out_file = tmp_path / "alloc.csv"
    extra = ["--allocations-out", str(out_file)] if command == "backtest" else []
    code, out, err = run(
        capsys, command, str(SOXL_GROWTH), "--data", str(PRICES_DIR), "--strict", *extra
    )
    assert code == 1
    assert out == ""
    assert "SOXS 2026-05-26 suspicious 62.1757" in err
    assert "error: --strict: not" in err and "soxl_growth.clj" in err
    assert not out_file.exists()


def test_eval_says_when_the_days_allocation_depends_on_a_flagged_close(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a symphony deciding on SOXS's 60-day return, two months after the step
    symphony = tmp_path / "reads_soxs.clj"
    symphony.write_text(READS_SOXS)
    argv = ["eval", str(symphony), "--data", str(PRICES_DIR), "--date", "2026-07-31"]

    # When it is evaluated
    code, out, _ = run(capsys, *argv, "--json")

    # Then the allocation is given, and the check says it depends on the flagged close
    printed = json.loads(out)
    assert code == 0
    assert printed["weights"] == {"TQQQ": 1.0}
    assert printed["data_quality"]["depends"] is True
    assert printed["data_quality"]["weights_without_flagged"] == {"SOXL": 1.0}
    code, text, _ = run(capsys, *argv)
    assert code == 0
    assert (
        "the allocation of 2026-07-31 depends on them: without them it would be SOXL 100.00%"
        in text
    )


def test_validate_lists_missing_tickers_and_data_issues(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a symphony fully covered by the data and one that is not
    vox = SYMPHONIES_DIR / "vox_the_best.clj"
    code, out, err = run(capsys, "validate", str(SOXL_GROWTH), str(vox), "--data", str(PRICES_DIR))

    # Then the covered one is checked for quality (a warning without --strict) and the
    # other's missing tickers are listed, spelled as written, with how to fetch them
    assert code == 1
    assert "ok soxl_growth.clj: 26 distinct nodes, 8 tickers, data through 2026-08-03:" in out
    assert "SOXS 2026-05-26 suspicious" in out
    assert "vox_the_best.clj: no price data in" in err
    assert "missing from" in err and "51 ticker(s): AAPL, AMGN" in err and "BRK/B" in err
    assert f"alchemiser data pull --data {PRICES_DIR} --from {vox}" in err
    assert "1 of 2 file(s) have errors" in err


def test_validate_strict_fails_on_a_data_issue_and_passes_clean_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "validate", str(SOXL_GROWTH), "--data", str(PRICES_DIR), "--strict")
    assert code == 1 and "error soxl_growth.clj" in err
    code, out, _ = run(
        capsys, "validate", str(SYMPHONIES_DIR / "gold.clj"), "--data", str(PRICES_DIR), "--strict"
    )
    assert code == 0
    assert (
        "ok gold.clj: 13 distinct nodes, 4 tickers, data through 2026-08-03: no data-quality issue"
        in out
    )
