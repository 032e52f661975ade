"""``alchemiser data pull`` against Alpaca's bars endpoint answered by ``responses``.

The answers (``tests.support.alpaca_bars``) carry the real closes of
``../shared/data/prices`` in Alpaca's documented shape; Berkshire, which the shared
data lacks, is a SYNTHETIC stand-in (its values carry no meaning). A split is played by
halving every close before its day, which is what Alpaca's ``adjustment=all`` answers
after a 2-for-1 split.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import responses

from alchemiser.cli import main
from alchemiser.dsl.parser import load_symphony
from alchemiser.dsl.program import compile_symphony
from alchemiser.market.loader import load_price_directory, save_price_directory
from alchemiser.market.synthetic import synthetic_market
from tests.conftest import COMPOSER_DIR, PRICES_DIR
from tests.support.alpaca_bars import AlpacaBarsServer

JUL_29, JUL_30, JUL_31 = date(2026, 7, 29), date(2026, 7, 30), date(2026, 7, 31)
MODS = COMPOSER_DIR / "tqqq_ftlt_mods.clj"


def real(ticker: str, through: date = JUL_31) -> pd.Series:
    """The real closes of ``ticker`` from Alpaca's history start (2016-01-04) to ``through``."""
    history = load_price_directory(PRICES_DIR, [ticker]).truncate(through)
    closes = pd.Series(history.column(ticker), index=pd.DatetimeIndex(history.dates))
    return closes[closes.index >= "2016-01-04"].dropna()


def berkshire() -> pd.Series:
    market = synthetic_market(["BRK.B"], date(2016, 1, 4), JUL_31)
    return pd.Series(market.column("BRK.B"), index=pd.DatetimeIndex(market.dates))


def split(closes: pd.Series, effective: date, ratio: float = 2.0) -> pd.Series:
    """Return the closes as Alpaca adjusts them after a ``ratio``-for-1 split on ``effective``."""
    factor = np.where(closes.index < pd.Timestamp(effective), 1 / ratio, 1.0)
    return closes * factor


def stored(path: Path) -> pd.Series:
    frame = pd.read_csv(path, float_precision="round_trip")
    return pd.Series(frame["Adj Close"].to_numpy(), index=pd.DatetimeIndex(frame["Date"]))


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALCHEMISER_ALPACA_KEY_ID", "key-id")
    monkeypatch.setenv("ALCHEMISER_ALPACA_SECRET_KEY", "secret-key")


@pytest.fixture
def alpaca(keys: None) -> Iterator[AlpacaBarsServer]:
    server = AlpacaBarsServer({"SPY": real("SPY"), "BRK.B": berkshire()})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        yield server


