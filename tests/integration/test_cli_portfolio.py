"""``alchemiser backtest books.yaml --stage S``: the account of a stage over real history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alchemiser.cli import main
from tests.conftest import PRICES_DIR, REPO_ROOT, SYMPHONIES_DIR

BOOKS = REPO_ROOT / "strategies" / "books.yaml"
PLAIN_KEYS = {
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
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_book(directory: Path, symphony: Path, policy: str = "") -> Path:
    """Write a books file whose dev stage is ``symphony`` alone, share 1."""
    shutil.copy(symphony, directory / symphony.name)
    path = directory / "books.yaml"
    path.write_text(
        f"stages:\n  dev:\n{policy}    books:\n      - id: only\n"
        f"        strategy: {symphony.name}\n        share: 1\n",
        encoding="utf-8",
    )
    return path


def test_the_text_says_who_joined_when_and_every_books_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "backtest", str(BOOKS), "--stage", "dev", "--data", str(PRICES_DIR),
        "--start", "2019-01-02", "--end", "2021-12-31",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "Portfolio backtest of stage dev (books.yaml): nuclear 30.0%, tech-momentum 40.0%, "
        "klm-ensemble 30.0%"
    )
    assert lines[1].startswith("  2019-01-02 -> 2021-12-31, 757 days, $100,000 at the start")
    assert "capital policy threshold 0.05: back to the target shares" in out
    assert "costs: spread 2 bps, slippage 1 bps" in out
    assert (
        "klm-ensemble (klm_ensemble.clj) joined on 2020-12-31, its symphony's first valid day"
    ) in out
    assert "until then its 30.0% waited in the pool, earning nothing." in out
    for book in ("account", "nuclear", "tech-momentum", "klm-ensemble"):
        assert any(line.startswith(f"  {book} ") for line in lines), book


def test_json_has_the_plain_keys_for_the_account_and_every_book(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "backtest", str(BOOKS), "--stage", "prod", "--data", str(PRICES_DIR),
        "--start", "2021-01-04", "--json",
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out)
    assert set(payload) >= PLAIN_KEYS
    assert payload["stage"] == "prod" and payload["start"] == "2021-01-04"
    assert list(payload["books"]) == ["nuclear", "tech-momentum", "klm-ensemble"]
    for book in payload["books"].values():
        assert set(book) >= PLAIN_KEYS
        assert book["joined"] == "2021-01-04"
    # prod's shares leave 10 % unallocated: the pool holds it
    assert payload["capital"]["final_pool_share"] == pytest.approx(0.1, abs=0.06)
    assert payload["capital"]["policy"].startswith("threshold 0.05")


def test_one_book_at_share_one_prints_the_plain_backtests_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stage of one symphony, share 1; no minimums (settings) and no costs
    symphony = REPO_ROOT / "strategies" / "nuclear_energy_rotation.clj"
    books = one_book(tmp_path, symphony, "    capital-rebalance: monthly\n")
    monkeypatch.setenv("ALCHEMISER_MIN_TRADE_NOTIONAL", "0")
    monkeypatch.setenv("ALCHEMISER_MIN_TRADE_FRACTION", "0")
    window = ("--data", str(PRICES_DIR), "--start", "2012-01-03", "--json")
    # When both are backtested
    _, plain, _ = run(capsys, "backtest", str(symphony), *window)
    code, portfolio, _ = run(capsys, "backtest", str(books), "--slippage-bps", "0", *window)
    # Then the account's figures are the plain backtest's
    assert code == 0
    ours, theirs = json.loads(portfolio), json.loads(plain)
    quality = theirs.pop("data_quality")
    assert ours["data_quality"]["issues"] == quality["issues"]  # the same check, same closes
    assert ours["data_quality"]["books"] == {"only": quality["decided_days"]}
    for key, value in theirs.items():
        assert ours[key] == (pytest.approx(value, rel=1e-9) if isinstance(value, float) else value)
    assert ours["capital"]["transfers"] == 1  # the funding; a monthly rebalance moves nothing


def test_report_writes_a_site_with_the_account_and_every_book(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a report directory
    site = tmp_path / "site"
    code, out, _ = run(
        capsys, "backtest", str(BOOKS), "--data", str(PRICES_DIR), "--start", "2020-06-01",
        "--end", "2021-06-30", "--report", str(site), "--benchmark", "QQQ",
    )  # fmt: skip
    # Then the index links the account's page and each book's page
    assert code == 0
    assert f"Report: {site / 'index.html'} (4 pages;" in out
    names = sorted(p.name for p in site.glob("*.html"))
    assert names == [
        "account.html",
        "book-klm-ensemble.html",
        "book-nuclear.html",
        "book-tech-momentum.html",
        "index.html",
    ]
    index = (site / "index.html").read_text()
    assert 'href="account.html"' in index and 'href="book-klm-ensemble.html"' in index
    account = (site / "account.html").read_text()
    assert "Capital transfers" in account and "Benchmark QQQ: bought at the close" in account
    assert "klm-ensemble (klm_ensemble.clj) joined on 2020-12-31" in account
    klm = (site / "book-klm-ensemble.html").read_text()
    assert "2020-12-31 to 2021-06-30" in klm
    # And an .html path names the index, the pages beside it
    code, out, _ = run(
        capsys, "backtest", str(BOOKS), "--data", str(PRICES_DIR), "--start", "2021-01-04",
        "--end", "2021-03-31", "--report", str(tmp_path / "other" / "dev.html"),
    )  # fmt: skip
    assert code == 0 and (tmp_path / "other" / "dev.html").is_file()
    assert 'href="dev.html"' in (tmp_path / "other" / "account.html").read_text()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("--stage", "qa"), "stage 'qa' is not configured; configured stages: dev, prod, staging"),
        (("--equity-out", "x.csv"), "--equity-out apply to a symphony backtest, not to a books"),
        (("--benchmark", "QQQ"), "--benchmark sets the benchmark of the report: add --report"),
        (("--start", "2022-01-01", "--end", "2021-01-01"), "--start 2022-01-01 is after --end"),
        (("--end", "1990-01-01"), "the data has no day on or before 1990-01-01"),
    ],
)
def test_mistakes_are_one_clear_error(
    capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], expected: str
) -> None:
    code, out, err = run(capsys, "backtest", str(BOOKS), "--data", str(PRICES_DIR), *extra)
    assert code == 1 and out == ""
    assert expected in err


def test_missing_prices_name_every_missing_ticker(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "prices"
    data.mkdir()
    shutil.copy(PRICES_DIR / "SPY.csv", data / "SPY.csv")
    code, _, err = run(capsys, "backtest", str(BOOKS), "--data", str(data))
    assert code == 1
    assert "no price data in" in err and "BIL" in err and "XLE" in err


def test_validate_shows_each_stages_capital_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    books = one_book(
        tmp_path,
        REPO_ROOT / "strategies" / "klm_ensemble.clj",
        "    capital-rebalance: quarterly\n",
    )
    code, out, _ = run(capsys, "validate", str(books))
    assert code == 0
    assert (
        "capital rebalance: quarterly: back to the target shares on the first day of each new quarter"
        in out
    )


def test_the_account_reports_a_books_flagged_close_and_strict_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a book whose symphony reads SOXS, whose shared data misses a split on 2026-05-26
    books = one_book(tmp_path, SYMPHONIES_DIR / "soxl_growth.clj")
    window = ("--data", str(PRICES_DIR), "--start", "2026-01-02")
    # When the account is backtested, then again with --strict
    code, out, _ = run(capsys, "backtest", str(books), *window, "--json")
    strict, _, err = run(capsys, "backtest", str(books), *window, "--strict")
    # Then the JSON names the flagged close, and --strict refuses with it
    assert code == 0
    issues = json.loads(out)["data_quality"]["issues"]
    assert ("SOXS", "2026-05-26") in {(i["ticker"], i["date"]) for i in issues}
    assert strict == 1
    assert "SOXS 2026-05-26" in err and "--strict" in err
