"""``alchemiser books`` (where each book stands) and ``alchemiser account`` (simulated cash).

Both choose the local home as ``alchemiser run`` does (``--home``, else
``ALCHEMISER_HOME``, else the default home of ``--data``). ``alchemiser books aws``
reads the DynamoDB ledger named by ``ALCHEMISER_LEDGER_TABLE`` instead.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from alchemiser.cli.output import fail, print_json
from alchemiser.cli.paths import add_home_options

if TYPE_CHECKING:
    from alchemiser.broker.simulated_store import SimulatedStore

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
    add_home_options(books)
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
        help="deposit, withdraw or pay a dividend in the simulated account",
        description="Moves cash in a local home's simulated account as a real broker would: "
        "a deposit or withdrawal the next run credits to the pool (or takes from the pool; "
        "no book's return changes), or a dividend the next run pays to the books that held "
        "the symbol, by their shares (part of their return).",
    )
    moves = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, verb in (("deposit", "add cash"), ("withdraw", "take cash out")):
        move = moves.add_parser(action, help=f"{verb} (the pool's)")
        move.add_argument("amount", help="dollars, e.g. 2500 or 2500.50")
        add_home_options(move)
    dividend = moves.add_parser(
        "dividend",
        help="pay a dividend on the shares of SYMBOL the account holds now",
        description="Pays PER_SHARE dollars on every share of SYMBOL the simulated account "
        "holds now (at the close of the last run), dated the next day (the ex-date). The "
        "next run pays it to the books that held SYMBOL, by their shares, to the cent.",
    )
    dividend.add_argument("symbol", help="a symbol the account holds, e.g. SPY")
    dividend.add_argument("per_share", metavar="PER_SHARE", help="dollars a share, e.g. 0.51")
    add_home_options(dividend)
    account.set_defaults(handler=run_account)


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
    from alchemiser.broker.simulated_cash import open_account
    from alchemiser.cli.control_commands import local_home
    from alchemiser.settings import Settings

    number = args.per_share if args.action == "dividend" else args.amount
    try:
        amount = Decimal(number)
    except InvalidOperation:
        return fail(f"{number!r} is not a number of dollars, e.g. 2500 or 0.51")
    if not amount > 0 or not amount.is_finite():
        return fail(f"the amount must be positive dollars, was {number}")
    try:
        home = local_home(Settings(), args.home, args.data)
        store = open_account(home / BROKER_FILE)
        said = _move(store, args, amount)
        with store.read() as tx:
            cash = tx.state().cash
    except (ValueError, OSError, BrokerError) as exc:
        return fail(exc)
    print(f"{said}; the simulated account's cash is now ${cash:,.2f}.")
    return 0


def _move(store: SimulatedStore, args: argparse.Namespace, amount: Decimal) -> str:
    """Make the account move ``args`` asks for; return what to say about it."""
    from alchemiser.broker.models import CashActivityKind
    from alchemiser.broker.simulated_cash import move_cash, pay_dividend

    if args.action == "dividend":
        paid = pay_dividend(store, args.symbol.upper(), amount)
        return (
            f"paid a dividend of ${paid.amount:,.2f} on {paid.qty} {paid.symbol} at "
            f"${amount} a share ({paid.id}, ex-date {paid.day}): the next run pays it to "
            "the books that held it, by their shares"
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"AMOUNT must be in whole cents, was {amount}")
    deposit = args.action == "deposit"
    kind = CashActivityKind.DEPOSIT if deposit else CashActivityKind.WITHDRAWAL
    move = move_cash(store, kind, amount if deposit else -amount)
    effect = "credits it to the pool" if deposit else "takes it from the pool"
    return (
        f"{'deposited' if deposit else 'withdrew'} ${amount:,.2f} ({move.id}, {move.day}): "
        f"the next run {effect}; no book's return changes"
    )
