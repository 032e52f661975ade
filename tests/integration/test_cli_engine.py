"""The engine's command line: the exact forms and outputs the issue specifies."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from alchemiser.cli import main
from tests.conftest import COMPOSER_DIR, PRICES_DIR, REPO_ROOT, SYMPHONIES_DIR

MODS = COMPOSER_DIR / "tqqq_ftlt_mods.clj"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_json_prints_as_of_and_weights(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "eval", str(MODS), "--date", "2020-03-16", "--data", str(PRICES_DIR), "--json"
    )
    assert code == 0
    printed = json.loads(out)
    assert printed["as_of"] == "2020-03-16"
    assert printed["weights"] == {"BIL": 0.5, "TECL": 0.5}
    # the data-quality check of the closes it read: BTAL's bad print of 2015 and SPY's
    # genuine -3.5 % of 2007-02-27 (8.9 sigma, and no peer among these tickers), which
    # this day's allocation does not depend on
    quality = printed["data_quality"]
    assert [(i["ticker"], i["date"], i["kind"]) for i in quality["issues"]] == [
        ("BTAL", "2015-04-29", "bad_print"),
        ("SPY", "2007-02-27", "suspicious"),
    ]
    assert quality["depends"] is False


def test_eval_trace_explains_each_decision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "eval",
        str(MODS),
        "--date",
        "2020-03-16",
        "--data",
        str(PRICES_DIR),
        "--json",
        "--trace",
    )
    trace = json.loads(out)["trace"]
    first_if = trace["children"][0]["children"][0]
    assert code == 0
    assert first_if["node"] == "if"
    assert (
        first_if["condition"]
        == '(> (current-price "SPY") (moving-average-price "SPY" {:window 200}))'
    )
    assert first_if["branch"] == "else" and first_if["lhs"] < first_if["rhs"]
    code, text, _ = run(
        capsys, "eval", str(MODS), "--date", "2020-03-16", "--data", str(PRICES_DIR), "--trace"
    )
    assert "take else" in text and "=> BIL 50.00%, TECL 50.00%" in text


def test_eval_before_the_warm_up_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "eval", str(MODS), "--date", "2011-09-30", "--data", str(PRICES_DIR))
    assert code == 1
    assert "first valid day in this data is 2011-10-04" in err and "UVXY" in err


def test_a_symphony_needing_tickers_without_data_names_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys, "eval", str(SYMPHONIES_DIR / "kmlm_switcher.clj"), "--data", str(PRICES_DIR)
    )
    assert code == 1
    assert "no price data" in err and "FTLS" in err


def test_backtest_json_and_its_csv_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    allocations, equity = tmp_path / "alloc.csv", tmp_path / "equity.csv"
    code, out, _ = run(
        capsys,
        "backtest",
        str(MODS),
        "--data",
        str(PRICES_DIR),
        "--start",
        "2015-01-02",
        "--end",
        "2019-12-31",
        "--slippage-bps",
        "5",
        "--json",
        "--allocations-out",
        str(allocations),
        "--equity-out",
        str(equity),
    )
    metrics = json.loads(out)
    assert code == 0
    assert set(metrics) == {
        "start",
        "end",
        "days",
        "total_return",
        "annualized_return",
        "volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "calmar",
        "turnover",
        "data_quality",
    }
    assert [i["date"] for i in metrics["data_quality"]["issues"]] == ["2015-04-29", "2007-02-27"]
    assert metrics["start"] == "2015-01-02" and metrics["end"] == "2019-12-31"
    assert 0 < metrics["max_drawdown"] < 1
    rows = list(csv.DictReader(allocations.open()))
    assert len(rows) == metrics["days"]
    assert rows[0]["date"] == "2015-01-02"
    assert sum(json.loads(rows[0]["weights"]).values()) == pytest.approx(1.0)
    curve = list(csv.DictReader(equity.open()))
    assert float(curve[-1]["equity"]) == pytest.approx(1 + metrics["total_return"])


def test_import_composer_writes_a_clj_that_evaluates_like_the_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "kmlm.clj"
    code, _, _ = run(
        capsys,
        "import-composer",
        str(COMPOSER_DIR / "kmlm_switcher.composer.json"),
        "-o",
        str(out_file),
    )
    assert code == 0
    code, out, _ = run(
        capsys, "eval", str(out_file), "--date", "2024-06-28", "--data", str(PRICES_DIR), "--json"
    )
    assert code == 0 and sum(json.loads(out)["weights"].values()) == pytest.approx(1.0)


def test_validate_reports_every_error_of_every_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad1, bad2 = tmp_path / "a.clj", tmp_path / "b.clj"
    bad1.write_text('(defsymphony "a" {} (weight-equal [(asset "SPY") (foo)]))')
    bad2.write_text('(defsymphony "b" {} (if (> (rsi "SPY" {:window 0}) 1) [(asset "SPY")] []))')
    code, out, err = run(
        capsys, "validate", str(bad1), str(bad2), str(REPO_ROOT / "strategies" / "books.yaml")
    )
    assert code == 1
    assert "a.clj:1:" in err and "unknown operator 'foo'" in err
    assert "b.clj:1:" in err and "expected an integer >= 1" in err
    assert "2 of 3 file(s) have errors" in err
    assert "ok books.yaml [dev]" in out


def test_a_backtest_starting_after_the_data_says_so_in_dates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys, "backtest", str(MODS), "--data", str(PRICES_DIR), "--start", "2030-01-01"
    )
    assert code == 1
    assert "starts on 2030-01-01, after the last day in the data (2026-08-03)" in err
