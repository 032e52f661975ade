"""The in-memory form of daily price history shared by the engine and the cycle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class MissingTickersError(LookupError):
    """Raised when tickers a symphony needs are absent from the market data.

    ``missing`` holds canonical symbols (``BRK.B``); the message spells each one as
    ``spellings`` says the user wrote it (``BRK/B``), where given.
    """

    def __init__(
        self, missing: Iterable[str], source: str = "", spellings: Mapping[str, str] | None = None
    ) -> None:
        self.missing = tuple(sorted(set(missing)))
        self.source = source
        self.spellings = dict(spellings or {})
        where = f" in {source}" if source else ""
        shown = ", ".join(self.spellings.get(t, t) for t in self.missing)
        super().__init__(f"no price data{where} for {len(self.missing)} ticker(s): {shown}")

    def spelled(self, spellings: Mapping[str, str]) -> MissingTickersError:
        """Return the same error with the tickers spelled as the user wrote them."""
        return MissingTickersError(self.missing, self.source, {**self.spellings, **spellings})


@dataclass(frozen=True)
class PriceHistory:
    """Daily closes on one shared calendar.

    ``closes[t, j]`` is the split- and dividend-adjusted close of ``tickers[j]`` on
    ``dates[t]``; NaN before the ticker's first trading day. Dates are ascending
    ``datetime64[D]``. Instances are immutable: every transformation returns a new one.
    """

    dates: npt.NDArray[np.datetime64]
    tickers: tuple[str, ...]
    closes: FloatArray
    synthetic: frozenset[str] = field(default_factory=frozenset)
    source: str = ""
    # Days a loader forward-filled inside a ticker's history (``fill_gaps=True``), so a
    # filled close is never mistaken for a traded one.
    filled_gaps: Mapping[str, tuple[date, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.closes.shape != (len(self.dates), len(self.tickers)):
            raise ValueError(
                f"closes must be {len(self.dates)}x{len(self.tickers)} (dates x tickers), "
                f"was {self.closes.shape[0]}x{self.closes.shape[1]}"
            )
        if len(set(self.tickers)) != len(self.tickers):
            raise ValueError("tickers must be unique")
        self.closes.setflags(write=False)
        self.dates.setflags(write=False)

    @property
    def ticker_index(self) -> Mapping[str, int]:
        return {t: i for i, t in enumerate(self.tickers)}

    def column(self, ticker: str) -> FloatArray:
        """Return the closes of one ticker (read-only view)."""
        return self.closes[:, self.tickers.index(ticker)]

    def require(self, tickers: Iterable[str], spellings: Mapping[str, str] | None = None) -> None:
        """Raise MissingTickersError naming every ticker in ``tickers`` without data."""
        have = set(self.tickers)
        missing = [t for t in tickers if t not in have]
        if missing:
            raise MissingTickersError(missing, self.source, spellings)

    def select(self, tickers: Iterable[str]) -> PriceHistory:
        """Return the history restricted to ``tickers`` (in that order)."""
        wanted = list(dict.fromkeys(tickers))
        self.require(wanted)
        idx = [self.tickers.index(t) for t in wanted]
        return PriceHistory(
            dates=self.dates,
            tickers=tuple(wanted),
            closes=np.ascontiguousarray(self.closes[:, idx]),
            synthetic=frozenset(t for t in self.synthetic if t in wanted),
            source=self.source,
            filled_gaps={t: d for t, d in self.filled_gaps.items() if t in wanted},
        )

    def index_on_or_before(self, day: date) -> int:
        """Return the row of the last trading day on or before ``day`` (-1 if none)."""
        return int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="right")) - 1

    def truncate(self, end: date) -> PriceHistory:
        """Return the history up to and including ``end`` (no look-ahead past it)."""
        stop = self.index_on_or_before(end) + 1
        return PriceHistory(
            dates=self.dates[:stop],
            tickers=self.tickers,
            closes=self.closes[:stop],
            synthetic=self.synthetic,
            source=self.source,
            filled_gaps=_filled_up_to(self.filled_gaps, end),
        )

    def with_closes(self, closes: FloatArray) -> PriceHistory:
        """Return the same calendar and tickers holding ``closes`` instead."""
        return PriceHistory(
            dates=self.dates,
            tickers=self.tickers,
            closes=np.array(closes, dtype=np.float64),
            synthetic=self.synthetic,
            source=self.source,
            filled_gaps=self.filled_gaps,
        )

    @property
    def first_valid(self) -> dict[str, int]:
        """Row of each ticker's first close (len(dates) if it has none)."""
        present = ~np.isnan(self.closes)
        first = np.where(present.any(axis=0), present.argmax(axis=0), len(self.dates))
        return {t: int(first[j]) for j, t in enumerate(self.tickers)}

    def day(self, row: int) -> date:
        """Return the calendar date of a row."""
        return date.fromisoformat(str(self.dates[row]))


def _filled_up_to(filled: Mapping[str, tuple[date, ...]], end: date) -> dict[str, tuple[date, ...]]:
    kept = {t: tuple(d for d in days if d <= end) for t, days in filled.items()}
    return {t: days for t, days in kept.items() if days}
