"""``alchemiser data pull``: fill a local price directory, or bring it up to date, from Alpaca.

The closes are Alpaca's daily bars adjusted for splits and dividends, kept current by
the same refresh the cycle runs on its S3 store (``AlpacaDailyBars.refresh_prices``):
each ticker's last stored day is fetched again, and when Alpaca's adjusted close of it
differs from the stored one (a split or dividend since the last pull) the whole stored
history is re-based by that ratio before the new days are appended.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from alchemiser.cli.output import fail, print_json, progress_bar

if TYPE_CHECKING:
    from alchemiser.market.alpaca_bars import TickerRefresh

KEY_SETTINGS = "ALCHEMISER_ALPACA_KEY_ID and ALCHEMISER_ALPACA_SECRET_KEY"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, found {text!r}") from None


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = commands.add_parser("data", help="price data: pull adjusted daily bars from Alpaca")
    actions = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = actions.add_parser(
        "pull",
        help="fill or bring up to date a price directory from Alpaca's adjusted daily bars",
        description="Pulls Alpaca's split- and dividend-adjusted daily bars into DIR: the "
        "tickers of the --from files and --tickers, or every ticker already in DIR. A "
        "ticker new to DIR gets its history from --start (default 2016-01-04); a stored "
        "one is brought up to date and re-based if a split or dividend changed its past. "
        f"Needs an Alpaca API key in {KEY_SETTINGS} (paper keys work).",
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="the price directory")
    p.add_argument(
        "--from",
        dest="sources",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="symphony files (.clj) or books.yaml whose tickers to pull",
    )
    p.add_argument("--tickers", nargs="+", default=[], metavar="T", help="more tickers to pull")
    p.add_argument(
        "--through", type=_day, help="last day to pull (default: the last session that closed)"
    )
    p.add_argument(
        "--start",
        type=_day,
        help="first day of history for tickers new to DIR (default 2016-01-04, "
        "the start of Alpaca's free history)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(handler=run_pull)


def run_pull(args: argparse.Namespace) -> int:
    # The Alpaca SDK and the market code are loaded here, not when the CLI starts.
    from alchemiser.errors import ConfigurationError, DataError, TransientError
    from alchemiser.market.alpaca_bars import (
        DEFAULT_HISTORY_START,
        AlpacaDailyBars,
        RefreshError,
        make_data_client,
    )
    from alchemiser.market.directory_store import DirectoryPriceStore
    from alchemiser.market.s3_data import last_closed_session
    from alchemiser.settings import Settings

    settings = Settings()
    if settings.alpaca_key_id is None or settings.alpaca_secret_key is None:
        return fail(f"set {KEY_SETTINGS} (an Alpaca API key; paper keys work) to pull prices")
    store = DirectoryPriceStore(args.data)
    try:
        tickers = _tickers(args, store.path)
        through = args.through or last_closed_session(datetime.now(UTC))
        client = make_data_client(
            settings.alpaca_key_id.get_secret_value(),
            settings.alpaca_secret_key.get_secret_value(),
            timeout_s=settings.http_timeout_s,
        )
        with progress_bar("pulling daily bars", unit="ticker") as progress:
            bars = AlpacaDailyBars(client, history_start=args.start or DEFAULT_HISTORY_START)
            results = bars.refresh_prices(store, tickers, through, progress)
        problems: tuple[str, ...] = ()
    except RefreshError as error:
        results, problems = error.refreshed, error.problems
    except (ValueError, OSError, ConfigurationError, TransientError, DataError) as exc:
        return fail(str(exc))
    summary = PullSummary(args.data, through, tuple(results), problems)
    if args.json:
        print_json(summary.to_json_dict())
    else:
        print("\n".join(summary.lines()))
    return 1 if problems else 0


def _tickers(args: argparse.Namespace, directory: Path) -> list[str]:
    """Return the tickers to pull: those named, or every ticker of the directory."""
    from alchemiser.market.loader import ticker_files

    named = [*_tickers_of_files(args.sources), *args.tickers]
    if named:
        return list(dict.fromkeys(named))
    present = sorted(ticker_files(directory)) if directory.is_dir() else []
    if not present:
        raise ValueError(
            f"{directory} holds no price file: name the tickers to pull with --from or --tickers"
        )
    return present


def _tickers_of_files(paths: Sequence[Path]) -> list[str]:
    from alchemiser.books.config import validate_all_stages
    from alchemiser.dsl.parser import load_symphony
    from alchemiser.dsl.program import compile_symphony

    symphonies: list[Path] = []
    for path in paths:
        if path.suffix in (".yaml", ".yml"):
            stages = validate_all_stages(path)
            symphonies += [path.parent / b.strategy for books in stages.values() for b in books]
        else:
            symphonies.append(path)
    tickers: list[str] = []
    for path in dict.fromkeys(symphonies):
        tickers += compile_symphony(load_symphony(path)).tickers
    return tickers


@dataclass(frozen=True)
class PullSummary:
    """What a pull changed, ticker by ticker."""

    directory: Path
    through: date
    results: tuple[TickerRefresh, ...]
    problems: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(sorted(self.results, key=lambda r: r.ticker)))

    @property
    def new(self) -> list[TickerRefresh]:
        return [r for r in self.results if r.created]

    @property
    def updated(self) -> list[TickerRefresh]:
        return [r for r in self.results if not r.created and r.added]

    @property
    def rebased(self) -> list[TickerRefresh]:
        return [r for r in self.results if r.rescaled_by is not None]

    @property
    def unchanged(self) -> list[TickerRefresh]:
        return [r for r in self.results if not r.created and not r.added and r.rescaled_by is None]

    def lines(self) -> list[str]:
        rebased = ", ".join(f"{r.ticker} x{r.rescaled_by:.6g}" for r in self.rebased)
        lines = [
            f"Pulled Alpaca's adjusted daily bars through {self.through} into {self.directory}:",
            f"  new tickers: {len(self.new)}{_names(self.new)}, "
            f"{sum(r.added for r in self.new)} closes",
            f"  updated: {len(self.updated)} ticker(s), "
            f"{sum(r.added for r in self.updated)} closes added",
            f"  histories re-based after a split or dividend: {len(self.rebased)}"
            + (f" ({rebased})" if rebased else ""),
            f"  already up to date: {len(self.unchanged)} ticker(s)",
        ]
        if self.problems:
            lines.append(f"  failed: {len(self.problems)} ticker(s):")
            lines += [f"    {p}" for p in self.problems]
        return lines

    def to_json_dict(self) -> dict[str, object]:
        return {
            "directory": str(self.directory),
            "through": self.through.isoformat(),
            "new": [{"ticker": r.ticker, "closes": r.added} for r in self.new],
            "updated": [{"ticker": r.ticker, "closes_added": r.added} for r in self.updated],
            "rebased": [{"ticker": r.ticker, "factor": r.rescaled_by} for r in self.rebased],
            "unchanged": [r.ticker for r in self.unchanged],
            "failed": list(self.problems),
        }


def _names(results: list[TickerRefresh]) -> str:
    shown = ", ".join(r.ticker for r in results[:10])
    more = f" and {len(results) - 10} more" if len(results) > 10 else ""
    return f" ({shown}{more})" if results else ""
