"""``alchemiser books`` (where each book stands) and ``alchemiser account`` (simulated cash).

Both choose the local home as ``alchemiser run`` does (``--home``, else
``ALCHEMISER_HOME``, else the default home of ``--data``). ``alchemiser books aws``
reads the DynamoDB ledger named by ``ALCHEMISER_LEDGER_TABLE`` instead.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from pathlib import Path

from alchemiser.cli.output import fail, print_json

BROKER_FILE = "broker.sqlite3"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    books = commands.add_parser(
        "books",
        help="each book's NAV, cash, positions, returns and share; the pool; retired books",
        description="Shows every book of the stage and every book the ledger still holds "
        "something for (retired, until flat): mode, NAV, cash, positions, return since "
        "inception and since the last capital rebalance, share of the account against its "
        "target; then the pool and the account. `aws` reads the DynamoDB ledger named by "
        "ALCHEMISER_LEDGER_TABLE.",
    )
    books.add_argument("where", nargs="?", choices=["aws"], help="read the AWS ledger")
    _home_options(books)
    books.add_argument(
        "--books", type=Path, metavar="FILE", help="a books.yaml (default: the project's)"
    )
    books.add_argument(
        "--stage", default=None, help="the stage whose targets to show (default dev)"
    )
    books.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    books.set_defaults(handler=run_books)
    account = commands.add_parser(
        "account",
        help="deposit or withdraw cash in the simulated account",
        description="Moves cash in or out of a local home's simulated account, as a deposit "
        "or withdrawal at a real broker would: the next run credits it to the pool (or takes "
        "it from the pool); no book's return changes.",
    )
    account.add_argument("action", choices=["deposit", "withdraw"])
    account.add_argument("amount", help="dollars, e.g. 2500 or 2500.50")
    _home_options(account)
    account.set_defaults(handler=run_account)


def _home_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home", type=Path, metavar="DIR", help="the local home directory (as for `run`)"
    )
    parser.add_argument(
        "--data", type=Path, metavar="DIR", help="the price directory whose default home to use"
    )


def run_books(args: argparse.Namespace) -> int:
    from alchemiser.books.config import load_stage
    from alchemiser.books.status import render_standing, standing
    from alchemiser.cli.control_commands import LEDGER_FILE, aws_ledger, local_home
    from alchemiser.errors import ConfigurationError
    from alchemiser.ledger.sqlite import SQLiteLedger
    from alchemiser.settings import Settings

    try:
        settings = Settings()
        stage = (args.stage or settings.stage).lower()
        books_file = args.books or settings.strategies_dir / settings.books_file
        targets = {b.id: b.share for b in load_stage(books_file, stage).books}
        if args.where == "aws":
            ledger = aws_ledger(settings)
        else:
            home = local_home(settings, args.home, args.data)
            if not (home / LEDGER_FILE).is_file():
                return fail(f"{home}: no ledger yet; run the cycle first (`alchemiser run`)")
            ledger = SQLiteLedger(home / LEDGER_FILE)
        view = standing(ledger, targets)
    except (ValueError, OSError, ConfigurationError) as exc:
        return fail(exc)
    if args.json:
        print_json(_as_json(view))
    else:
        print(render_standing(view))
    return 0


def _as_json(view: object) -> object:
    import dataclasses

    def plain(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    assert dataclasses.is_dataclass(view) and not isinstance(view, type)
    return plain(dataclasses.asdict(view))


def run_account(args: argparse.Namespace) -> int:
    from alchemiser.broker.errors import BrokerError
    from alchemiser.broker.models import CashActivityKind
    from alchemiser.broker.simulated_cash import move_cash, open_account
    from alchemiser.cli.control_commands import local_home
    from alchemiser.settings import Settings

    try:
        amount = Decimal(args.amount)
    except InvalidOperation:
        return fail(f"AMOUNT must be dollars, e.g. 2500 or 2500.50; was {args.amount!r}")
    if not amount > 0 or amount != amount.quantize(Decimal("0.01")):
        return fail(f"AMOUNT must be positive dollars in whole cents, was {args.amount}")
    try:
        home = local_home(Settings(), args.home, args.data)
        store = open_account(home / BROKER_FILE)
        kind = CashActivityKind.DEPOSIT if args.action == "deposit" else CashActivityKind.WITHDRAWAL
        move = move_cash(store, kind, amount if args.action == "deposit" else -amount)
        with store.read() as tx:
            cash = tx.state().cash
    except (ValueError, OSError, BrokerError) as exc:
        return fail(exc)
    verb = "deposited" if args.action == "deposit" else "withdrew"
    print(
        f"{verb} ${amount:,.2f} ({move.id}, {move.day}); the simulated account's cash is now "
        f"${cash:,.2f}. The next run credits it to the pool; no book's return changes."
    )
    return 0
