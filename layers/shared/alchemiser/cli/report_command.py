"""``alchemiser report``: write the live dashboard of a local home as a static site.

The home is chosen as ``alchemiser run`` chooses it (``--home``, else ``ALCHEMISER_HOME``,
else the default home of ``--data``); the benchmark's closes come from the data source
the home's account was opened with. The site goes to ``<home>/reports/site/`` and the
command prints the path of its ``index.html``. Each local run refreshes it too (Notify).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from alchemiser.cli.output import fail
from alchemiser.cli.paths import add_home_options

if TYPE_CHECKING:
    from alchemiser.market.port import MarketData


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "report",
        help="write the live dashboard (account, books, runs, execution quality) of a home",
        description="Writes <home>/reports/site/index.html: the account (NAV, time-weighted "
        "return against SPY, drawdown, holdings, flows), a page per book (tearsheet, trades, "
        "decisions by day), a page per run and execution quality. Reads the home's ledger and "
        "run outputs only; places no order.",
    )
    add_home_options(p)
    p.add_argument(
        "--stage", help="the stage whose runs to show (default: ALCHEMISER_STAGE or dev)"
    )
    p.set_defaults(handler=run_report)


def home_market(home: Path, today: date) -> MarketData:
    """Return the market data the home's account was opened on (its benchmark's source)."""
    from alchemiser.local.homes import SYNTHETIC_SOURCE, read_record
    from alchemiser.market.local_data import DemoMarketData, DirectoryMarketData

    record = read_record(home)
    if record is None:
        raise ValueError(
            f"{home}: no account here yet (no home.json): run `alchemiser run` with this "
            "home first, or pass the --home the runs used"
        )
    if record.data_source == SYNTHETIC_SOURCE:
        return DemoMarketData(["SPY"], today)
    return DirectoryMarketData(Path(record.data_source))


def run_report(args: argparse.Namespace) -> int:
    from alchemiser.analytics.publish import refresh_site
    from alchemiser.cli.control_commands import local_home
    from alchemiser.cli.run_command import project_root
    from alchemiser.ledger.sqlite import SQLiteLedger
    from alchemiser.settings import Settings
    from alchemiser.storage.local import LocalObjectStore

    try:
        settings = Settings()
        home = local_home(settings, args.home, args.data)
        stage = args.stage or settings.stage
        market = home_market(home, date.today())
        ledger = SQLiteLedger(home / "ledger.sqlite3")
        strategies = settings.strategies_dir
        if not strategies.is_absolute():
            strategies = project_root() / strategies
        site = refresh_site(ledger, LocalObjectStore(home), market, stage, strategies)
    except (ValueError, OSError, LookupError) as exc:
        return fail(exc)
    if site is None:
        return fail(
            ValueError(f"{home}: stage {stage} has no reconciled run yet: nothing to report")
        )
    print(f"Dashboard: {site.index} ({len(site.history.days)} runs, {site.files} files)")
    return 0
