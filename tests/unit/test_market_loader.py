"""Loading and saving per-ticker price files, on the real data set and on small files."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pytest

from alchemiser.market.history import MissingTickersError, PriceHistory
from alchemiser.market.loader import (
    CalendarGapError,
    PriceFileError,
    load_price_directory,
    save_price_directory,
)
from alchemiser.market.synthetic import synthetic_market

REAL_PRICES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prices"
REAL_TICKERS = (
    "AGG", "BIL", "BND", "BSV", "BTAL", "EEM", "FAS", "FNGU", "GLD", "GLL", "IEF", "IWM",
    "KMLM", "LABU", "LQD", "PSQ", "QQQ", "QQQE", "SH", "SHY", "SOXL", "SOXS", "SPXL",
    "SPXS", "SPY", "SQQQ", "SVIX", "SVXY", "TBF", "TECL", "TECS", "TLT", "TMF", "TMV",
    "TQQQ", "UGL", "UPRO", "UUP", "UVXY", "VIXM", "VIXY", "VOOG", "VOOV", "VOX", "VTV",
    "XLE", "XLF", "XLK", "XLP", "XLU", "XLY",
)  # fmt: skip


def write_csv(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text.strip() + "\n")
    return path


def csv_rows(rows: Sequence[tuple[str, float | str]], header: str = "Date,Adj Close") -> str:
    return "\n".join([header, *(f"{d},{p}" for d, p in rows)])


THREE_DAYS = [("2024-01-02", 10.0), ("2024-01-03", 11.0), ("2024-01-04", 12.0)]


# --- the real data set -------------------------------------------------------------


def test_real_directory_loads_all_51_tickers_aligned_on_one_calendar() -> None:
    # Given the shared directory of 51 real ETF files
    # When all of it is loaded
    started = time.perf_counter()
    history = load_price_directory(REAL_PRICES)
    elapsed = time.perf_counter() - started

    # Then every ticker is there, on one ascending calendar, without any filled day
    assert history.tickers == REAL_TICKERS
    assert history.dates.dtype == np.dtype("datetime64[D]")
    assert np.all(np.diff(history.dates.astype(np.int64)) > 0)
    assert (history.day(0), history.day(-1)) == (date(1993, 1, 29), date(2026, 8, 3))
    assert history.filled_gaps == {}
    assert history.synthetic == frozenset()
    # and a ticker is NaN only before its first close (the files have no holes)
    for ticker in history.tickers:
        column = history.column(ticker)
        first = history.first_valid[ticker]
        assert not np.isnan(column[first:]).any(), ticker
    # and loading stays fast (about 0.06 s here; the bound leaves room for a busy CI)
    assert elapsed < 2.0


def test_real_values_are_the_file_values_unchanged() -> None:
    # Given SPY's real file
    expected = pd.read_csv(REAL_PRICES / "SPY.csv", float_precision="round_trip")

    # When SPY is loaded on its own
    history = load_price_directory(REAL_PRICES, ["SPY"])

    # Then every close is bit-for-bit the file's value on the file's date
    assert history.tickers == ("SPY",)
    np.testing.assert_array_equal(history.column("SPY"), expected["Adj Close"].to_numpy())
    np.testing.assert_array_equal(
        history.dates, expected["Date"].to_numpy().astype("datetime64[D]")
    )


def test_requested_tickers_come_in_the_requested_order_and_later_launches_start_as_nan() -> None:
    # Given SPY (from 1993) and SVIX (launched 2022-03-30)
    # When they are requested in lower case, SVIX first
    history = load_price_directory(REAL_PRICES, ["svix", "spy", "SVIX"])

    # Then the order is kept, duplicates dropped, and SVIX is NaN before its launch
    assert history.tickers == ("SVIX", "SPY")
    assert history.day(history.first_valid["SVIX"]) == date(2022, 3, 30)
    assert np.isnan(history.column("SVIX")[: history.first_valid["SVIX"]]).all()


def test_missing_tickers_are_all_named_with_the_directory() -> None:
    # Given a request with two tickers that have no file
    # When it is loaded
    with pytest.raises(MissingTickersError) as raised:
        load_price_directory(REAL_PRICES, ["SPY", "ZZZZ", "FTLS"])

    # Then both are named, and so is the directory
    assert raised.value.missing == ("FTLS", "ZZZZ")
    assert str(REAL_PRICES) in str(raised.value)


# --- the directory -------------------------------------------------------------------


def test_only_requested_files_are_read(tmp_path: Path) -> None:
    # Given a good SPY file next to a corrupt QQQ file
    write_csv(tmp_path, "SPY.csv", csv_rows(THREE_DAYS))
    write_csv(tmp_path, "QQQ.csv", "Date,Adj Close\nnot a date,-5\n")

    # When only SPY is requested
    history = load_price_directory(tmp_path, ["SPY"])

    # Then QQQ is never opened
    assert history.tickers == ("SPY",)
    # and asking for everything does open it
    with pytest.raises(PriceFileError):
        load_price_directory(tmp_path)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_price_directory(tmp_path / "nowhere")


def test_a_file_given_as_directory_is_a_clear_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "SPY.csv", csv_rows(THREE_DAYS))
    with pytest.raises(NotADirectoryError):
        load_price_directory(path)


def test_a_directory_without_price_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not prices")
    with pytest.raises(FileNotFoundError, match=r"no <TICKER>\.csv"):
        load_price_directory(tmp_path)


def test_a_ticker_with_both_a_csv_and_a_parquet_file_is_ambiguous(tmp_path: Path) -> None:
    write_csv(tmp_path, "SPY.csv", csv_rows(THREE_DAYS))
    pd.DataFrame({"Date": ["2024-01-02"], "Close": [1.0]}).to_parquet(tmp_path / "spy.parquet")
    with pytest.raises(PriceFileError, match="expected one file"):
        load_price_directory(tmp_path, ["SPY"])


# --- one file ------------------------------------------------------------------------


def test_negative_price_names_file_row_and_date(tmp_path: Path) -> None:
    # Given SPY.csv whose 17th data row is negative
    rows: list[tuple[str, float | str]] = [
        (str(d), 100.0) for d in pd.bdate_range("2020-02-07", periods=16).date
    ]
    rows.append(("2020-03-02", -1.0))
    write_csv(tmp_path, "SPY.csv", csv_rows(rows))

    # When it is loaded
    with pytest.raises(PriceFileError) as raised:
        load_price_directory(tmp_path)

    # Then the message says which file, row and date, what was expected and found
    assert str(raised.value) == "SPY.csv: row 17 (2020-03-02): price must be > 0, was -1.0"
    assert raised.value.path == tmp_path / "SPY.csv"


@pytest.mark.parametrize(
    ("scenario", "text", "expected"),
    [
        ("zero price", csv_rows([("2024-01-02", 1.0), ("2024-01-03", 0)]), r"row 2 \(2024-01-03\): price must be > 0, was 0.0"),
        ("empty price", csv_rows([("2024-01-02", 1.0), ("2024-01-03", "")]), r"row 2 \(2024-01-03\): price must be a finite number, was empty"),
        ("text price", csv_rows([("2024-01-02", "abc")]), r"row 1 \(2024-01-02\): price must be a finite number, was 'abc'"),
        ("infinite price", csv_rows([("2024-01-02", "inf")]), r"row 1 \(2024-01-02\): price must be a finite number"),
        ("bad date", csv_rows([("2024-01-02", 1.0), ("02/01/2024", 2.0)]), r"row 2: expected a date like 2020-03-02, found '02/01/2024'"),
        ("duplicate date", csv_rows([("2024-01-02", 1.0), ("2024-01-03", 2.0), ("2024-01-02", 3.0)]), r"rows 1, 3 \(2024-01-02\): expected one close per date"),
        ("no price column", "Date,Open\n2024-01-02,1.0", r"expected an 'Adj Close' or 'Close' column, found columns: Date, Open"),
        ("no date column", "Day,Close\n2024-01-02,1.0", r"expected a 'Date' column, found columns: Day, Close"),
        ("no rows", "Date,Adj Close", r"no rows"),
        ("ragged row", "Date,Adj Close\n2024-01-02,1.0,7", r"not a readable csv file"),
    ],
)  # fmt: skip
def test_a_bad_file_is_rejected_with_what_was_expected(
    tmp_path: Path, scenario: str, text: str, expected: str
) -> None:
    # Given a file with one kind of defect
    write_csv(tmp_path, "ABC.csv", text)

    # When it is loaded
    # Then the error names the file and says what was expected and what was found
    with pytest.raises(PriceFileError, match=rf"^ABC\.csv: {expected}"):
        load_price_directory(tmp_path, ["ABC"])


def test_close_is_used_when_there_is_no_adjusted_close(tmp_path: Path) -> None:
    write_csv(tmp_path, "A.csv", csv_rows(THREE_DAYS, header="Date,Close"))
    write_csv(tmp_path, "B.csv", "Date,Close,Adj Close\n2024-01-02,99,1.5\n")

    history = load_price_directory(tmp_path)

    assert history.column("A").tolist() == [10.0, 11.0, 12.0]
    assert history.column("B")[0] == 1.5  # Adj Close preferred


def test_rows_out_of_order_are_sorted_and_time_parts_ignored(tmp_path: Path) -> None:
    write_csv(
        tmp_path,
        "A.csv",
        "Date,Adj Close\n2024-01-04 00:00:00-05:00,3\n2024-01-02 00:00:00-05:00,1\n"
        "2024-01-03 00:00:00-05:00,2",
    )

    history = load_price_directory(tmp_path)

    assert [str(d) for d in history.dates] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert history.column("A").tolist() == [1.0, 2.0, 3.0]


def test_parquet_with_a_date_index_or_a_date_column_loads(tmp_path: Path) -> None:
    # Given one parquet file indexed by a tz-aware Date and one with a Date column
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="Date").tz_localize(
        "America/New_York"
    )
    pd.DataFrame({"Adj Close": [1.0, 2.0]}, index=index).to_parquet(tmp_path / "A.parquet")
    pd.DataFrame({"Date": pd.to_datetime(["2024-01-03"]), "Close": [5.0]}).to_parquet(
        tmp_path / "B.parquet", index=False
    )

    # When the directory is loaded
    history = load_price_directory(tmp_path)

    # Then the wall-clock dates are kept and B starts a day later
    assert [str(d) for d in history.dates] == ["2024-01-02", "2024-01-03"]
    np.testing.assert_array_equal(history.closes, [[1.0, np.nan], [2.0, 5.0]])


# --- alignment and gaps --------------------------------------------------------------


def test_a_day_missing_inside_a_history_is_an_error_naming_ticker_and_days(
    tmp_path: Path,
) -> None:
    # Given SPY on five days and QQQ on the same days but the 2nd and 3rd
    days = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
    write_csv(tmp_path, "SPY.csv", csv_rows([(d, 1.0) for d in days]))
    write_csv(tmp_path, "QQQ.csv", csv_rows([(d, 2.0) for d in days[:1] + days[3:]]))

    # When they are loaded together
    with pytest.raises(CalendarGapError) as raised:
        load_price_directory(tmp_path)

    # Then QQQ's missing days are named (and which ticker has them)
    assert raised.value.gaps == {"QQQ": (date(2024, 1, 3), date(2024, 1, 4))}
    assert "QQQ: 2 missing day(s): 2024-01-03, 2024-01-04 (2024-01-03 is in SPY)" in str(
        raised.value
    )


def test_fill_gaps_forward_fills_and_records_the_filled_days(tmp_path: Path) -> None:
    # Given the same hole in QQQ, and QQQ ending a day before SPY
    days = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
    write_csv(tmp_path, "SPY.csv", csv_rows([(d, 1.0) for d in days]))
    write_csv(tmp_path, "QQQ.csv", csv_rows([("2024-01-02", 2.0), ("2024-01-05", 3.0)]))

    # When they are loaded with fill_gaps
    history = load_price_directory(tmp_path, fill_gaps=True)

    # Then the hole carries the last close, is recorded, and the trailing day stays NaN
    np.testing.assert_array_equal(history.column("QQQ"), [2.0, 2.0, 2.0, 3.0, np.nan])
    assert history.filled_gaps == {"QQQ": (date(2024, 1, 3), date(2024, 1, 4))}
    assert history.truncate(date(2024, 1, 3)).filled_gaps == {"QQQ": (date(2024, 1, 3),)}
    assert history.select(["SPY"]).filled_gaps == {}


# --- saving --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_save_then_load_round_trips_exactly_with_the_synthetic_label(
    tmp_path: Path, fmt: Literal["csv", "parquet"]
) -> None:
    # Given a synthetic market with a ticker that starts later
    market = synthetic_market(["AAA", "BBB"], date(2024, 1, 1), date(2024, 3, 29))
    closes = market.closes.copy()
    closes[:10, 1] = np.nan
    history = PriceHistory(market.dates, market.tickers, closes, synthetic=frozenset({"BBB"}))

    # When it is saved and loaded back
    written = save_price_directory(history, tmp_path / "out", fmt=fmt)
    loaded = load_price_directory(tmp_path / "out")

    # Then the values are bit-for-bit equal and the synthetic label survives
    assert [p.name for p in written] == [f"AAA.{fmt}", f"BBB.{fmt}"]
    assert loaded.tickers == history.tickers
    np.testing.assert_array_equal(loaded.dates, history.dates)
    np.testing.assert_array_equal(loaded.closes, history.closes)
    assert loaded.synthetic == frozenset({"BBB"})


def test_save_refuses_to_make_a_directory_ambiguous(tmp_path: Path) -> None:
    market = synthetic_market(["AAA"], date(2024, 1, 1), date(2024, 1, 31))
    save_price_directory(market, tmp_path, fmt="csv")

    with pytest.raises(FileExistsError, match=r"AAA\.csv exists"):
        save_price_directory(market, tmp_path, fmt="parquet")
