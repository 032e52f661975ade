"""The ``alchemiser`` command: the engine (eval, backtest, validate, import), price data
(data pull) and the cycle (run).

Start-up is kept short: the top-level parser knows every command by name and help
only (``COMMANDS``), and imports the one module that implements the command being
run. So ``alchemiser --help`` imports no command, ``eval`` never loads the simulator,
moto or boto3, and only ``run`` pays for them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, the module whose ``register`` adds it, and its one-line help."""

    name: str
    module: str
    help: str


_ENGINE = "alchemiser.cli.engine_commands"
COMMANDS: tuple[Command, ...] = (
    Command("eval", _ENGINE, "today's (or any day's) allocation of a symphony"),
    Command(
        "backtest",
        _ENGINE,
        "simulate a symphony, or a stage of books.yaml (its account), over history",
    ),
    Command("validate", _ENGINE, "check symphony files (and books.yaml), reporting every error"),
    Command("import-composer", _ENGINE, "convert a Composer JSON export to a .clj symphony"),
    Command(
        "data", "alchemiser.cli.data_commands", "price data: pull adjusted daily bars from Alpaca"
    ),
    Command(
        "run",
        "alchemiser.cli.run_command",
        "run the daily cycle locally (state machine, handlers, simulated broker)",
    ),
    Command(
        "books",
        "alchemiser.cli.books_commands",
        "each book's NAV, cash, positions, returns and share; the pool; retired books",
    ),
    Command(
        "account",
        "alchemiser.cli.books_commands",
        "deposit, withdraw or pay a dividend in the simulated account",
    ),
    Command(
        "report",
        "alchemiser.cli.report_command",
        "write the live dashboard (account, books, runs, execution quality) of a home",
    ),
    Command(
        "kill-switch",
        "alchemiser.cli.control_commands",
        "stop all trading (on), allow it again (off), or show the switch (status)",
    ),
)


class _VersionAction(argparse.Action):
    """Print the package's version."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        from alchemiser import __version__  # kept equal to the package metadata by a test

        print(f"alchemiser {__version__}")
        parser.exit()


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Return the parser, with full arguments for the command named in ``argv`` only.

    The other commands are listed by name and help; their modules are not imported.
    """
    parser = argparse.ArgumentParser(
        prog="alchemiser",
        description="Multi-strategy trading: evaluate and backtest symphonies, run the daily cycle.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _command_named(argv)
    for command in COMMANDS:
        if command.name in commands.choices:
            continue  # registered with its module
        if chosen is not None and command.module == chosen.module:
            importlib.import_module(command.module).register(commands)
        else:
            commands.add_parser(command.name, help=command.help)
    return parser


def _command_named(argv: Sequence[str]) -> Command | None:
    """Return the command the first non-option word of ``argv`` names, if any."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return next((c for c in COMMANDS if c.name == word), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    # pydantic looks for plugins in every installed distribution's metadata the first
    # time a model is built (~0.05 s of each short command); the CLI uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(words).parse_args(words)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
