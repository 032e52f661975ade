"""`alchemiser backtest FILE --report OUT.html [--benchmark T]` on real data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alchemiser.cli import main
from tests.conftest import COMPOSER_DIR, PRICES_DIR, REPO_ROOT
from tests.support.pages import read_page

NUCLEAR = REPO_ROOT / "strategies" / "nuclear_energy_rotation.clj"
MODS = COMPOSER_DIR / "tqqq_ftlt_mods.clj"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def backtest(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    return run(capsys, "backtest", str(NUCLEAR), "--data", str(PRICES_DIR), *extra)


def test_report_shows_the_same_figures_as_the_json_against_spy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given
    out_file = tmp_path / "nuclear.html"
    # When
    code, out, err = backtest(capsys, "--slippage-bps", "5", "--json", "--report", str(out_file))
    # Then: stdout is still exactly the JSON; the report's path goes to stderr
    assert code == 0
    metrics = json.loads(out)
    assert f"Report: {out_file}" in err
    page = read_page(out_file)
    performance = page.table("Performance")
    assert performance[""] == ["nuclear_energy_rotation", "SPY"]
    assert performance["Total return"][0] == f"{metrics['total_return'] * 100:,.2f} %"
    assert performance["CAGR"][0] == f"{metrics['annualized_return'] * 100:,.2f} %"
    assert performance["Sharpe"][0] == f"{metrics['sharpe']:,.2f}"
    assert performance["Max drawdown"][0] == f"{metrics['max_drawdown'] * 100:,.2f} %"
    assert performance["Turnover (per year)"][0] == f"{metrics['turnover']:,.2f}"
    assert "Against SPY" in page.tables
    assert page.title == "Nuclear Energy Rotation: backtest"
    assert page.scripts[0].startswith("assets/plotly-")
    assert (tmp_path / page.scripts[0]).is_file()
    # equity, drawdown, monthly heatmap, rolling Sharpe, rolling volatility, allocation
    assert len(page.figures) == 6
    assert {trace["stackgroup"] for trace in page.figures[5]["data"]} == {"weights"}
    # the equity chart's first point is 10,000 less the initial trade's 5 bps
    equity = page.figures[0]["data"]
    assert equity[0]["y"][0] == pytest.approx(10_000 * (1 - 5e-4), abs=0.01)
    assert equity[1]["name"] == "SPY" and equity[1]["y"][0] == 10_000
    assert page.notes == [
        f"Backtest of nuclear_energy_rotation.clj on prices from {PRICES_DIR}: trades at each "
        f"close from {metrics['start']}, rebalance daily, slippage 5 bps on traded notional.",
        f"Benchmark SPY: bought at the close of {metrics['start']} and held, no costs.",
    ]


def test_a_report_on_synthetic_prices_says_which_are_synthetic(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a price directory in which XLK is marked as a synthetic stand-in
    data = tmp_path / "prices"
    shutil.copytree(PRICES_DIR, data)
    (data / "SYNTHETIC.txt").write_text("XLK\n")
    # When
    code, _, err = run(
        capsys, "backtest", str(NUCLEAR), "--data", str(data), "--report", str(tmp_path / "r.html")
    )
    # Then
    assert code == 0, err
    notes = read_page(tmp_path / "r.html").notes
    assert "Synthetic prices (not market data) for 1 ticker(s): XLK." in notes


def test_text_output_ends_with_where_the_report_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given / When
    code, out, _ = backtest(capsys, "--report", str(tmp_path / "r.html"), "--benchmark", "qqq")
    # Then
    assert code == 0
    assert out.splitlines()[-1].startswith(f"Report: {tmp_path / 'r.html'} (charts: ")
    assert read_page(tmp_path / "r.html").table("Performance")[""] == [
        "nuclear_energy_rotation",
        "QQQ",
    ]


def test_a_symphony_benchmark_is_backtested_over_the_same_days(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given tqqq_ftlt_mods (valid from 2011) as the benchmark of the nuclear rotation
    out_file = tmp_path / "r.html"
    # When
    code, _, err = backtest(capsys, "--report", str(out_file), "--benchmark", str(MODS))
    # Then
    assert code == 0, err
    page = read_page(out_file)
    assert page.table("Performance")[""] == ["nuclear_energy_rotation", "tqqq_ftlt_mods"]
    assert "Against tqqq_ftlt_mods" in page.tables


def test_an_unknown_benchmark_ticker_writes_nothing_and_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given / When
    code, out, err = backtest(capsys, "--report", str(tmp_path / "r.html"), "--benchmark", "NOPE")
    # Then
    assert code == 1
    assert out == ""
    assert "report not written" in err and "NOPE" in err
    assert not (tmp_path / "r.html").exists()


def test_a_benchmark_starting_after_the_backtest_names_the_day(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given SVIX, whose data starts in 2022, against a backtest starting earlier
    # When
    code, _, err = backtest(capsys, "--report", str(tmp_path / "r.html"), "--benchmark", "SVIX")
    # Then
    assert code == 1
    assert "benchmark SVIX has no value on" in err
    assert "choose a start on or after its first day" in err


def test_benchmark_without_report_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # Given / When
    code, _, err = backtest(capsys, "--benchmark", "QQQ")
    # Then
    assert code == 1
    assert "add --report OUT.html" in err
