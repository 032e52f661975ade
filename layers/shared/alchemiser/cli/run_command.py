"""``alchemiser run``: the daily cycle on this machine (simulated broker, SQLite ledger)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from alchemiser.broker.errors import BrokerError
from alchemiser.cli.output import fail, print_json
from alchemiser.cycle.faults import TASK_STATES, FaultPlan
from alchemiser.errors import ConfigurationError, DataError
from alchemiser.local.cycle_runner import run_cycle
from alchemiser.local.home_lock import HomeInUseError
from alchemiser.local.summary import render_summary, summarize
from alchemiser.settings import Runtime, Settings

PROJECT_ROOT_MARKERS = ("template.yaml", "statemachines", "functions")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "run", help="run the daily cycle locally (state machine, handlers, simulated broker)"
    )
    p.add_argument(
        "--date", type=date.fromisoformat, help="replay this past trading day (default: the latest)"
    )
    p.add_argument("--data", type=Path, help="price directory (default: the synthetic demo market)")
    p.add_argument(
        "--home",
        type=Path,
        help="where the simulated account and ledger live (default ./.alchemiser)",
    )
    p.add_argument("--stage", help="which books of strategies/books.yaml to run (default dev)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
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


def project_root(start: Path) -> Path:
    """Find the project (template.yaml, statemachines/, functions/) at or above ``start``."""
    for folder in [start, *start.parents]:
        if all((folder / marker).exists() for marker in PROJECT_ROOT_MARKERS):
            return folder
    raise FileNotFoundError(
        f"no Alchemiser project (template.yaml, statemachines/, functions/) at or above {start}"
    )


def run_command(args: argparse.Namespace) -> int:
    try:
        root = project_root(Path.cwd())
        faults = FaultPlan.parse(args.fail_at, args.crash_at, args.hang_at)
        settings = _settings(args, root)
        run = run_cycle(settings, root, day=args.date, faults=faults)
    except (
        ValueError,
        OSError,
        LookupError,
        BrokerError,
        ConfigurationError,
        DataError,
        HomeInUseError,
    ) as exc:
        return fail(str(exc))
    summary = summarize(run)
    if args.json:
        print_json(summary)
    else:
        print(render_summary(summary))
    return 0 if summary["status"] == "SUCCEEDED" else 1


def _settings(args: argparse.Namespace, root: Path) -> Settings:
    base = Settings()
    if base.runtime is not Runtime.LOCAL:
        raise ValueError("`alchemiser run` runs the cycle locally; unset ALCHEMISER_RUNTIME=aws")
    updates: dict[str, object] = {}
    if args.data is not None:
        updates["data_dir"] = args.data.resolve()
    if args.home is not None:
        updates["home"] = args.home
    if args.stage is not None:
        updates["stage"] = args.stage
    if not base.strategies_dir.is_absolute():
        updates["strategies_dir"] = root / base.strategies_dir
    return Settings.model_validate(base.model_dump() | updates)
