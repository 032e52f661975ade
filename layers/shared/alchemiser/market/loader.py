"""Read and write a directory of per-ticker daily closes (``<TICKER>.csv`` / ``.parquet``).

Each file holds one ticker, named by the file stem in any usual spelling of its symbol
(``BRK.B.csv``, ``BRK_B.csv`` and ``BRK-B.csv`` all hold ``BRK.B``; see
``alchemiser.market.symbols``), with a ``Date`` column (or, in parquet, a DatetimeIndex
named ``Date``) and an ``Adj Close`` column, or ``Close`` when there is no adjusted close. Every value is checked on the way in: dates must parse and
be unique, prices must be finite and > 0. Tickers are aligned on the union of their
dates; a day missing inside one ticker's history is an error unless ``fill_gaps=True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

# pyarrow ships no type information; its values are checked here and converted to numpy.
import pyarrow as pa
import pyarrow.csv as pv

from alchemiser.market.history import FloatArray, MissingTickersError, PriceHistory
from alchemiser.market.symbols import canonical_or_none

if TYPE_CHECKING:
    import pandas as pd

PRICE_COLUMNS = ("Adj Close", "Close")
DATE_COLUMN = "Date"
SUFFIXES = (".csv", ".parquet")
# Lists the tickers of a saved directory whose series are synthetic, so the label
# survives a save/load round trip.
SYNTHETIC_MANIFEST = "SYNTHETIC.txt"
_SHOWN = 5

DateArray = npt.NDArray[np.datetime64]


class PriceFileError(ValueError):
    """Raised when a price file cannot be read as one ticker's daily closes."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path.name}: {problem}")


class CalendarGapError(ValueError):
    """Raised when tickers lack days, inside their history, that other tickers have."""

    def __init__(
        self, gaps: dict[str, tuple[date, ...]], source: str, holders: dict[date, list[str]]
    ) -> None:
        self.gaps = gaps
        lines = [
            f"  {t}: {_few(days)} ({days[0]} is in {_names(holders[days[0]])})"
            for t, days in sorted(gaps.items())
        ]
        super().__init__(
            f"{len(gaps)} ticker(s) in {source} lack trading days that other tickers have, "
            "inside their own history (expected one close per day of the union calendar; "
            "add the missing days' closes to those files):\n" + "\n".join(lines)
        )


@dataclass(frozen=True)
class _Series:
    ticker: str
    dates: DateArray
    closes: FloatArray


def load_price_directory(
    path: str | Path, tickers: Iterable[str] | None = None, *, fill_gaps: bool = False
) -> PriceHistory:
    """Load daily closes from a directory of per-ticker files into one PriceHistory.

    Read only ``tickers`` when given (in that order), else every ticker file. Raise
    MissingTickersError naming every requested ticker without a file, PriceFileError
    for a bad file, and CalendarGapError for days missing inside a ticker's history
    unless ``fill_gaps`` is set (filled days are then listed in ``filled_gaps``).
    """
    directory = Path(path)
    files = ticker_files(directory)
    if tickers is None:
        if not files:
            raise FileNotFoundError(
                f"price directory {directory} has no <TICKER>.csv or <TICKER>.parquet file"
            )
        wanted = sorted(files)
    else:
        wanted = list(dict.fromkeys(ticker_of_name(t) for t in tickers))
        missing = [t for t in wanted if t not in files]
        if missing:
            raise MissingTickersError(missing, str(directory))
    series = [_read_series(files[t], t) for t in wanted]
    return _align(series, str(directory), _synthetic_tickers(directory), fill_gaps)


def save_price_directory(
    history: PriceHistory, path: str | Path, fmt: Literal["csv", "parquet"] = "csv"
) -> list[Path]:
    """Write one ``<TICKER>.<fmt>`` file per ticker (Date, Adj Close); return the paths.

    Rows before a ticker's first close are not written. Synthetic tickers are listed in
    ``SYNTHETIC.txt`` so that loading the directory labels them again.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', was {fmt!r}")
    import pandas as pd  # here, not at import: reading prices must not pay pandas' start-up

    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    present = ticker_files(directory)
    written = []
    for j, ticker in enumerate(history.tickers):
        target = directory / f"{ticker}.{fmt}"
        if ticker in present and present[ticker] != target:
            raise FileExistsError(
                f"{present[ticker]} exists: writing {target.name} next to it "
                "would make the directory ambiguous"
            )
        column = history.closes[:, j]
        keep = ~np.isnan(column)
        frame = pd.DataFrame(
            {DATE_COLUMN: history.dates[keep].astype("datetime64[s]"), "Adj Close": column[keep]}
        )
        if fmt == "csv":
            frame.to_csv(target, index=False, date_format="%Y-%m-%d")
        else:
            frame.to_parquet(target, index=False)
        written.append(target)
    manifest = directory / SYNTHETIC_MANIFEST
    if history.synthetic:
        manifest.write_text(
            "# Synthetic series (not market data), one ticker per line\n"
            + "".join(f"{t}\n" for t in sorted(history.synthetic))
        )
    elif manifest.exists():
        manifest.unlink()
    return written


def read_closes(path: Path, ticker: str) -> pd.Series:
    """Return one price file's closes by ascending date (name: ``ticker``); check every row."""
    import pandas as pd  # here, not at import: reading prices must not pay pandas' start-up

    series = _read_series(path, ticker)
    index = pd.DatetimeIndex(series.dates.astype("datetime64[ns]"), name=DATE_COLUMN)
    return pd.Series(series.closes, index=index, name=ticker)


