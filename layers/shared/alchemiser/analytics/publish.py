"""Write the live dashboard where a person can open it: ``<home>/reports/site/`` on one
machine, the reports bucket on AWS (``alchemiser report`` and the Notify step).

On AWS the bucket is private: every link of the site (pages, the chart library, the way
back to the index) is written as a pre-signed GET URL, so the one link in the email opens
a site that works from end to end. S3 honours a pre-signed URL until ``LINK_TTL_S`` or
until the credentials that signed it expire, whichever is first: signed in Lambda with
the function's role, that is the role session's remaining life (hours, not days). A
fresh set of links is written at every refresh.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from alchemiser.analytics.dashboard import BenchmarkPrices, build_dashboard
from alchemiser.analytics.live_series import LiveHistory, load_history
from alchemiser.analytics.live_vs_backtest import BookComparison, compare_book
from alchemiser.analytics.site import SiteFiles, relative_link, write_site
from alchemiser.errors import DataError
from alchemiser.ledger.port import Ledger
from alchemiser.market.history import MissingTickersError
from alchemiser.market.port import MarketData
from alchemiser.runtime import Dependencies
from alchemiser.storage.local import LocalObjectStore
from alchemiser.storage.port import ObjectStore
from alchemiser.storage.s3 import S3ObjectStore

SITE_PREFIX = "reports/site"
BENCHMARK = "SPY"
LINK_TTL_S = 7 * 24 * 3600  # S3's longest; the signing credentials usually end it sooner
_UPLOADERS = 8
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

NO_ENGINE = (
    "Live vs backtest is not computed here: it needs the symphonies and price data "
    "(`alchemiser report` and local runs have them; the Notify function on AWS has neither)."
)


@dataclass(frozen=True)
class PublishedSite:
    """Where the site went: the index to open, and how many files were written."""

    index: str  # a file path, or a pre-signed https URL
    files: int
    history: LiveHistory  # what it shows (the email's summary reads the same)
    benchmark: BenchmarkPrices | None
    comparisons: Mapping[str, BookComparison | str]  # by book: live vs backtest, or why not


def benchmark_prices(market: MarketData, last_day: date) -> BenchmarkPrices | None:
    """Return SPY's closes up to ``last_day``, or None when the data has no SPY."""
    try:
        history = market.history([BENCHMARK], last_day)
    except MissingTickersError:
        return None
    closes = np.asarray(history.column(BENCHMARK), dtype=np.float64)
    known = np.isfinite(closes)
    return BenchmarkPrices(BENCHMARK, history.dates[known], closes[known])


def write_dashboard(
    history: LiveHistory,
    benchmark: BenchmarkPrices | None,
    directory: Path,
    resolve: Callable[[str], str] | None = None,
    comparisons: Mapping[str, BookComparison | str] | None = None,
) -> SiteFiles:
    """Write every page of the dashboard into ``directory``; return the files."""
    dashboard = build_dashboard(history, benchmark, comparisons)
    subtitle = (
        f"Stage {history.stage}: {len(history.days)} runs, {history.days[0].trading_date} "
        f"to {history.days[-1].trading_date}"
    )
    return write_site(
        directory,
        dashboard.pages,
        title="The Alchemiser: live dashboard",
        subtitle=subtitle,
        listed=dashboard.listed,
        resolve=resolve or relative_link,
    )


def refresh_site(
    ledger: Ledger,
    store: ObjectStore,
    market: MarketData | None,
    stage: str,
    strategies_dir: Path | None = None,
) -> PublishedSite | None:
    """Rebuild the stage's dashboard from the ledger and the run outputs and publish it.

    A local store gets the files in place (``<root>/reports/site``, relative links); an
    S3 store gets each file uploaded with every link pre-signed. None when no run of
    the stage has been reconciled yet. Without ``market`` the pages have no benchmark,
    and without ``strategies_dir`` too no live-vs-backtest comparison.
    """
    history = load_history(ledger, store, stage)
    if not history.days:
        return None
    last_day = history.days[-1].trading_date
    benchmark = benchmark_prices(market, last_day) if market is not None else None
    comparisons = _comparisons(history, market, strategies_dir)
    if isinstance(store, LocalObjectStore):
        directory = store.root / SITE_PREFIX
        files = write_dashboard(history, benchmark, directory, comparisons=comparisons)
        index = str(files.index)
    elif isinstance(store, S3ObjectStore):
        files, index = _upload(history, benchmark, comparisons, store)
    else:
        raise TypeError(f"expected a local or an S3 object store, found {type(store).__name__}")
    count = len(files.pages) + 2  # the pages, the index and the chart library
    return PublishedSite(index, count, history, benchmark, comparisons)


def _comparisons(
    history: LiveHistory, market: MarketData | None, strategies_dir: Path | None
) -> dict[str, BookComparison | str]:
    """Compare each book with its backtest, or say why it was not (per book)."""
    if market is None or strategies_dir is None:
        return dict.fromkeys(history.book_ids, NO_ENGINE)
    found: dict[str, BookComparison | str] = {}
    for book_id in history.book_ids:
        try:
            found[book_id] = compare_book(history, book_id, strategies_dir, market) or ""
        except (OSError, ValueError, LookupError, DataError) as error:
            found[book_id] = f"Live vs backtest failed: {type(error).__name__}: {error}"
    return found


def _upload(
    history: LiveHistory,
    benchmark: BenchmarkPrices | None,
    comparisons: Mapping[str, BookComparison | str],
    store: S3ObjectStore,
) -> tuple[SiteFiles, str]:
    def signed(relative: str) -> str:
        return store.presign(f"{SITE_PREFIX}/{relative}", LINK_TTL_S)

    with tempfile.TemporaryDirectory(prefix="alchemiser-site-") as scratch:
        root = Path(scratch)
        files = write_dashboard(history, benchmark, root, signed, comparisons)
        paths = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]

        def put(path: Path) -> None:
            key = f"{SITE_PREFIX}/{path.relative_to(root).as_posix()}"
            kind = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
            store.put_bytes(key, path.read_bytes(), kind)

        with ThreadPoolExecutor(max_workers=_UPLOADERS) as pool:
            list(pool.map(put, paths))
    return files, signed("index.html")


def refresh_dashboard(deps: Dependencies, stage: str) -> tuple[PublishedSite | None, str]:
    """Refresh the stage's dashboard for the Notify step; return it, or why it was not.

    A dashboard that cannot be written must not stop the run's email, so the failures
    of reading the history and writing the files are returned as a sentence for it.
    A site in the bucket (AWS) goes without a benchmark and live vs backtest: the Notify
    function loads no price data and no engine (template.yaml gives it neither).
    """
    local = isinstance(deps.store, LocalObjectStore)
    market = deps.market if local else None
    strategies = deps.strategies_dir if local else None
    try:
        return refresh_site(deps.ledger, deps.store, market, stage, strategies), ""
    except (OSError, ValueError, LookupError, BotoCoreError, ClientError) as error:
        return None, f"the dashboard was not refreshed: {type(error).__name__}: {error}"
