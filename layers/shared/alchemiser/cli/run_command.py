"""``alchemiser run``: the daily cycle on this machine (simulated broker, SQLite ledger).

Registering the command imports nothing heavy: the runner (moto, boto3, the simulated
broker) is imported by the handler, so ``alchemiser run --help`` starts fast.
"""

from __future__ import annotations

import argparse
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import alchemiser
from alchemiser.cli.output import fail, print_json
from alchemiser.cli.paths import PRICE_DIRECTORY, PathError, check_books_file, check_directory
from alchemiser.cycle.faults import TASK_STATES, FaultPlan

if TYPE_CHECKING:
    from alchemiser.settings import Settings

PROJECT_ROOT_MARKERS = ("template.yaml", "statemachines", "functions")
STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,15}$")  # as Settings.stage


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, found {text!r}") from None


def _stage(text: str) -> str:
    stage = text.strip().lower()
    if not STAGE_PATTERN.match(stage):
        raise argparse.ArgumentTypeError(
            f"expected a stage name such as dev, staging or prod (a letter, then letters, "
            f"digits or '-', at most 16), found {text!r}"
        )
    return stage


def _cash(text: str) -> Decimal:
    try:
        amount = Decimal(text.replace(",", "").removeprefix("$"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"expected an amount of dollars such as 50000, found {text!r}"
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive amount of dollars, found {text!r}")
    return amount


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "run",
        help="run the daily cycle locally (state machine, handlers, simulated broker)",
        description="Run one trading day of the daily cycle on this machine: the deployed "
        "state machine and handlers, a simulated broker and a SQLite ledger under --home.",
    )
    p.add_argument(
        "--date",
        type=_day,
        metavar="YYYY-MM-DD",
        help="replay this past trading day (default: the latest)",
    )
    p.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="price directory (default: the synthetic demo market)",
    )
    p.add_argument(
        "--home",
        type=Path,
        metavar="DIR",
        help="where the simulated account, ledger and reports live (default: one home per "
        "data source under ./.alchemiser: demo/ for the synthetic market, <folder>-<hash>/ "
        "for a price directory)",
    )
    p.add_argument(
        "--books",
        type=Path,
        metavar="FILE",
        help="a books.yaml; its strategies are read from its folder "
        "(default: the project's strategies/books.yaml)",
    )
    p.add_argument(
        "--stage",
        type=_stage,
        help="which stage's books to run: dev, staging or prod (default dev; any case)",
    )
    p.add_argument(
        "--cash",
        type=_cash,
        metavar="DOLLARS",
        help="opening cash of a NEW home's simulated account, in dollars (default 100000); "
        "refused once the account exists",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument(
        "--fail-at",
        action="append",
        default=[],
        metavar="STATE[:N]",
        help=f"drill: STATE fails transiently on its first N attempts ({', '.join(TASK_STATES)})",
    )
    p.add_argument(
        "--crash-at",
        action="append",
        default=[],
        metavar="STATE",
        help="drill: STATE crashes (not retried)",
    )
    p.add_argument(
        "--hang-at",
        action="append",
        default=[],
        metavar="STATE",
        help="drill: STATE hangs inside its work until this process is killed (a crash mid-step)",
    )
    p.set_defaults(handler=run_command)


def project_root() -> Path:
    """Return the project checkout this library belongs to (its template, ASL and handlers).

    The run executes the checkout's own state machine and handlers with this very
    library, so it never mixes versions, and works from any working directory.
    """
    package = Path(alchemiser.__file__).resolve().parent
    for folder in package.parents:
        if all((folder / marker).exists() for marker in PROJECT_ROOT_MARKERS):
            return folder
    raise PathError(
        f"{package}: no project checkout (template.yaml, statemachines/, functions/) "
        "above the installed library: install it from the repository (pip install -e .)"
    )


def run_command(args: argparse.Namespace) -> int:
    # Imported here, not at the top: they load moto, boto3 and the simulator.
    from alchemiser.broker.errors import BrokerError
    from alchemiser.errors import ConfigurationError, DataError
    from alchemiser.local.cycle_runner import run_cycle
    from alchemiser.local.home_lock import HomeInUseError
    from alchemiser.local.summary import render_summary, summarize

    try:
        root = project_root()
        faults = FaultPlan.parse(args.fail_at, args.crash_at, args.hang_at)
        settings = _settings(args, root)
        run = run_cycle(settings, root, day=args.date, faults=faults, cash=args.cash)
    except (
        ValueError,
        OSError,
        LookupError,
        BrokerError,
        ConfigurationError,
        DataError,
        HomeInUseError,
    ) as exc:
        return fail(exc)
    summary = summarize(run)
    if args.json:
        print_json(summary)
    else:
        print(render_summary(summary))
    return 0 if summary["status"] == "SUCCEEDED" else 1


def _settings(args: argparse.Namespace, root: Path) -> Settings:
    from alchemiser.local.homes import default_home
    from alchemiser.settings import Runtime, Settings

    base = Settings()
    if base.runtime is not Runtime.LOCAL:
        raise ValueError("`alchemiser run` runs the cycle locally; unset ALCHEMISER_RUNTIME=aws")
    updates: dict[str, object] = {}
    data_dir = args.data if args.data is not None else base.data_dir
    if data_dir is not None:
        check_directory(data_dir, PRICE_DIRECTORY)
        updates["data_dir"] = data_dir.resolve()
    if args.home is not None:
        updates["home"] = args.home
    elif "home" not in base.model_fields_set:
        updates["home"] = default_home(data_dir)
    if args.stage is not None:
        updates["stage"] = args.stage
    if args.books is not None:
        check_books_file(args.books)
        updates["strategies_dir"] = args.books.resolve().parent
        updates["books_file"] = args.books.name
    elif not base.strategies_dir.is_absolute():
        updates["strategies_dir"] = root / base.strategies_dir
    return Settings.model_validate(base.model_dump() | updates)
