"""A local price directory as a price store, so ``alchemiser data pull`` can refresh it.

``DirectoryPriceStore`` reads and writes the same ``<TICKER>.csv`` / ``.parquet`` files
``load_price_directory`` reads. A ticker's file keeps its name, its format and its price
column (``Adj Close`` or ``Close``); a new ticker gets ``<TICKER>.csv`` under its
canonical symbol (``BRK.B.csv``). Nothing is lost: a file holding more than a date and a
close (a download with open, high, low and volume) is left as it is and reported, and
every write goes to a temporary file first, then replaces the old one in one rename, so
a process killed mid-write leaves the previous file whole.

Tickers listed in ``SYNTHETIC.txt`` are stand-ins, not market data: the store does not
count them as stored (a refresh fetches their whole real history) and a write drops
them from the list.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from alchemiser.errors import DataError
from alchemiser.market.loader import (
    DATE_COLUMN,
    PRICE_COLUMNS,
    SYNTHETIC_MANIFEST,
    file_columns,
    read_closes,
    ticker_files,
    ticker_of_name,
)


class DirectoryPriceStore:
    """The per-ticker price files of one directory (created on the first write)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def tickers(self) -> frozenset[str]:
        """Return the tickers with a real (not synthetic) price file."""
        if not self.path.exists():
            return frozenset()
        return frozenset(ticker_files(self.path)) - self._synthetic()

    def read(self, ticker: str) -> pd.Series:
        """Return the closes of ``ticker`` by ascending date."""
        canonical = ticker_of_name(ticker)
        return read_closes(self._files()[canonical], canonical)

    def uri(self, ticker: str) -> str:
        canonical = ticker_of_name(ticker)
        existing = self._files().get(canonical)
        return str(existing or self.path / f"{canonical}.csv")

    def write(self, ticker: str, closes: pd.Series) -> str:
        """Replace the file of ``ticker`` with ``closes`` (a rename: never half written)."""
        canonical = ticker_of_name(ticker)
        target = Path(self.uri(canonical))
        column = self._price_column(target)
        frame = pd.DataFrame(
            {
                DATE_COLUMN: pd.DatetimeIndex(closes.index).strftime("%Y-%m-%d"),
                column: closes.to_numpy(dtype=np.float64),
            }
        )
        self.path.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        if target.suffix.lower() == ".parquet":
            frame[DATE_COLUMN] = pd.to_datetime(frame[DATE_COLUMN])
            frame.to_parquet(partial, index=False)
        else:
            frame.to_csv(partial, index=False)
        os.replace(partial, target)
        self._forget_synthetic(canonical)
        return str(target)

    def _price_column(self, target: Path) -> str:
        if not target.exists():
            return PRICE_COLUMNS[0]
        columns = file_columns(target)
        price = next((c for c in PRICE_COLUMNS if c in columns), None)
        extra = [c for c in columns if c not in (DATE_COLUMN, price)]
        if price is None or extra:
            raise DataError(
                f"{target}: expected only '{DATE_COLUMN}' and 'Adj Close' (or 'Close'), found "
                f"columns {', '.join(columns)}: left as it is (a pull writes date and close "
                "only); move it aside to pull this ticker"
            )
        return price

    def _files(self) -> dict[str, Path]:
        return ticker_files(self.path) if self.path.exists() else {}

    def _synthetic(self) -> frozenset[str]:
        manifest = self.path / SYNTHETIC_MANIFEST
        if not manifest.is_file():
            return frozenset()
        lines = (line.strip() for line in manifest.read_text().splitlines())
        return frozenset(ticker_of_name(t) for t in lines if t and not t.startswith("#"))

    def _forget_synthetic(self, ticker: str) -> None:
        manifest = self.path / SYNTHETIC_MANIFEST
        if ticker not in self._synthetic():
            return
        kept = [
            line
            for line in manifest.read_text().splitlines()
            if line.startswith("#") or not line.strip() or ticker_of_name(line) != ticker
        ]
        manifest.write_text("".join(f"{line}\n" for line in kept))