def file_columns(path: Path) -> list[str]:
    """Return the column names of a price file."""
    return list(_read_table(path).column_names)


def ticker_of_name(name: str) -> str:
    """Return the ticker a file stem or a user's text names (``brk_b`` -> ``BRK.B``)."""
    return canonical_or_none(name) or name.strip().upper()


def ticker_files(directory: Path) -> dict[str, Path]:
    """Return each ticker's price file in ``directory``; raise if one has two files."""
    if not directory.exists():
        raise FileNotFoundError(f"price directory {directory} does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"price directory {directory} is a file, expected a directory")
    files: dict[str, Path] = {}
    for entry in directory.iterdir():
        if entry.suffix.lower() not in SUFFIXES or not entry.is_file():
            continue
        ticker = ticker_of_name(entry.stem)
        if ticker in files:
            raise PriceFileError(
                entry, f"ticker {ticker} also has {files[ticker].name}; expected one file"
            )
        files[ticker] = entry
    return files


def _synthetic_tickers(directory: Path) -> frozenset[str]:
    manifest = directory / SYNTHETIC_MANIFEST
    if not manifest.is_file():
        return frozenset()
    lines = (line.strip() for line in manifest.read_text().splitlines())
    return frozenset(ticker_of_name(line) for line in lines if line and not line.startswith("#"))


def _read_table(path: Path) -> pa.Table:
    try:
        if path.suffix.lower() == ".csv":
            return _read_csv(path)
        import pyarrow.parquet as pq  # only for parquet: it adds to every command's start-up

        return pq.read_table(path)
    except pa.ArrowInvalid as exc:
        raise PriceFileError(path, f"not a readable {path.suffix[1:]} file ({exc})") from exc


def _read_csv(path: Path) -> pa.Table:
    """Read a CSV with its dates parsed by Arrow, else as text (parsed, and errors located, later)."""
    options = pv.ReadOptions(use_threads=False)
    try:
        return pv.read_csv(path, read_options=options, convert_options=_csv_dates_as(pa.date32()))
    except pa.ArrowInvalid:  # a date Arrow cannot read: _parse_dates names the row
        return pv.read_csv(path, read_options=options, convert_options=_csv_dates_as(pa.string()))


def _csv_dates_as(kind: pa.DataType) -> pv.ConvertOptions:
    return pv.ConvertOptions(column_types={DATE_COLUMN: kind})


def _read_series(path: Path, ticker: str) -> _Series:
    table = _read_table(path)
    found = ", ".join(table.column_names) or "none"
    if DATE_COLUMN not in table.column_names:
        raise PriceFileError(path, f"expected a '{DATE_COLUMN}' column, found columns: {found}")
    price_column = next((c for c in PRICE_COLUMNS if c in table.column_names), None)
    if price_column is None:
        raise PriceFileError(
            path, f"expected an 'Adj Close' or 'Close' column, found columns: {found}"
        )
    if table.num_rows == 0:
        raise PriceFileError(path, "no rows: expected at least one daily close")
    dates = _parse_dates(path, table.column(DATE_COLUMN))
    closes = _parse_closes(path, dates, table.column(price_column))
    order = np.argsort(dates, kind="stable")
    sorted_dates = dates[order]
    dup = np.flatnonzero(sorted_dates[1:] == sorted_dates[:-1])
    if dup.size:
        day = sorted_dates[dup[0]]
        rows = ", ".join(str(r + 1) for r in np.flatnonzero(dates == day))
        raise PriceFileError(
            path,
            f"rows {rows} ({day}): expected one close per date, found a duplicate date "
            f"({dup.size} duplicate row(s) in the file)",
        )
    return _Series(ticker, sorted_dates, closes[order])


def _parse_dates(path: Path, column: pa.ChunkedArray) -> DateArray:
    """Parse ``YYYY-MM-DD`` text (any time part ignored) or dates/timestamps (wall clock)."""
    # pyarrow.compute is imported only where needed: loading it slows every command's start.
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        import pyarrow.compute as pc

        head = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(column), 0, 10)
        parsed = pc.strptime(head, format="%Y-%m-%d", unit="s", error_is_null=True)
    elif pa.types.is_timestamp(kind) and kind.tz is not None:
        import pyarrow.compute as pc

        parsed = pc.local_timestamp(column)
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        parsed = column
    else:
        raise PriceFileError(path, f"expected '{DATE_COLUMN}' to hold dates, found type {kind}")
    as_dates = parsed if pa.types.is_date32(parsed.type) else parsed.cast(pa.date32())
    epoch_days, valid = _numpy_of(as_dates, np.int32)
    days: DateArray = epoch_days.astype("datetime64[D]")
    days[~valid] = np.datetime64("NaT")
    bad = np.flatnonzero(np.isnat(days))
    if bad.size:
        row = int(bad[0])
        more = f" ({bad.size} unparseable dates in all)" if bad.size > 1 else ""
        raise PriceFileError(
            path,
            f"row {row + 1}: expected a date like 2020-03-02, found {_show(column[row].as_py())}"
            + more,
        )
    return days