def pull(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["data", "pull", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_pull_fills_an_empty_directory_under_canonical_names(
    alpaca: AlpacaBarsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When SPY and Berkshire (as Composer spells it) are pulled into a new directory
    prices = tmp_path / "prices"
    code, out, _ = pull(
        capsys, "--data", str(prices), "--tickers", "SPY", "BRK/B", "--through", str(JUL_29)
    )

    # Then each has its file, holding every adjusted close Alpaca has through that day
    assert code == 0, out
    assert sorted(p.name for p in prices.iterdir()) == ["BRK.B.csv", "SPY.csv"]
    expected = real("SPY", JUL_29)
    after = stored(prices / "SPY.csv")
    assert list(after.index) == list(expected.index)
    np.testing.assert_array_equal(after.to_numpy(), expected.to_numpy())
    assert "new tickers: 2 (BRK.B, SPY)" in out
    # And Alpaca was asked for adjusted daily bars in its own spelling, page by page
    first = alpaca.requests[0]
    assert (first["symbols"], first["timeframe"], first["adjustment"]) == (
        "SPY,BRK.B",
        "1Day",
        "all",
    )
    assert len(alpaca.requests) > 5  # 2 x 2,660 bars at 1,000 a page


def test_a_split_between_two_pulls_rebases_the_stored_history(
    alpaca: AlpacaBarsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given SPY pulled through 07-29
    prices = tmp_path / "prices"
    assert pull(capsys, "--data", str(prices), "--tickers", "SPY", "--through", str(JUL_29))[0] == 0

    # When SPY splits 2-for-1 on 07-30 and the directory is pulled again through 07-31
    alpaca.closes["SPY"] = split(real("SPY"), JUL_30)
    code, out, _ = pull(capsys, "--data", str(prices), "--through", str(JUL_31), "--json")

    # Then every stored close is halved, the two new days appended, and the summary says so
    assert code == 0
    summary = json.loads(out)
    assert summary["rebased"] == [{"ticker": "SPY", "factor": pytest.approx(0.5)}]
    assert summary["updated"] == [{"ticker": "SPY", "closes_added": 2}]
    after = stored(prices / "SPY.csv")
    expected = split(real("SPY"), JUL_30)
    np.testing.assert_allclose(after.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert list(after.index) == list(expected.index)
    # And only the last stored day was asked for again, not the whole history
    assert alpaca.requests[-1]["start"].startswith("2026-07-29")

    # When it is pulled once more, Then nothing changes
    code, out, _ = pull(capsys, "--data", str(prices), "--through", str(JUL_31))
    assert code == 0 and "already up to date: 1 ticker(s)" in out
    assert "histories re-based after a split or dividend: 0" in out


def test_a_copy_of_the_shared_data_is_brought_up_to_date(
    keys: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the shared SPY and TLT files, cut at 07-29, and Alpaca's closes through 07-31
    prices = tmp_path / "prices"
    save_price_directory(load_price_directory(PRICES_DIR, ["SPY", "TLT"]).truncate(JUL_29), prices)
    server = AlpacaBarsServer({"SPY": real("SPY"), "TLT": real("TLT")})
    with responses.RequestsMock() as mock:
        server.install(mock)
        code, out, _ = pull(capsys, "--data", str(prices), "--through", str(JUL_31))

    # Then two closes were added to each, and the files now match the shared data
    assert code == 0
    assert "updated: 2 ticker(s), 4 closes added" in out
    pulled = load_price_directory(prices).truncate(JUL_31)
    shared = load_price_directory(PRICES_DIR, ["SPY", "TLT"]).truncate(JUL_31)
    np.testing.assert_allclose(pulled.closes, shared.closes, rtol=1e-12)


def test_a_symphonys_tickers_are_pulled_and_validate_then_finds_nothing_missing(
    keys: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty directory, and Alpaca holding every ticker of tqqq_ftlt_mods.clj
    prices = tmp_path / "prices"
    tickers = compile_symphony(load_symphony(MODS)).tickers
    code, _, err = (main(["validate", str(MODS), "--data", str(PRICES_DIR)]), *capsys.readouterr())
    assert code == 0, err
    server = AlpacaBarsServer({t: real(t) for t in tickers})

    # When its tickers are pulled from the symphony file
    with responses.RequestsMock() as mock:
        server.install(mock)
        code, out, _ = pull(
            capsys,
            *("--data", str(prices), "--from", str(MODS)),
            *("--start", "2025-01-02", "--through", str(JUL_31)),
        )

    # Then every one of them has its file, from the day asked for, and validate finds
    # nothing missing
    assert code == 0, out
    assert f"new tickers: {len(tickers)}" in out
    assert server.requests[0]["start"].startswith("2025-01-02")
    code = main(["validate", str(MODS), "--data", str(prices)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "ok tqqq_ftlt_mods.clj" in out and "missing" not in err


def test_a_ticker_alpaca_has_no_bars_for_is_named_and_the_others_are_pulled(
    alpaca: AlpacaBarsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices"
    code, out, _ = pull(
        capsys, "--data", str(prices), "--tickers", "SPY", "NOPE", "--through", str(JUL_29)
    )
    assert code == 1
    assert "failed: 1 ticker(s):" in out and "NOPE: expected daily bars up to 2026-07-29" in out
    assert (prices / "SPY.csv").is_file() and not (prices / "NOPE.csv").exists()


def test_a_file_with_more_than_closes_is_left_as_it_is(
    alpaca: AlpacaBarsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a downloaded SPY file with open, high, low, close and volume
    prices = tmp_path / "prices"
    prices.mkdir()
    closes = real("SPY", JUL_29)
    frame = pd.DataFrame({"Date": closes.index.strftime("%Y-%m-%d"), "Open": closes})
    frame = frame.assign(High=closes.values, Low=closes.values, Close=closes.values, Volume=1)
    frame.to_csv(prices / "SPY.csv", index=False)
    before = (prices / "SPY.csv").read_bytes()

    # When the directory is pulled
    code, out, _ = pull(capsys, "--data", str(prices), "--through", str(JUL_31))

    # Then the file is untouched and the summary says why
    assert code == 1
    assert "found columns Date, Open, High, Low, Close, Volume: left as it is" in out
    assert (prices / "SPY.csv").read_bytes() == before


def test_a_synthetic_stand_in_is_replaced_by_the_real_history(
    alpaca: AlpacaBarsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a directory whose BRK.B is a synthetic stand-in (listed in SYNTHETIC.txt)
    prices = tmp_path / "prices"
    save_price_directory(synthetic_market(["BRK.B"], date(2020, 1, 2), JUL_29), prices)
    alpaca.closes["BRK.B"] = real("SPY")  # "real" Berkshire closes for this test

    # When it is pulled
    code, out, _ = pull(capsys, "--data", str(prices), "--through", str(JUL_31))

    # Then its whole history comes from Alpaca and it is no longer labelled synthetic
    assert code == 0 and "new tickers: 1 (BRK.B)" in out
    pulled = load_price_directory(prices)
    assert pulled.synthetic == frozenset()
    np.testing.assert_allclose(pulled.column("BRK.B")[-3:], real("SPY").to_numpy()[-3:])


def test_without_keys_the_pull_says_which_settings_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ALCHEMISER_ALPACA_KEY_ID", raising=False)
    monkeypatch.delenv("ALCHEMISER_ALPACA_SECRET_KEY", raising=False)
    code, _, err = pull(capsys, "--data", str(tmp_path), "--tickers", "SPY")
    assert code == 1
    assert "set ALCHEMISER_ALPACA_KEY_ID and ALCHEMISER_ALPACA_SECRET_KEY" in err


def test_an_empty_directory_without_tickers_is_a_clear_error(
    keys: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = pull(capsys, "--data", str(tmp_path / "none"))
    assert code == 1
    assert "holds no price file: name the tickers to pull with --from or --tickers" in err


def test_refused_keys_are_a_configuration_error(
    keys: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with responses.RequestsMock() as mock:
        mock.get(
            "https://data.alpaca.markets/v2/stocks/bars", status=403, json={"message": "forbidden"}
        )
        code, _, err = pull(
            capsys, "--data", str(tmp_path), "--tickers", "SPY", "--through", str(JUL_31)
        )
    assert code == 1
    assert "Alpaca answered HTTP 403" in err
