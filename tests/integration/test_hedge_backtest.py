"""alchemiser backtest books.yaml --hedge: protected vs unprotected equity on real prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alchemiser.cli import main
from tests.conftest import PRICES_DIR, REPO_ROOT

METRIC_KEYS = {
    "start", "end", "days", "total_return", "annualized_return", "volatility", "sharpe",
    "sortino", "max_drawdown", "calmar", "turnover",
}  # fmt: skip
HEDGE = """\
    hedge:
      underlying: QQQ
      template: {template}
      protect: {{move: -0.20, payoff: 0.15}}
      budget: {{monthly: 0.01, yearly: 0.06}}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def books(tmp: Path, ticker: str, template: str = "tail", hedge: bool = True) -> Path:
    (tmp / "hold.clj").write_text(
        f'(defsymphony "hold {ticker}" {{}} (asset "{ticker}"))', encoding="utf-8"
    )
    stage = HEDGE.format(template=template) if hedge else ""
    path = tmp / "books.yaml"
    path.write_text(
        f"stages:\n  dev:\n{stage}    books:\n      - id: hold\n        strategy: hold.clj\n        share: 1\n",
        encoding="utf-8",
    )
    return path


def test_the_repos_books_print_the_documented_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "backtest", str(REPO_ROOT / "strategies" / "books.yaml"), "--hedge",
        "--data", str(PRICES_DIR), "--start", "2025-01-02", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"unhedged", "hedged", "premium_per_year"}
    assert set(result["unhedged"]) == set(result["hedged"]) == METRIC_KEYS
    assert result["unhedged"]["start"] == "2025-01-03"
    assert list(result["premium_per_year"]) == ["2025", "2026"]
    assert all(0 <= v <= 0.1 for v in result["premium_per_year"].values())


def test_in_the_2020_crash_the_hedge_cuts_the_drawdown_of_a_qqq_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = books(tmp_path, "QQQ")
    code, out, err = run(
        capsys, "backtest", str(path), "--hedge", "--data", str(PRICES_DIR),
        "--start", "2019-09-03", "--end", "2020-06-30", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    unhedged, hedged = result["unhedged"], result["hedged"]
    assert unhedged["max_drawdown"] > 0.28  # QQQ fell about 28.6 % in February-March 2020
    # puts paying 15 % of NAV at -20 % take several points off it (19.3 % measured)
    assert hedged["max_drawdown"] < unhedged["max_drawdown"] - 0.05
    assert result["premium_per_year"]["2019"] > 0


def test_an_account_with_no_delta_buys_no_hedge_and_matches_the_unhedged_curve(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = books(tmp_path, "BIL", template="spread")
    code, out, err = run(
        capsys, "backtest", str(path), "--hedge", "--data", str(PRICES_DIR),
        "--start", "2022-01-03", "--end", "2023-01-31", "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    # A BIL account has no delta to protect: no hedge, the same curve (to float rounding)
    hedged, unhedged = result["hedged"], result["unhedged"]
    assert hedged.keys() == unhedged.keys()
    for key, value in unhedged.items():
        assert hedged[key] == (value if isinstance(value, str) else pytest.approx(value, rel=1e-9))
    assert set(result["premium_per_year"].values()) == {0.0}


def test_the_text_report_shows_both_curves_premium_and_drawdowns(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = books(tmp_path, "QQQ")
    code, out, _ = run(
        capsys, "backtest", str(path), "--hedge", "--data", str(PRICES_DIR),
        "--start", "2019-09-03", "--end", "2020-06-30",
    )  # fmt: skip
    assert code == 0
    assert "unhedged      hedged" in out
    assert "premium paid (of the year's average NAV):" in out
    assert "worst drawdowns, hedged:" in out and "2020-02-19 -> 2020-03-16" in out


def test_mistakes_are_one_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    unhedged = books(tmp_path, "QQQ", hedge=False)
    code, _, err = run(capsys, "backtest", str(unhedged), "--hedge", "--data", str(PRICES_DIR))
    assert code == 1 and "stage dev of" in err and "has no hedge: policy" in err
    # Without --hedge a books file is the portfolio backtest of its stage.
    code, out, _ = run(
        capsys, "backtest", str(unhedged), "--data", str(PRICES_DIR), "--start", "2026-07-01"
    )
    assert code == 0 and "Portfolio backtest of stage dev (books.yaml): hold 100.0%" in out
    code, _, err = run(
        capsys, "backtest", str(tmp_path / "hold.clj"), "--hedge", "--data", str(PRICES_DIR)
    )
    assert code == 1 and "--hedge backtests a books file" in err
    hedged = books(tmp_path, "QQQ")
    code, _, err = run(
        capsys, "backtest", str(hedged), "--hedge", "--data", str(PRICES_DIR), "--report", "x.html"
    )
    assert code == 1 and "--report apply to a symphony backtest, not to --hedge" in err
