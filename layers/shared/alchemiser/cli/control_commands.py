"""``alchemiser kill-switch``: stop (or allow) all trading through the ledger's control item.

``--hedge`` sets the hedge's own switch instead: no option order while it is on, the
equity books still trade. It also trips itself after ``hedge_trip_failures`` hedge
failures within 24 hours (setting ``ALCHEMISER_HEDGE_TRIP_FAILURES``, default 3);
``off`` clears those failures.

Locally the switch lives in the ledger of a home directory, chosen as ``alchemiser run``
chooses it (``--home``, else ``ALCHEMISER_HOME``, else the default home of ``--data``);
it can be armed before the first run, which then creates the account around it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from alchemiser.cli.output import fail
from alchemiser.cli.paths import PRICE_DIRECTORY, add_home_options, check_directory

if TYPE_CHECKING:
    from alchemiser.ledger.hedge_store import HedgeStore
    from alchemiser.ledger.port import Ledger
    from alchemiser.settings import Settings

LEDGER_FILE = "ledger.sqlite3"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "kill-switch",
        help="stop all trading (on), allow it again (off), or show the switch (status)",
        description="Sets the ledger's kill switch: the local ledger of a home directory, or "
        "the DynamoDB ledger named by ALCHEMISER_LEDGER_TABLE when ALCHEMISER_RUNTIME=aws. "
        "Locally the home is chosen as `alchemiser run` chooses it, so the same --home or "
        "--data selects the same account; `on` works before the first run.",
    )
    p.add_argument("action", choices=["on", "off", "status"])
    p.add_argument("--reason", default="", help="why (shown in every run's report while on)")
    p.add_argument(
        "--hedge",
        action="store_true",
        help="the hedge's switch: no option order while on (the books still trade)",
    )
    add_home_options(p)
    p.set_defaults(handler=run_kill_switch)


def local_home(settings: Settings, home: Path | None, data: Path | None) -> Path:
    """Return the home ``alchemiser run`` would use with the same options."""
    from alchemiser.local.homes import default_home, require_home_directory

    if home is None:
        if data is not None:
            check_directory(data, PRICE_DIRECTORY)
        home = settings.home if "home" in settings.model_fields_set else default_home(data)
    require_home_directory(home)
    return home


def _local_ledger(home: Path) -> Ledger:
    from alchemiser.ledger.sqlite import SQLiteLedger

    home.mkdir(parents=True, exist_ok=True)
    return SQLiteLedger(home / LEDGER_FILE)


def aws_ledger(settings: Settings) -> Ledger:
    """Return the DynamoDB ledger named by ``ALCHEMISER_LEDGER_TABLE``."""
    import boto3

    from alchemiser.ledger.dynamodb import DynamoDBLedger

    if not settings.ledger_table:
        raise ValueError(
            "ALCHEMISER_LEDGER_TABLE must name the ledger table when ALCHEMISER_RUNTIME=aws"
        )
    return DynamoDBLedger(settings.ledger_table, boto3.client("dynamodb"))


def run_kill_switch(args: argparse.Namespace) -> int:
    from alchemiser.settings import Runtime, Settings

    if args.hedge:
        return _run_hedge_switch(args)
    if args.action == "on" and not args.reason:
        return fail("say why with --reason: it appears in every report while trading is stopped")
    try:
        settings = Settings()
        if settings.runtime is Runtime.AWS:
            ledger, where = aws_ledger(settings), f"table {settings.ledger_table}"
        else:
            home = local_home(settings, args.home, args.data)
            where = f"ledger {home / LEDGER_FILE}"
            if args.action == "status" and not (home / LEDGER_FILE).is_file():
                print(f"kill switch: off (trading allowed; no ledger yet in {home})")
                return 0
            ledger = _local_ledger(home)
        return _apply(ledger, args.action, args.reason, where)
    except (ValueError, OSError) as exc:
        return fail(exc)


def _apply(ledger: Ledger, action: str, reason: str, where: str) -> int:
    import getpass
    from datetime import UTC, datetime

    from alchemiser.ledger.models import KillSwitch

    if action != "status":
        ledger.set_kill_switch(
            KillSwitch(
                enabled=action == "on",
                reason=reason,
                updated_at=datetime.now(UTC),
                updated_by=getpass.getuser(),
            )
        )
    switch = ledger.kill_switch()
    if switch is None or not switch.enabled:
        print(f"kill switch: off (trading allowed) [{where}]")
    else:
        print(
            f"kill switch: ON since {switch.updated_at:%Y-%m-%d %H:%M} UTC by "
            f"{switch.updated_by}: {switch.reason} [{where}]"
        )
    return 0


def _run_hedge_switch(args: argparse.Namespace) -> int:
    import boto3

    from alchemiser.ledger.hedge_store import DynamoDBHedgeStore, SQLiteHedgeStore
    from alchemiser.settings import Runtime, Settings

    if args.action == "on" and not args.reason:
        return fail("say why with --reason: it appears in every run's hedge section while on")
    try:
        settings = Settings()
        store: HedgeStore
        if settings.runtime is Runtime.AWS:
            if not settings.ledger_table:
                raise ValueError(
                    "ALCHEMISER_LEDGER_TABLE must name the ledger table when ALCHEMISER_RUNTIME=aws"
                )
            store = DynamoDBHedgeStore(settings.ledger_table, boto3.client("dynamodb"))
            where = f"table {settings.ledger_table}"
        else:
            home = local_home(settings, args.home, args.data)
            home.mkdir(parents=True, exist_ok=True)
            store, where = SQLiteHedgeStore(home / LEDGER_FILE), f"ledger {home / LEDGER_FILE}"
        return _apply_hedge(store, args.action, args.reason, where, settings.hedge_trip_failures)
    except (ValueError, OSError) as exc:
        return fail(exc)


def _apply_hedge(store: HedgeStore, action: str, reason: str, where: str, trip: int) -> int:
    from datetime import UTC, datetime

    from alchemiser.cycle.hedge_step import set_hedge_switch

    if action != "status":
        set_hedge_switch(store, action == "on", reason, datetime.now(UTC))
    switch = store.hedge_switch()
    failures = f"{len(switch.failures)} recent failure(s), trips at {trip} in 24 h"
    if not switch.enabled:
        print(f"hedge kill switch: off (option orders allowed; {failures}) [{where}]")
    else:
        since = f"{switch.updated_at:%Y-%m-%d %H:%M} UTC" if switch.updated_at else "unknown"
        print(
            f"hedge kill switch: ON since {since} by {switch.updated_by}: {switch.reason} [{where}]"
        )
    return 0
