"""``alchemiser kill-switch``: stop (or allow) all trading through the ledger's control item."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime
from pathlib import Path

import boto3

from alchemiser.cli.output import fail
from alchemiser.ledger.dynamodb import DynamoDBLedger
from alchemiser.ledger.models import KillSwitch
from alchemiser.ledger.port import Ledger
from alchemiser.ledger.sqlite import SQLiteLedger
from alchemiser.settings import Runtime, Settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "kill-switch",
        help="stop all trading (on), allow it again (off), or show the switch (status)",
        description="Sets the ledger's kill switch: the local ledger under --home, or the "
        "DynamoDB ledger named by ALCHEMISER_LEDGER_TABLE when ALCHEMISER_RUNTIME=aws.",
    )
    p.add_argument("action", choices=["on", "off", "status"])
    p.add_argument("--reason", default="", help="why (shown in every run's report while on)")
    p.add_argument("--home", type=Path, help="the local home directory (default ./.alchemiser)")
    p.set_defaults(handler=run_kill_switch)


def _ledger(settings: Settings, home: Path | None) -> Ledger:
    if settings.runtime is Runtime.AWS:
        if not settings.ledger_table:
            raise ValueError(
                "ALCHEMISER_LEDGER_TABLE must name the ledger table when ALCHEMISER_RUNTIME=aws"
            )
        return DynamoDBLedger(settings.ledger_table, boto3.client("dynamodb"))
    path = (home or settings.home) / "ledger.sqlite3"
    if not path.is_file():
        raise FileNotFoundError(f"no ledger at {path}: run the cycle once, or pass --home")
    return SQLiteLedger(path)


def run_kill_switch(args: argparse.Namespace) -> int:
    try:
        ledger = _ledger(Settings(), args.home)
        if args.action != "status":
            if args.action == "on" and not args.reason:
                return fail(
                    "say why with --reason: it appears in every report while trading is stopped"
                )
            ledger.set_kill_switch(
                KillSwitch(
                    enabled=args.action == "on",
                    reason=args.reason,
                    updated_at=datetime.now(UTC),
                    updated_by=getpass.getuser(),
                )
            )
        switch = ledger.kill_switch()
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    if switch is None or not switch.enabled:
        print("kill switch: off (trading allowed)")
    else:
        print(
            f"kill switch: ON since {switch.updated_at:%Y-%m-%d %H:%M} UTC by {switch.updated_by}: {switch.reason}"
        )
    return 0