def _numpy_of(
    column: pa.ChunkedArray, dtype: type[np.generic]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """Return a fixed-width column's values and validity, copied from its Arrow buffers.

    pyarrow's ``to_numpy`` converts through its pandas layer and imports pandas, which
    would double the start-up time of ``alchemiser eval``; the buffers hold the same values.
    """
    array = column.combine_chunks()
    size, width = len(array), np.dtype(dtype).itemsize
    if size == 0:
        return np.empty(0, dtype=dtype), np.empty(0, dtype=np.bool_)
    validity, data = array.buffers()[:2]
    values = np.frombuffer(data, dtype=dtype, count=size, offset=array.offset * width).copy()
    if validity is None or array.null_count == 0:
        return values, np.ones(size, dtype=np.bool_)
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
    return values, bits[array.offset : array.offset + size].astype(np.bool_)


def _parse_closes(path: Path, dates: DateArray, column: pa.ChunkedArray) -> FloatArray:
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        as_floats = column if pa.types.is_float64(column.type) else column.cast(pa.float64())
        closes, valid = _numpy_of(as_floats, np.float64)
        closes[~valid] = np.nan
    else:
        import pandas as pd  # rare (text in the price column): keep start-up free of pandas

        closes = pd.to_numeric(column.to_pandas(), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    not_finite = ~np.isfinite(closes)
    not_positive = ~not_finite & (closes <= 0)
    bad = np.flatnonzero(not_finite | not_positive)
    if bad.size:
        row = int(bad[0])
        rule = "must be a finite number" if not_finite[row] else "must be > 0"
        found = column[row].as_py() if not_finite[row] else float(closes[row])
        more = f" ({bad.size} bad prices in all)" if bad.size > 1 else ""
        raise PriceFileError(
            path, f"row {row + 1} ({dates[row]}): price {rule}, was {_show(found)}{more}"
        )
    return closes


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "empty"
    return repr(value) if isinstance(value, str) else str(value)


def _align(
    series: list[_Series], source: str, synthetic: frozenset[str], fill_gaps: bool
) -> PriceHistory:
    tickers = tuple(s.ticker for s in series)
    if not series:
        empty: DateArray = np.array([], dtype="datetime64[D]")
        return PriceHistory(empty, (), np.empty((0, 0)), source=source)
    union = np.unique(np.concatenate([s.dates for s in series]))
    closes = np.full((len(union), len(series)), np.nan)
    gaps: dict[str, tuple[date, ...]] = {}
    for j, s in enumerate(series):
        rows = np.searchsorted(union, s.dates)
        closes[rows, j] = s.closes
        if rows[-1] - rows[0] + 1 == len(rows):
            continue
        inside = np.zeros(len(union), dtype=bool)
        inside[rows[0] : rows[-1] + 1] = True
        inside[rows] = False
        missing = np.flatnonzero(inside)
        gaps[s.ticker] = tuple(date.fromisoformat(str(d)) for d in union[missing])
        if fill_gaps:
            _forward_fill(closes[:, j], missing)
    if gaps and not fill_gaps:
        holders = {
            days[0]: [t for j, t in enumerate(tickers) if not np.isnan(closes[row, j])]
            for days in gaps.values()
            for row in [int(np.searchsorted(union, np.datetime64(days[0], "D")))]
        }
        raise CalendarGapError(gaps, source, holders)
    return PriceHistory(
        dates=union,
        tickers=tickers,
        closes=closes,
        synthetic=frozenset(t for t in tickers if t in synthetic),
        source=source,
        filled_gaps=gaps,
    )


def _forward_fill(column: FloatArray, missing: npt.NDArray[np.intp]) -> None:
    # Rows are ascending, so each missing row copies the (already filled) row above it.
    for row in missing:
        column[row] = column[row - 1]


def _names(tickers: list[str]) -> str:
    shown = ", ".join(tickers[:3])
    return shown + (f" and {len(tickers) - 3} more" if len(tickers) > 3 else "")


def _few(days: tuple[date, ...]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:_SHOWN])
    more = f" and {len(days) - _SHOWN} more" if len(days) > _SHOWN else ""
    return f"{len(days)} missing day(s): {shown}{more}"
